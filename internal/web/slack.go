package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"
)

// SlackApp is the gateway's side of Slack: it verifies interaction requests
// (the buttons of Baton's DMs) and rewrites a message after its action.
type SlackApp struct {
	SigningSecret string
	Channel       *notify.SlackChannel // its Client updates messages
	acting        sync.WaitGroup       // actions in flight (tests wait on it)
}

// Wait blocks until the actions in flight are done.
func (a *SlackApp) Wait() { a.acting.Wait() }

// slackInteractions serves POST /api/v1/slack/interactions. It answers
// Slack at once (Slack wants an answer within 3 s) and then does the
// action, through the same Update and the same one-use record as the
// emailed link, and rewrites the message with the outcome (chat.update).
// A retry of the same request (X-Slack-Retry-Num) finds the link claimed
// and changes nothing.
func (s *Server) slackInteractions(w http.ResponseWriter, r *http.Request) {
	app := s.Slack
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, app.SigningSecret) // refuses a timestamp 5 min off
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		s.Log.Info("slack interaction refused", "error", err)
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	var cb slack.InteractionCallback
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &cb)
	}
	if err != nil {
		http.Error(w, "payload: not an interaction payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK) // within Slack's 3 s, whatever the action takes
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	name, ok := strings.CutPrefix(act.ActionID, notify.ActionPrefix)
	if !ok {
		return // a link button: Slack opened the URL
	}
	value := act.Value
	if act.SelectedOption.Value != "" {
		value = act.SelectedOption.Value
	}
	retry := r.Header.Get("X-Slack-Retry-Num") != ""
	var keep []slack.Block
	keep = append(keep, cb.Message.Blocks.BlockSet...)
	app.acting.Add(1)
	go func() {
		defer app.acting.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.slackAct(ctx, cb.Container.ChannelID, cb.Container.MessageTs, cb.User.ID, name, value, keep, retry)
	}()
}

// slackAct does one button's action and shows the outcome in the message.
func (s *Server) slackAct(ctx context.Context, channel, ts, userID, action, value string, keep []slack.Block, retry bool) {
	app := s.Slack
	log := s.Log.With("channel", channel, "ts", ts, "slack_user", userID, "action", action)
	row, err := s.Store.SlackMessageAt(ctx, channel, ts)
	if err != nil {
		log.Info("slack action on a message Baton does not know", "error", err)
		return
	}
	if row.UserID != userID {
		log.Warn("slack action by someone else than the message's recipient", "recipient", row.UserID)
		return
	}
	show := func(text string) {
		if err := app.Channel.ShowOutcome(ctx, row, text, keep); err != nil {
			log.Error("slack message not updated", "error", err)
		}
	}
	tok := row.Actions[action]
	c, err := s.Signer.Verify(tok, s.Now())
	if err != nil {
		show("These buttons expired. Nothing was changed; open the lead from Baton's email or inbox.")
		return
	}
	form := url.Values{}
	switch action {
	case notify.ActReject:
		form.Set("reason", value)
	case notify.ActExtend:
		form.Set("by", value)
	case notify.ActReassign:
		form.Set("reason", "from Slack")
	}
	req := (&http.Request{Method: http.MethodPost, PostForm: form, Form: form}).WithContext(ctx)
	name, arg, err := update(c, req)
	if err != nil {
		show("Nothing was changed: " + err.Error() + ".")
		return
	}
	if err := s.Store.ClaimToken(ctx, c.UseKey(), c.Lead, c.Actor, c.Action); err != nil {
		if errors.Is(err, store.ErrTokenUsed) {
			u, _ := s.Store.TokenUsed(ctx, c.UseKey())
			if retry || u == nil || u.UsedAt == nil {
				return // Slack's retry of a request already acted on, or acting now
			}
			show(strings.Replace(s.usedText(ctx, c, u), "This link was", "This button was", 1))
			return
		}
		log.Error("claim", "error", err)
		return
	}
	err = s.runUpdate(ctx, workflows.LeadWorkflowID(c.Lead), name, arg)
	s.settle(req, c, err)
	words := actions[c.Action]
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		show("*" + words.Done + "* by <@" + userID + "> at " + s.Now().UTC().Format("15:04 MST") + ". " + words.DoneText)
	case errors.As(err, &ae) && (ae.Type() == workflows.ErrStaleAction || ae.Type() == "InvalidInput"):
		show("Nothing was changed: " + ae.Message())
	default:
		log.Error("slack action failed", "lead", c.Lead, "error", err)
		// The buttons stay: nothing was changed and a second press may work.
	}
}
