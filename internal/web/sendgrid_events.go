package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"go.temporal.io/api/serviceerror"
)

// SendGridEvents configures POST /api/v1/sendgrid/events, SendGrid's
// signed Event Webhook.
type SendGridEvents struct {
	PublicKey *ecdsa.PublicKey // from SENDGRID_WEBHOOK_PUBLIC_KEY
	Tolerance time.Duration    // how old or early a signed timestamp may be
}

// NewSendGridEvents reads the webhook settings; nil when no key is set,
// which turns the endpoint off.
func NewSendGridEvents(c config.Config) (*SendGridEvents, error) {
	if c.SendGridWebhookPublicKey == "" {
		return nil, nil
	}
	k, err := config.ParseECDSAPublicKey(c.SendGridWebhookPublicKey)
	if err != nil {
		return nil, fmt.Errorf("SENDGRID_WEBHOOK_PUBLIC_KEY: %w", err)
	}
	return &SendGridEvents{PublicKey: k, Tolerance: c.SendGridWebhookTolerance}, nil
}

// maxEventsBody bounds one webhook batch (SendGrid posts up to a few MB).
const maxEventsBody = 16 << 20

// sgEvent is one Event Webhook event; Baton's custom_args come back at the
// top level.
type sgEvent struct {
	Event       string `json:"event"`
	Email       string `json:"email"`
	Timestamp   int64  `json:"timestamp"`
	SGEventID   string `json:"sg_event_id"`
	SGMessageID string `json:"sg_message_id"`
	Reason      string `json:"reason"`
	Response    string `json:"response"`
	Status      string `json:"status"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	Key         string `json:"baton_key"`
	Kind        string `json:"baton_kind"`
	Lead        string `json:"baton_lead"`
	Workflow    string `json:"baton_workflow"`
	Step        string `json:"baton_step"`
	Attempt     string `json:"baton_attempt"`
}

// sendgridEvents verifies the batch's ECDSA signature and timestamp before
// anything else, so an unsigned, tampered or replayed request changes
// nothing (403). Each event is stored once (by sg_event_id); processed and
// later events confirm the email ledger; delivered, open, click, bounce and
// drop become lead events; a bounced or dropped offer signals its lead.
func (s *Server) sendgridEvents(w http.ResponseWriter, r *http.Request) {
	cfg := s.SendGrid
	if cfg == nil || cfg.PublicKey == nil {
		writeProblem(w, problem{Title: "Not found", Status: http.StatusNotFound,
			Detail: "the SendGrid Event Webhook is off: set SENDGRID_WEBHOOK_PUBLIC_KEY"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventsBody))
	if err != nil {
		writeProblem(w, problem{Title: "Request body too large", Status: http.StatusRequestEntityTooLarge, Detail: err.Error()})
		return
	}
	sig := r.Header.Get(eventwebhook.VerificationHTTPHeader)
	ts := r.Header.Get(eventwebhook.TimestampHTTPHeader)
	forbid := func(detail string) {
		s.Log.Warn("sendgrid events refused", "reason", detail, "remote", r.RemoteAddr)
		writeProblem(w, problem{Title: "Forbidden", Status: http.StatusForbidden, Detail: detail})
	}
	if sig == "" || ts == "" {
		forbid("unsigned: the " + eventwebhook.VerificationHTTPHeader + " and " + eventwebhook.TimestampHTTPHeader + " headers are required")
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		forbid("the timestamp header is not Unix seconds")
		return
	}
	if age := s.Now().Sub(time.Unix(sec, 0)); age > cfg.Tolerance || age < -cfg.Tolerance {
		forbid(fmt.Sprintf("stale: the signed timestamp is %s from now, beyond the %s tolerance", age.Round(time.Second), cfg.Tolerance))
		return
	}
	if ok, err := eventwebhook.VerifySignature(cfg.PublicKey, body, sig, ts); err != nil || !ok {
		forbid("the signature does not verify")
		return
	}
	var events []sgEvent
	if err := json.Unmarshal(body, &events); err != nil {
		writeProblem(w, problem{Title: "Bad request", Status: http.StatusBadRequest, Detail: "the body is not a JSON array of events: " + err.Error()})
		return
	}
	for i, e := range events {
		if err := s.sendgridEvent(r.Context(), e, body, i); err != nil {
			// SendGrid retries the batch; what was stored is not stored twice.
			s.Log.Error("sendgrid event", "event", e.Event, "key", e.Key, "error", err)
			writeProblem(w, problem{Title: "Unavailable", Status: http.StatusServiceUnavailable, Detail: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"events": len(events)})
}

func (s *Server) sendgridEvent(ctx context.Context, e sgEvent, body []byte, i int) error {
	if e.Event == "" || e.Key == "" {
		return nil // not a message Baton sent (the account may send others)
	}
	at := time.Unix(e.Timestamp, 0)
	if e.Timestamp == 0 {
		at = s.Now()
	}
	dedupe := ""
	if e.SGEventID == "" { // every real event has one; be safe without
		sum := sha256.Sum256(append(body, byte(i)))
		dedupe = "body:" + hex.EncodeToString(sum[:16])
	}
	msg := e.Reason
	if msg == "" {
		msg = e.Response
	}
	data := map[string]string{}
	if e.Type != "" {
		data["type"] = e.Type
	}
	if e.URL != "" {
		data["url"] = redactLink(e.URL)
	}
	if e.Attempt != "" {
		data["attempt"] = e.Attempt
	}
	if _, err := s.Store.RecordEmailEvent(ctx, store.EmailEvent{
		LedgerKey: e.Key, LeadID: e.Lead, Kind: e.Kind, Event: e.Event, SGEventID: e.SGEventID, SGMessageID: e.SGMessageID,
		Email: e.Email, Status: e.Status, Message: msg, Data: data, At: at,
	}, dedupe); err != nil {
		return err
	}
	if (e.Event != "bounce" && e.Event != "dropped") || e.Kind != "offer" || e.Workflow == "" {
		return nil
	}
	attempt, _ := strconv.Atoi(e.Attempt)
	// A repeat of the event signals again; the workflow ignores a bounce of
	// an offer that is no longer current.
	err := s.Temporal.SignalWorkflow(ctx, e.Workflow, "", workflows.SignalMailBounced, workflows.MailBounce{
		Key: e.Key, Kind: e.Kind, Email: strings.ToLower(e.Email), Attempt: attempt, Event: e.Event, Reason: strings.TrimSpace(e.Status + " " + msg),
	})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil // the lead's workflow has ended: nothing to move
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", e.Workflow, err)
	}
	return nil
}

// redactLink keeps where a click went without the signed token in it.
func redactLink(u string) string {
	if i := strings.Index(u, "/a/"); i >= 0 {
		return u[:i] + "/a/…"
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
