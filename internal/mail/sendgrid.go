package mail

import (
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/domain"
	"log/slog"
	netmail "net/mail"
	"strconv"
	"syscall"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"
)

// SendGrid sends through the v3 Mail Send API with sendgrid-go.
//
// Never twice: the ledger row is 'sending' (with the attempt's time) before
// the call. A retry that finds it 'sending' does not send blindly: an Event
// Webhook event carrying the ledger key (custom_args) confirms it; without
// one it waits until Grace has passed since the call, then resends once; a
// resend still unconfirmed after another Grace is marked 'uncertain' and
// reported, never sent a third time.
type SendGrid struct {
	Store   *store.Store
	APIKey  string
	BaseURL string // https://api.sendgrid.com, an EU host, or a test server
	Sandbox bool
	// Categories are added to every message, after "baton" and the kind.
	Categories []string
	// TemplateIDs maps a message kind to a SendGrid dynamic template id
	// (d-…). Such a message carries its rendered subject, text and HTML as
	// dynamic_template_data instead of content.
	TemplateIDs map[string]string
	// Limiter caps sends per second across the worker; nil means no cap.
	Limiter *rate.Limiter
	// Grace is how long a message whose outcome is unknown waits for a
	// SendGrid event before it is resent once. Zero means DefaultGrace.
	Grace time.Duration
	// Timeout bounds one API call. Zero means DefaultTimeout.
	Timeout time.Duration
	// Faults lets tests fail an attempt at a chosen point, as a killed
	// worker would. Nil in production.
	Faults *Faults
}

// Faults are test hooks; a non-nil error from one ends the attempt there.
type Faults struct {
	AfterClaim func(key string) error // the row is 'sending', nothing sent yet
	AfterSend  func(key string) error // SendGrid answered, the outcome not recorded
}

// Defaults of SendGrid's knobs.
const (
	DefaultGrace = 10 * time.Minute
	// DefaultTimeout stays below the activities' 10s start-to-close timeout,
	// so a slow call ends before Temporal starts a retry beside it.
	DefaultTimeout = 8 * time.Second
)

// Error types a workflow or the retry policy can tell apart.
const (
	ErrRejected    = domain.ErrMailRejected    // 4xx that retrying cannot fix: non-retryable
	ErrRateLimited = "MailRateLimited"         // 429: retried after SendGrid's reset time
	ErrUnconfirmed = domain.ErrMailUnconfirmed // an earlier call's outcome is unknown: wait for its event
)

// Deliver sends m at most once per m.Key (see the type's comment). 429 and
// 5xx are retryable (429 after the reset time SendGrid gives); other 4xx
// are non-retryable. Every failure is an email event with SendGrid's status
// and message, mirrored into the lead's events.
func (s SendGrid) Deliver(ctx context.Context, m store.Message) error {
	if s.Limiter != nil {
		if err := s.Limiter.Wait(ctx); err != nil {
			return fmt.Errorf("sendgrid: wait for the send rate cap: %w", err)
		}
	}
	row, claimed, err := s.Store.ClaimSend(ctx, m)
	if errors.Is(err, store.ErrLeadErased) {
		// Erased between the decision to send and this attempt (a retry
		// after a worker died, say): nothing about the person goes out.
		slog.Info("mail not sent: the lead was erased", "key", m.Key, "kind", m.Kind)
		return nil
	}
	if err != nil {
		return err
	}
	if !claimed {
		if done, err := s.reconcile(ctx, m, row); done || err != nil {
			return err
		}
		row.Attempts++
	}
	if f := s.Faults; f != nil && f.AfterClaim != nil {
		if err := f.AfterClaim(m.Key); err != nil {
			return err
		}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	req := sendgrid.GetRequest(s.APIKey, "/v3/mail/send", s.BaseURL)
	req.Method = "POST"
	req.Body = sgmail.GetRequestBody(s.build(m))
	cctx, cancel := context.WithTimeout(ctx, timeout)
	resp, err := sendgrid.MakeRequestWithContext(cctx, req)
	cancel()
	if f := s.Faults; f != nil && f.AfterSend != nil {
		if ferr := f.AfterSend(m.Key); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		next := store.LedgerSending // a timeout or a reset: SendGrid may have accepted it
		if errors.Is(err, syscall.ECONNREFUSED) {
			next = store.LedgerRetry // nothing reached SendGrid
		}
		s.failed(ctx, m, row.Attempts, "", err.Error(), next)
		return fmt.Errorf("sendgrid: send %s: %w", m.Key, err)
	}
	body := truncate(resp.Body, 500)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return s.Store.MarkEmail(ctx, m.Key, store.LedgerSent, first(resp.Headers["X-Message-Id"]), "")
	case code == 429:
		delay := time.Second
		if reset, err := strconv.ParseInt(first(resp.Headers["X-Ratelimit-Reset"]), 10, 64); err == nil {
			if d := time.Until(time.Unix(reset, 0)); d > 0 {
				delay = d
			}
		}
		s.failed(ctx, m, row.Attempts, "429", body, store.LedgerRetry)
		return temporal.NewApplicationErrorWithOptions("sendgrid: rate limited: "+body, ErrRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	case code >= 500, code == 401:
		// 401 is a configuration error (a bad or revoked key): no rep is
		// unreachable, and once the key is fixed the retry goes through.
		s.failed(ctx, m, row.Attempts, strconv.Itoa(code), body, store.LedgerRetry)
		return fmt.Errorf("sendgrid: %d %s", code, body)
	default:
		msg := fmt.Sprintf("sendgrid rejected %s with %d: %s", m.Key, code, body)
		s.failed(ctx, m, row.Attempts, strconv.Itoa(code), body, store.LedgerFailed)
		if err := s.Store.MarkEmail(ctx, m.Key, store.LedgerFailed, "", msg); err != nil {
			return err
		}
		return temporal.NewNonRetryableApplicationError(msg, ErrRejected, nil)
	}
}

// reconcile decides what an attempt that did not claim the row does. It
// reports done when the attempt must not send (with the error to return);
// otherwise this attempt won the one resend.
func (s SendGrid) reconcile(ctx context.Context, m store.Message, row store.LedgerRow) (bool, error) {
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	switch row.Status {
	case store.LedgerSent, store.LedgerUncertain:
		return true, nil
	case store.LedgerFailed:
		return true, temporal.NewNonRetryableApplicationError("message "+m.Key+" was rejected by SendGrid earlier", ErrRejected, nil)
	}
	// 'sending': an earlier call's outcome is unknown.
	if row.Erased {
		return true, nil // erased since: never resent; the earlier call's outcome stays as it is
	}
	if row.Confirmed {
		return true, s.Store.MarkEmail(ctx, m.Key, store.LedgerSent, "", "")
	}
	if wait := time.Until(row.AttemptedAt.Add(grace)); wait > 0 {
		return true, temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("sendgrid: the outcome of %s (attempt %d) is unknown; waiting %s for its event before resending", m.Key, row.Attempts, wait.Round(time.Second)),
			ErrUnconfirmed, temporal.ApplicationErrorOptions{NextRetryDelay: wait + 100*time.Millisecond})
	}
	if row.Unknown >= 2 {
		marked, err := s.Store.MarkUncertain(ctx, m.Key)
		if err == nil && marked {
			s.event(ctx, m, "uncertain", row.Attempts, "", "no SendGrid event confirmed the message or its resend; not sent again")
			slog.Error("mail delivery uncertain: neither the send nor its one resend was confirmed by a SendGrid event; not sent again",
				"key", m.Key, "kind", m.Kind, "to", m.To)
		}
		return true, err
	}
	won, err := s.Store.ClaimResend(ctx, m.Key, grace)
	if err != nil {
		return true, err
	}
	if !won { // another attempt resends, or an event just arrived
		return true, temporal.NewApplicationErrorWithOptions("sendgrid: "+m.Key+" is being resent by another attempt", ErrUnconfirmed,
			temporal.ApplicationErrorOptions{NextRetryDelay: time.Second})
	}
	return false, nil
}

// failed records a failed call and moves the row on.
func (s SendGrid) failed(ctx context.Context, m store.Message, attempt int, status, message string, next store.LedgerStatus) {
	s.event(ctx, m, "send-failed", attempt, status, message)
	if next == store.LedgerRetry {
		// Best effort: if this write is lost the row stays 'sending' and
		// the retry waits out the grace period instead of resending at once.
		_ = s.Store.MarkRetry(ctx, m.Key, truncate(status+" "+message, 500))
	}
}

func (s SendGrid) event(ctx context.Context, m store.Message, name string, attempt int, status, message string) {
	_, _ = s.Store.RecordEmailEvent(ctx, store.EmailEvent{
		LedgerKey: m.Key, LeadID: m.LeadID, Kind: m.Kind, Event: name, Email: m.To, Status: status,
		Message: truncate(message, 500), Data: map[string]string{"attempt": strconv.Itoa(attempt)}, At: time.Now(),
	}, fmt.Sprintf("%s:%s:%d", m.Key, name, attempt))
}

// CustomArgs are the correlation fields every message carries to SendGrid,
// which returns them in each Event Webhook event.
func CustomArgs(m store.Message) map[string]string {
	args := map[string]string{"baton_key": m.Key, "baton_kind": m.Kind}
	add := func(k, v string) {
		if v != "" {
			args[k] = v
		}
	}
	add("baton_lead", m.LeadID)
	add("baton_workflow", m.WorkflowID)
	add("baton_step", m.Step)
	if m.Attempt > 0 {
		args["baton_attempt"] = strconv.Itoa(m.Attempt)
	}
	return args
}

func (s SendGrid) build(m store.Message) *sgmail.SGMailV3 {
	from, _ := netmail.ParseAddress(m.From)
	if from == nil {
		from = &netmail.Address{Address: m.From}
	}
	v := sgmail.NewV3Mail()
	v.SetFrom(sgmail.NewEmail(from.Name, from.Address))
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail(m.ToName, m.To))
	// Custom args go on the personalization: SendGrid's contract types them
	// as an object there, but as a string at the top level, where
	// SGMailV3.SetCustomArg would put an object.
	for k, val := range CustomArgs(m) {
		p.SetCustomArg(k, val)
	}
	if id := s.TemplateIDs[m.Kind]; id != "" {
		v.SetTemplateID(id)
		p.SetDynamicTemplateData("subject", m.Subject)
		p.SetDynamicTemplateData("text", m.Text)
		p.SetDynamicTemplateData("html", m.HTML)
		p.SetDynamicTemplateData("links", m.Links)
	} else {
		v.Subject = m.Subject
		v.AddContent(sgmail.NewContent("text/plain", m.Text), sgmail.NewContent("text/html", m.HTML))
	}
	v.AddPersonalizations(p)
	if m.ReplyTo != "" {
		reply, _ := netmail.ParseAddress(m.ReplyTo)
		if reply == nil {
			reply = &netmail.Address{Address: m.ReplyTo}
		}
		v.SetReplyTo(sgmail.NewEmail(reply.Name, reply.Address))
	}
	v.AddCategories(categories(append([]string{"baton", m.Kind}, s.Categories...))...)
	if s.Sandbox {
		v.SetMailSettings(sgmail.NewMailSettings().SetSandboxMode(sgmail.NewSetting(true)))
	}
	return v
}

// NewLimiter caps sends at perSecond across every activity of a worker (a
// burst of one second's worth); zero or less means no cap.
func NewLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
}
