package mail_test

// Never twice, no loss: each test fails or "kills" an attempt at one point
// (the Faults hooks end the attempt there, as a killed worker would; the
// row is left exactly as the dead worker left it) and then retries as
// Temporal would, against a loopback SendGrid that counts the requests it
// received for each ledger key.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
)

var errKilled = errors.New("worker killed")

// countingSendGrid answers each request with respond and counts them by
// the baton_key custom arg.
type countingSendGrid struct {
	*fakeSendGrid
	mu    sync.Mutex
	byKey map[string]int
}

func newCounting(t *testing.T, respond func(w http.ResponseWriter, n int)) *countingSendGrid {
	c := &countingSendGrid{byKey: map[string]int{}}
	c.fakeSendGrid = newFake(t, func(w http.ResponseWriter, n int) {
		c.fakeSendGrid.mu.Lock()
		body := c.fakeSendGrid.reqs[n-1].Body
		c.fakeSendGrid.mu.Unlock()
		var req struct {
			Personalizations []struct {
				CustomArgs map[string]string `json:"custom_args"`
			} `json:"personalizations"`
		}
		if err := json.Unmarshal(body, &req); err == nil && len(req.Personalizations) == 1 {
			c.mu.Lock()
			c.byKey[req.Personalizations[0].CustomArgs["baton_key"]]++
			c.mu.Unlock()
		}
		respond(w, n)
	})
	return c
}

func (c *countingSendGrid) of(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[key]
}

// grace is short for the tests, yet long enough that a loaded machine does not
// pass it between two steps that must fall inside it.
const grace = 1500 * time.Millisecond

// retryUntil calls Deliver the way Temporal retries an activity: again
// after each retryable error, honouring NextRetryDelay, until it succeeds.
func retryUntil(t *testing.T, sg mail.SendGrid, m store.Message, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := sg.Deliver(context.Background(), m)
		if err == nil {
			return
		}
		if !retryable(err) {
			t.Fatalf("Deliver: non-retryable %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Deliver still failing after %s: %v", limit, err)
		}
		delay := 20 * time.Millisecond
		var ae interface{ NextRetryDelay() time.Duration }
		if errors.As(err, &ae) && ae.NextRetryDelay() > 0 {
			delay = ae.NextRetryDelay()
		}
		time.Sleep(delay)
	}
}

// processed is SendGrid's "processed" event for a message, as the gateway
// stores it from the Event Webhook.
func processed(t *testing.T, st *store.Store, m store.Message, id string) {
	t.Helper()
	if _, err := st.RecordEmailEvent(context.Background(), store.EmailEvent{LedgerKey: m.Key, Kind: m.Kind,
		Event: "processed", SGEventID: id, SGMessageID: "msg-1.filter", Email: m.To, At: time.Now()}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestKilledBetweenClaimAndSend(t *testing.T) {
	st := openStore(t)
	sgs := newCounting(t, accepted("msg-1"))
	m := compose(t, notice(mail.KindOffer))
	dead := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace,
		Faults: &mail.Faults{AfterClaim: func(string) error { return errKilled }}}
	if err := dead.Deliver(context.Background(), m); !errors.Is(err, errKilled) {
		t.Fatalf("first attempt: %v", err)
	}
	if r := ledger(t, st, m.Key); r.Status != "sending" || sgs.of(m.Key) != 0 {
		t.Fatalf("after the kill: row %+v, %d requests; want sending and none", r, sgs.of(m.Key))
	}
	sg := dead
	sg.Faults = nil
	// The retry right away does not send blindly: it waits for an event.
	err := sg.Deliver(context.Background(), m)
	if ae := appError(t, err); ae.Type() != mail.ErrUnconfirmed || ae.NextRetryDelay() <= 0 || ae.NextRetryDelay() > grace+time.Second {
		t.Fatalf("retry within the grace period: %v (delay %v), want %s with a delay up to the grace period", err, ae.NextRetryDelay(), mail.ErrUnconfirmed)
	}
	if n := sgs.of(m.Key); n != 0 {
		t.Fatalf("%d requests within the grace period", n)
	}
	// No event comes (nothing was sent): after the grace period, one send.
	retryUntil(t, sg, m, 5*time.Second)
	for range 3 {
		if err := sg.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if n := sgs.of(m.Key); n != 1 {
		t.Errorf("requests = %d, want exactly 1", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "msg-1" {
		t.Errorf("row %+v, want sent", r)
	}
}

func TestKilledAfterSendBeforeRecordReconciledByEvent(t *testing.T) {
	st := openStore(t)
	sgs := newCounting(t, accepted("msg-1"))
	m := compose(t, notice(mail.KindOffer))
	dead := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace,
		Faults: &mail.Faults{AfterSend: func(string) error { return errKilled }}}
	if err := dead.Deliver(context.Background(), m); !errors.Is(err, errKilled) {
		t.Fatalf("first attempt: %v", err)
	}
	if r := ledger(t, st, m.Key); r.Status != "sending" || sgs.of(m.Key) != 1 {
		t.Fatalf("after the kill: row %+v, %d requests; want sending and 1", r, sgs.of(m.Key))
	}
	sg := dead
	sg.Faults = nil
	if err := sg.Deliver(context.Background(), m); appError(t, err).Type() != mail.ErrUnconfirmed {
		t.Fatalf("retry before any event: %v", err)
	}
	// SendGrid's "processed" event carries the ledger key back.
	processed(t, st, m, "ev-1")
	time.Sleep(grace) // even past the grace period, the event wins
	retryUntil(t, sg, m, 5*time.Second)
	if n := sgs.of(m.Key); n != 1 {
		t.Errorf("requests = %d, want exactly 1", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.SentAt == nil {
		t.Errorf("row %+v, want sent", r)
	}
}

func TestEventBeforeTheRetryConfirmsAtOnce(t *testing.T) {
	// The webhook is usually faster than Temporal's retry.
	st := openStore(t)
	sgs := newCounting(t, accepted("msg-1"))
	m := compose(t, notice(mail.KindReminder))
	dead := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: time.Hour,
		Faults: &mail.Faults{AfterSend: func(string) error { return errKilled }}}
	dead.Deliver(context.Background(), m) //nolint:errcheck // killed
	processed(t, st, m, "ev-2")
	sg := dead
	sg.Faults = nil
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatalf("retry after the event: %v", err)
	}
	if n := sgs.of(m.Key); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestKilledAfterSendWithNoEventResendsOnceThenStops(t *testing.T) {
	// No event ever comes (the webhook is off or lost): after the grace
	// period the message is resent once, the documented trade (a possible
	// duplicate rather than a silent loss). If the resend is killed too,
	// it is marked uncertain and reported: never a third request.
	st := openStore(t)
	sgs := newCounting(t, accepted("msg-1"))
	m := compose(t, notice(mail.KindOffer))
	dead := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace,
		Faults: &mail.Faults{AfterSend: func(string) error { return errKilled }}}
	dead.Deliver(context.Background(), m) //nolint:errcheck // killed after SendGrid accepted
	time.Sleep(grace + 50*time.Millisecond)
	if err := dead.Deliver(context.Background(), m); !errors.Is(err, errKilled) { // the resend, killed too
		t.Fatalf("resend: %v", err)
	}
	if n := sgs.of(m.Key); n != 2 {
		t.Fatalf("requests = %d, want 2 (the send and the one resend)", n)
	}
	sg := dead
	sg.Faults = nil
	retryUntil(t, sg, m, 5*time.Second)
	for range 3 {
		if err := sg.Deliver(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if n := sgs.of(m.Key); n != 2 {
		t.Errorf("requests = %d, want still 2", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "uncertain" {
		t.Errorf("row %+v, want uncertain", r)
	}
	evs, err := st.EmailEvents(context.Background(), m.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Event != "uncertain" {
		t.Errorf("events %+v, want one uncertain", evs)
	}
	// A late event still settles it.
	processed(t, st, m, "ev-late")
	if r := ledger(t, st, m.Key); r.Status != "sent" {
		t.Errorf("row after a late event %+v, want sent", r)
	}
}

func TestFailedDuringRetry(t *testing.T) {
	// A 500 (definitely not accepted), then the retry is killed between its
	// claim and its send, then the next retry: one accepted request, no loss.
	st := openStore(t)
	sgs := newCounting(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			status(http.StatusInternalServerError, `{"errors":[{"message":"internal error"}]}`)(w, n)
			return
		}
		accepted("msg-2")(w, n)
	})
	m := compose(t, notice(mail.KindEscalation))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace}
	if err := sg.Deliver(context.Background(), m); err == nil || !retryable(err) {
		t.Fatalf("after a 500: %v", err)
	}
	dead := sg
	dead.Faults = &mail.Faults{AfterClaim: func(string) error { return errKilled }}
	if err := dead.Deliver(context.Background(), m); !errors.Is(err, errKilled) {
		t.Fatalf("the retry: %v", err)
	}
	retryUntil(t, sg, m, 5*time.Second)
	if n := sgs.of(m.Key); n != 2 {
		t.Errorf("requests = %d, want 2: the 500 and one accepted send", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "msg-2" {
		t.Errorf("row %+v, want sent by msg-2", r)
	}
	evs, _ := st.EmailEvents(context.Background(), m.Key)
	if len(evs) != 1 || evs[0].Event != "send-failed" || evs[0].Status != "500" || !strings.Contains(evs[0].Message, "internal error") {
		t.Errorf("events %+v, want one send-failed with SendGrid's status and message", evs)
	}
}

func TestConcurrentAttemptsSendOnce(t *testing.T) {
	// An activity timed out while its call was in flight and Temporal
	// started a retry beside it: the retry must not send too.
	st := openStore(t)
	release := make(chan struct{})
	sgs := newCounting(t, func(w http.ResponseWriter, n int) {
		<-release
		accepted("msg-slow")(w, n)
	})
	m := compose(t, notice(mail.KindOffer))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: time.Hour}
	done := make(chan error, 1)
	go func() { done <- sg.Deliver(context.Background(), m) }()
	for sgs.count() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	for range 5 {
		if err := sg.Deliver(context.Background(), m); appError(t, err).Type() != mail.ErrUnconfirmed {
			t.Fatalf("second attempt during the first: %v", err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if n := sgs.of(m.Key); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestSlowResponseTimesOutAndIsReconciled(t *testing.T) {
	// SendGrid answers after our timeout: we cannot know whether it took
	// the message, so the row stays 'sending' and the event decides.
	st := openStore(t)
	sgs := newCounting(t, func(w http.ResponseWriter, n int) {
		time.Sleep(500 * time.Millisecond)
		accepted("msg-late")(w, n)
	})
	m := compose(t, notice(mail.KindOffer))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace, Timeout: 100 * time.Millisecond}
	err := sg.Deliver(context.Background(), m)
	if err == nil || !retryable(err) || mail.IsRejected(err) {
		t.Fatalf("a timeout must be retryable: %v", err)
	}
	if r := ledger(t, st, m.Key); r.Status != "sending" {
		t.Fatalf("row after a timeout %+v, want sending", r)
	}
	evs, _ := st.EmailEvents(context.Background(), m.Key)
	if len(evs) != 1 || evs[0].Event != "send-failed" || !strings.Contains(evs[0].Message, "deadline exceeded") {
		t.Errorf("events %+v, want the timeout recorded", evs)
	}
	processed(t, st, m, "ev-slow")
	retryUntil(t, sg, m, 5*time.Second)
	time.Sleep(600 * time.Millisecond) // let the slow handler finish counting
	if n := sgs.of(m.Key); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestSendRateCap(t *testing.T) {
	st := openStore(t)
	sgs := newCounting(t, accepted("msg"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Limiter: mail.NewLimiter(10)}
	start := time.Now()
	for i := range 20 {
		n := notice(mail.KindReminder)
		n.Key += ":" + string(rune('a'+i))
		if err := sg.Deliver(context.Background(), compose(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 10, then 10 more at 10 per second: about a second.
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("20 sends at a cap of 10/s took %s, want about 1s", took)
	}
	if mail.NewLimiter(0) != nil {
		t.Error("a cap of 0 should mean none")
	}
}

func TestSendGridStatusClasses(t *testing.T) {
	st := openStore(t)
	for i, c := range []struct {
		code      int
		rejected  bool
		ledger    string
		eventCode string
	}{
		{http.StatusBadRequest, true, "failed", "400"},
		{http.StatusForbidden, true, "failed", "403"},
		{http.StatusRequestEntityTooLarge, true, "failed", "413"},
		{http.StatusUnauthorized, false, "retry", "401"}, // a bad key: fix it and the retry goes through
		{http.StatusBadGateway, false, "retry", "502"},
		{http.StatusServiceUnavailable, false, "retry", "503"},
	} {
		fake := newFake(t, status(c.code, `{"errors":[{"message":"reason `+strconv.Itoa(c.code)+`"}]}`))
		sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
		n := notice(mail.KindOffer)
		n.Key += ":" + strconv.Itoa(i)
		m := compose(t, n)
		m.LeadID = "lead-42"
		err := sg.Deliver(context.Background(), m)
		if mail.IsRejected(err) != c.rejected || retryable(err) == c.rejected {
			t.Errorf("%d: error %v, want rejected=%v", c.code, err, c.rejected)
		}
		if r := ledger(t, st, m.Key); r.Status != c.ledger {
			t.Errorf("%d: ledger %q, want %q", c.code, r.Status, c.ledger)
		}
		evs, _ := st.EmailEvents(context.Background(), m.Key)
		if len(evs) != 1 || evs[0].Event != "send-failed" || evs[0].Status != c.eventCode || !strings.Contains(evs[0].Message, "reason "+c.eventCode) {
			t.Errorf("%d: events %+v, want one send-failed with the status and SendGrid's message", c.code, evs)
		}
	}
}

func TestSendGridDynamicTemplate(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, accepted("msg-t"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL,
		TemplateIDs: map[string]string{mail.KindOffer: "d-abc123"}}
	m := compose(t, notice(mail.KindOffer))
	m.LeadID, m.WorkflowID, m.Step, m.Attempt = "lead-42", "lead-lead-42", "accept:0", 1
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, body := fake.last(t)
	if body["template_id"] != "d-abc123" {
		t.Errorf("template_id = %v", body["template_id"])
	}
	if _, ok := body["content"]; ok {
		t.Error("content sent with a dynamic template")
	}
	ps := asSlice(body["personalizations"])
	data, _ := dig(ps[0], "dynamic_template_data").(map[string]any)
	if data["subject"] != m.Subject || data["text"] != m.Text || data["html"] != m.HTML || len(asSlice(data["links"])) != 2 {
		t.Errorf("dynamic_template_data = %v", data)
	}
	args := customArgs(t, body)
	for k, want := range map[string]string{"baton_key": m.Key, "baton_kind": "offer", "baton_lead": "lead-42",
		"baton_workflow": "lead-lead-42", "baton_step": "accept:0", "baton_attempt": "1"} {
		if args[k] != want {
			t.Errorf("custom_args[%s] = %v, want %q", k, args[k], want)
		}
	}
	// Another kind without a template id is sent with content.
	if err := sg.Deliver(context.Background(), compose(t, notice(mail.KindReminder))); err != nil {
		t.Fatal(err)
	}
	if _, body = fake.last(t); body["template_id"] != nil || body["content"] == nil {
		t.Errorf("a kind without a template: template_id %v, content %v", body["template_id"], body["content"] != nil)
	}
}
