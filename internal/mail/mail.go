// Package mail delivers Baton's messages: to SendGrid when a key is set, else
// to the local outbox table. Both go through the email ledger, so a retried
// activity never sends a message twice.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/store"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
	"go.temporal.io/sdk/temporal"
)

// Mailer delivers one message at most once per Message.Key.
type Mailer interface {
	Deliver(ctx context.Context, m store.Message) error
}

// Outbox keeps mail in PostgreSQL for the /outbox page and API.
type Outbox struct{ Store *store.Store }

// Deliver writes the message and its ledger row in one transaction.
func (o Outbox) Deliver(ctx context.Context, m store.Message) error {
	_, err := o.Store.DeliverToOutbox(ctx, m)
	return err
}

// SendGrid sends through the v3 Mail Send API with sendgrid-go.
type SendGrid struct {
	Store   *store.Store
	APIKey  string
	BaseURL string // https://api.sendgrid.com, an EU host, or a test server
	Sandbox bool
	// Categories are added to every message, after the message kind.
	Categories []string
}

// ErrorType names for errors a workflow can tell apart.
const (
	ErrRejected = "MailRejected" // 4xx that retrying cannot fix
)

// Deliver claims the ledger row, sends and records the outcome. A message
// whose row says sent is skipped. 429 and 5xx are retryable (429 after the
// reset time SendGrid gives); other 4xx are non-retryable.
func (s SendGrid) Deliver(ctx context.Context, m store.Message) error {
	status, err := s.Store.ClaimEmail(ctx, m)
	if err != nil {
		return err
	}
	switch status {
	case store.LedgerSent:
		return nil
	case store.LedgerFailed:
		return temporal.NewNonRetryableApplicationError("message "+m.Key+" was rejected by SendGrid earlier", ErrRejected, nil)
	}
	req := sendgrid.GetRequest(s.APIKey, "/v3/mail/send", s.BaseURL)
	req.Method = "POST"
	req.Body = sgmail.GetRequestBody(s.build(m))
	resp, err := sendgrid.MakeRequestWithContext(ctx, req)
	if err != nil {
		return fmt.Errorf("sendgrid: %w", err) // network error or timeout: retry
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		id := first(resp.Headers["X-Message-Id"])
		return s.Store.MarkEmail(ctx, m.Key, store.LedgerSent, id, "")
	case resp.StatusCode == 429:
		delay := time.Second
		if reset, err := strconv.ParseInt(first(resp.Headers["X-Ratelimit-Reset"]), 10, 64); err == nil {
			if d := time.Until(time.Unix(reset, 0)); d > 0 {
				delay = d
			}
		}
		return temporal.NewApplicationErrorWithOptions("sendgrid: rate limited", "MailRateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	case resp.StatusCode >= 500:
		return fmt.Errorf("sendgrid: %d %s", resp.StatusCode, truncate(resp.Body, 300))
	default:
		msg := fmt.Sprintf("sendgrid rejected %s with %d: %s", m.Key, resp.StatusCode, truncate(resp.Body, 500))
		if err := s.Store.MarkEmail(ctx, m.Key, store.LedgerFailed, "", msg); err != nil {
			return err
		}
		return temporal.NewNonRetryableApplicationError(msg, ErrRejected, nil)
	}
}

func (s SendGrid) build(m store.Message) *sgmail.SGMailV3 {
	from, _ := netmail.ParseAddress(m.From)
	if from == nil {
		from = &netmail.Address{Address: m.From}
	}
	v := sgmail.NewV3Mail()
	v.SetFrom(sgmail.NewEmail(from.Name, from.Address))
	v.Subject = m.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail(m.ToName, m.To))
	// Custom args go on the personalization: SendGrid's contract types them
	// as an object there, but as a string at the top level, where
	// SGMailV3.SetCustomArg would put an object.
	p.SetCustomArg("baton_key", m.Key)
	p.SetCustomArg("baton_kind", m.Kind)
	v.AddPersonalizations(p)
	if m.ReplyTo != "" {
		v.SetReplyTo(sgmail.NewEmail("", m.ReplyTo))
	}
	v.AddContent(sgmail.NewContent("text/plain", m.Text), sgmail.NewContent("text/html", m.HTML))
	v.AddCategories(categories(append([]string{"baton", m.Kind}, s.Categories...))...)
	if s.Sandbox {
		v.SetMailSettings(sgmail.NewMailSettings().SetSandboxMode(sgmail.NewSetting(true)))
	}
	return v
}

// maxCategories is SendGrid's limit of categories per message.
const maxCategories = 10

// categories drops empty and repeated names and keeps the first ten:
// SendGrid rejects a send whose categories repeat or number more than ten.
func categories(names []string) []string {
	out := make([]string, 0, len(names))
	for _, c := range names {
		if c != "" && !slices.Contains(out, c) && len(out) < maxCategories {
			out = append(out, c)
		}
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// truncate keeps at most n bytes of s, cut at a character boundary: the
// ledger's text column refuses invalid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// IsRejected reports whether err is a send that retrying cannot fix.
func IsRejected(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == ErrRejected
}
