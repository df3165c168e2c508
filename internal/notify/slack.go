package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/slack-go/slack"
)

// SlackKinds are the message kinds Slack carries (domain.SlackKinds).
var SlackKinds = domain.SlackKinds

// Button actions a Slack message can carry: the same as the email links.
const (
	ActAccept   = "accept"
	ActReject   = "reject" // a select of the decline reasons
	ActReassign = "reassign"
	ActTakeover = "takeover"
	ActExtend   = "extend" // a select of how much time to add
	// ActionPrefix starts every Baton action_id.
	ActionPrefix = "baton:"
)

// Extensions are the choices of the Extend select (the email page's too).
var Extensions = []string{"30m", "1h", "2h", "4h"}

// SlackStore is what the Slack channel needs of PostgreSQL.
type SlackStore interface {
	SlackPerson(ctx context.Context, email string) (store.SlackPerson, error)
	SetSlackUserID(ctx context.Context, personID, userID string) error
	ClaimSlack(ctx context.Context, m store.SlackMessage) (store.SlackMessage, bool, error)
	MarkSlack(ctx context.Context, key, status, userID, channel, ts, why string) error
	RecordSlackFallback(ctx context.Context, key, leadID, kind, why string, at time.Time) error
}

// SlackChannel sends messages as DMs from Baton's bot, with Block Kit
// buttons for the actions the email's links carry.
type SlackChannel struct {
	Client    *slack.Client
	Store     SlackStore
	Signer    *token.Signer // reads the links' tokens: which buttons act in Slack
	PublicURL string
	Log       *slog.Logger
	// Timeout bounds each Slack call. Zero means 8s.
	Timeout time.Duration
}

// NewSlackClient is a Web API client for the bot token; apiURL ends in "/".
// hc nil means a client with a 10s timeout.
func NewSlackClient(botToken, apiURL string, hc *http.Client) *slack.Client {
	return slack.New(botToken, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(newBearerClient(hc)))
}

// wants reports whether the person takes this kind in Slack.
func wants(p store.SlackPerson, kind string) bool {
	if !p.Found || p.Off || !slices.Contains(SlackKinds, kind) {
		return false
	}
	return len(p.Kinds) == 0 || slices.Contains(p.Kinds, kind)
}

// deliver sends m on Slack when the person takes it there. It reports sent
// when Slack has the message (now or from an earlier attempt); false means
// email must carry it. A Slack failure is never an error: it is recorded
// on the lead and the message goes by email, so no clock waits on Slack.
func (c *SlackChannel) deliver(ctx context.Context, m store.Message, wait func() error) (bool, error) {
	p, err := c.Store.SlackPerson(ctx, m.To)
	if err != nil {
		return false, err
	}
	if !wants(p, m.Kind) {
		return false, nil
	}
	key := LedgerKey(m.Key, Slack)
	row, claimed, err := c.Store.ClaimSlack(ctx, store.SlackMessage{Key: key, LeadID: m.LeadID, Kind: m.Kind, UserID: p.UserID, Actions: c.actions(m)})
	if err != nil {
		return false, err
	}
	if !claimed {
		switch row.Status {
		case "sent":
			return true, nil // never twice
		case "failed":
			return false, nil // email carries it (its own ledger: never twice either)
		}
		// 'sending': an earlier attempt died mid-call. Slack has no
		// idempotency key, so Slack is not tried again; email carries it.
		c.fallback(ctx, m, key, "an earlier Slack attempt's outcome is unknown; not sent to Slack again")
		return false, nil
	}
	if err := wait(); err != nil {
		// The cap cannot take it before the activity's deadline: email now
		// rather than a later Slack message.
		c.fallback(ctx, m, key, "the Slack rate cap (BATON_SLACK_RATE) is full: "+err.Error())
		return false, nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 8 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	uid := p.UserID
	if uid == "" {
		u, err := c.Client.GetUserByEmailContext(cctx, m.To)
		if err != nil && slackErr(err) == "users_not_found" {
			// Not in the workspace: email is this person's channel, nothing failed.
			_ = c.Store.MarkSlack(ctx, key, "failed", "", "", "", "no Slack user has this email")
			return false, nil
		}
		if err != nil {
			c.fallback(ctx, m, key, "users.lookupByEmail: "+slackErr(err))
			return false, nil
		}
		uid = u.ID
		_ = c.Store.SetSlackUserID(ctx, p.ID, uid)
	}
	ch, _, _, err := c.Client.OpenConversationContext(cctx, &slack.OpenConversationParameters{Users: []string{uid}, ReturnIM: true})
	if err != nil {
		c.fallback(ctx, m, key, "conversations.open: "+slackErr(err))
		return false, nil
	}
	_, ts, err := c.Client.PostMessageContext(cctx, ch.ID, slack.MsgOptionText(fallbackText(m), false),
		slack.MsgOptionBlocks(c.Blocks(m)...))
	if err != nil {
		c.fallback(ctx, m, key, "chat.postMessage: "+slackErr(err))
		return false, nil
	}
	if err := c.Store.MarkSlack(ctx, key, "sent", uid, ch.ID, ts, ""); err != nil {
		return true, nil // Slack has it; the row stays 'sending', so no retry re-sends it
	}
	return true, nil
}

// fallback marks the Slack row failed and records why on the lead.
func (c *SlackChannel) fallback(ctx context.Context, m store.Message, key, why string) {
	why = "Slack not used, sent by email: " + why
	if c.Log != nil {
		c.Log.Warn("slack message not sent; email instead", "key", m.Key, "kind", m.Kind, "to", m.To, "why", why)
	}
	_ = c.Store.MarkSlack(ctx, key, "failed", "", "", "", why)
	_ = c.Store.RecordSlackFallback(ctx, key, m.LeadID, m.Kind, why, time.Now())
}

// slackErr is Slack's error code (invalid_auth, token_revoked, …) or the
// transport's error.
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Sprintf("rate limited (retry after %s)", rl.RetryAfter)
	}
	return err.Error()
}

// actions maps each of the message's one-click links to its token.
func (c *SlackChannel) actions(m store.Message) map[string]string {
	out := map[string]string{}
	for _, l := range m.Links {
		if tok, ok := strings.CutPrefix(l.URL, c.PublicURL+"/a/"); ok && c.Signer != nil {
			if cl, err := c.Signer.Verify(tok, time.Now()); err == nil {
				switch cl.Action {
				case ActAccept, ActReject, ActReassign, ActTakeover, ActExtend:
					out[cl.Action] = tok
				}
			}
		}
	}
	return out
}

func fallbackText(m store.Message) string { return m.Subject }

// maxSection is Slack's limit on a section's text.
const maxSection = 3000

// Blocks is the message as Block Kit: the subject, the text, then the
// actions (buttons and selects for what Slack can do, link buttons for
// the rest).
func (c *SlackChannel) Blocks(m store.Message) []slack.Block {
	text := m.Text
	if len(text) > maxSection-10 {
		text = cut(text, maxSection-10) + "…"
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*"+escape(m.Subject)+"*", false, false), nil, nil),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, escape(text), false, true), nil, nil),
	}
	acts := c.actions(m)
	var els []slack.BlockElement
	for _, l := range m.Links {
		tok, inSlack := strings.CutPrefix(l.URL, c.PublicURL+"/a/")
		action := ""
		for a, t := range acts {
			if inSlack && t == tok {
				action = a
			}
		}
		label := slack.NewTextBlockObject(slack.PlainTextType, l.Label, false, false)
		switch action {
		case ActAccept:
			b := slack.NewButtonBlockElement(ActionPrefix+ActAccept, ActAccept, label)
			b.Style = slack.StylePrimary
			els = append(els, b)
		case ActReassign, ActTakeover:
			els = append(els, slack.NewButtonBlockElement(ActionPrefix+action, action, label))
		case ActReject:
			var opts []*slack.OptionBlockObject
			for _, r := range domain.RejectReasons {
				opts = append(opts, slack.NewOptionBlockObject(r, slack.NewTextBlockObject(slack.PlainTextType, r, false, false), nil))
			}
			els = append(els, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic,
				slack.NewTextBlockObject(slack.PlainTextType, "Decline with a reason…", false, false), ActionPrefix+ActReject, opts...))
		case ActExtend:
			var opts []*slack.OptionBlockObject
			for _, e := range Extensions {
				opts = append(opts, slack.NewOptionBlockObject(e, slack.NewTextBlockObject(slack.PlainTextType, "+"+e, false, false), nil))
			}
			els = append(els, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic,
				slack.NewTextBlockObject(slack.PlainTextType, "Extend once by…", false, false), ActionPrefix+ActExtend, opts...))
		default:
			b := slack.NewButtonBlockElement("link:"+fmt.Sprint(len(els)), "", label)
			b.URL = l.URL
			els = append(els, b)
		}
	}
	if len(els) > 0 {
		blocks = append(blocks, slack.NewActionBlock("baton-actions", els...))
	}
	return blocks
}

// escape makes text safe in Slack mrkdwn (&, <, > only, as Slack asks).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func cut(s string, n int) string {
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// ShowOutcome rewrites a sent message after an action (chat.update): the
// message's own blocks without its buttons (keep; nil keeps none) and the
// outcome, so a stale button can no longer be pressed.
func (c *SlackChannel) ShowOutcome(ctx context.Context, row store.SlackMessage, outcome string, keep []slack.Block) error {
	var blocks []slack.Block
	for _, b := range keep {
		if b.BlockType() != slack.MBTAction {
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks, slack.NewContextBlock("baton-outcome",
		slack.NewTextBlockObject(slack.MarkdownType, outcome, false, false)))
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 8 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, _, _, err := c.Client.UpdateMessageContext(cctx, row.Channel, row.TS, slack.MsgOptionText(outcome, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return fmt.Errorf("chat.update: %s", slackErr(err))
	}
	return nil
}
