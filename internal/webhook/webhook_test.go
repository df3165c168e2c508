package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// openStore gives the test a database with the example team and campaign.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	read := func(p string) []byte {
		b, err := os.ReadFile("../../examples/" + p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir, err := domain.ParseDirectory(read("team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	c, err := domain.ParseCampaign(read("campaign.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.SLAPolicy = "" // the example's demo policy is not imported here
	if err := st.UpsertCampaign(ctx, c, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	return st
}

// receiver is a real HTTP endpoint that verifies each delivery as a
// customer's receiver would and dedupes by webhook-id.
type receiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	calls  int
	ids    []string // every delivery's webhook-id, duplicates included
	seen   map[string]HookBody
	bad    []string                           // deliveries whose signature did not verify
	answer func(n int, w http.ResponseWriter) // the first two calls, when set
}

type HookBody struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Lead *struct {
			ID      string `json:"id"`
			State   string `json:"state"`
			Version int64  `json:"version"`
		} `json:"lead"`
		Campaign *struct {
			ID string `json:"id"`
		} `json:"campaign"`
	} `json:"data"`
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret, seen: map[string]HookBody{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls++
		n := r.calls
		answer := r.answer
		r.mu.Unlock()
		if answer != nil && n <= 2 {
			answer(n, w)
			return
		}
		if err := webhook.Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
			r.mu.Lock()
			r.bad = append(r.bad, err.Error())
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var hb HookBody
		if err := json.Unmarshal(body, &hb); err != nil || hb.ID != req.Header.Get(webhook.HeaderID) {
			http.Error(w, "body id and webhook-id differ", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.ids = append(r.ids, hb.ID)
		r.seen[hb.ID] = hb // dedupe: a redelivery overwrites, never adds
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func drain(t *testing.T, d *webhook.Dispatcher) {
	t.Helper()
	for range 50 {
		n, err := d.DrainOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func lead(version int64, state domain.LeadState) domain.LeadSnapshot {
	return domain.LeadSnapshot{ID: "lea", WorkflowID: "lead-lea", Email: "lea@example.com", Name: "Lea Meyer",
		Company: "ACME", Country: "DE", Score: 70, CampaignID: "webinar-q3", State: state, Version: version,
		Owner: domain.PersonRef{ID: "ana", Name: "Ana", Email: "ana@example.com"}, Attempt: 1}
}

// TestEveryEventTypeSignedAndDelivered records one source event of each
// type and checks each reaches a live receiver once, signed.
func TestEveryEventTypeSignedAndDelivered(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	secret := store.NewWebhookSecret()
	rcv := newReceiver(t, secret)
	if _, err := st.AddWebhook(ctx, rcv.URL, []string{"*"}, secret); err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, kind := range []string{"captured", "offered", "reminded", "escalated", "breached", "rejected", "reassigned",
		"accepted", "contacted", "converted", "disqualified", "recycled", "snoozed"} {
		v++
		l := lead(v, domain.StateOffered)
		if err := st.Record(ctx, l, domain.Event{Key: "lea:" + kind, Seq: v, Kind: kind, Actor: "system", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"approved", "live", "marketing-breach", "closed", "digest"} {
		if err := st.RecordCampaignEvent(ctx, "webinar-q3", domain.CampaignEvent{Key: "campaign:webinar-q3:" + kind, Kind: kind, Actor: "system", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	d := &webhook.Dispatcher{Store: st, Metrics: webhook.NewMetrics(reg)}
	drain(t, d)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("signatures refused by the receiver: %v", rcv.bad)
	}
	var types []string
	for _, hb := range rcv.seen {
		types = append(types, hb.Type)
	}
	slices.Sort(types)
	if want := domain.HookTypes(); !slices.Equal(types, want) {
		t.Errorf("delivered types\n got %v\nwant %v", types, want)
	}
	if len(rcv.ids) != len(rcv.seen) {
		t.Errorf("%d deliveries for %d events: each should arrive once", len(rcv.ids), len(rcv.seen))
	}
	if got := counter(d.Metrics.Attempts.WithLabelValues("delivered")); int(got) != len(rcv.seen) {
		t.Errorf("baton_webhook_deliveries_total{result=delivered} = %v, want %d", got, len(rcv.seen))
	}
}

// TestRetriesAfter500AndTimeoutThenDedupe: the receiver answers 500, then
// takes longer than the timeout, then 200. The three attempts carry the same
// webhook-id (so a receiver that got the slow one too dedupes), each signed
// afresh.
func TestRetriesAfter500AndTimeoutThenDedupe(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	secret := store.NewWebhookSecret()
	rcv := newReceiver(t, secret)
	release := make(chan struct{})
	defer close(release)
	rcv.answer = func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			<-release // longer than the dispatcher's timeout
		}
	}
	if _, err := st.AddWebhook(ctx, rcv.URL, []string{domain.HookLeadAccepted}, secret); err != nil {
		t.Fatal(err)
	}
	l := lead(1, domain.StateAccepted)
	ev := domain.Event{Key: "lea:accepted:1", Seq: 1, Kind: "accepted", Actor: "rep:ana", At: t0}
	for range 2 { // a retried Record activity queues the event once
		if err := st.Record(ctx, l, ev); err != nil {
			t.Fatal(err)
		}
	}
	d := &webhook.Dispatcher{Store: st, Timeout: 300 * time.Millisecond, Backoff: 10 * time.Millisecond}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := d.DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
		ds, _ := st.WebhookDeliveries(ctx, "delivered", 10)
		if len(ds) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ds, err := st.WebhookDeliveries(ctx, "", 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries = %+v, %v; want one", ds, err)
	}
	if ds[0].Status != "delivered" || ds[0].Attempts != 3 {
		t.Errorf("delivery = %s after %d attempts, want delivered after 3 (500, timeout, 200)", ds[0].Status, ds[0].Attempts)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.calls != 3 || len(rcv.seen) != 1 {
		t.Errorf("receiver: %d calls, %d distinct events; want 3 calls of one event", rcv.calls, len(rcv.seen))
	}
	if want := store.HookEventID("lead", ev.Key); len(rcv.ids) != 1 || rcv.ids[0] != want {
		t.Errorf("webhook-id = %v, want %s (stable across attempts)", rcv.ids, want)
	}
}

// TestDeadReceiverFailsAfterTheRetryWindow: a receiver that is gone is
// retried with backoff, then the delivery is failed, listed and counted.
func TestDeadReceiverFailsAfterTheRetryWindow(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	secret := store.NewWebhookSecret()
	if _, err := st.AddWebhook(ctx, dead, []string{domain.HookSLABreached}, secret); err != nil {
		t.Fatal(err)
	}
	l := lead(1, domain.StateOffered)
	if err := st.Record(ctx, l, domain.Event{Key: "lea:breached", Seq: 1, Kind: "breached", At: t0}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	d := &webhook.Dispatcher{Store: st, Backoff: 10 * time.Millisecond, RetryFor: 300 * time.Millisecond, Metrics: webhook.NewMetrics(reg)}
	deadline := time.Now().Add(10 * time.Second)
	var ds []store.Delivery
	for time.Now().Before(deadline) {
		if _, err := d.DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if ds, _ = st.WebhookDeliveries(ctx, "failed", 10); len(ds) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(ds) != 1 {
		t.Fatal("the delivery to a dead receiver was never marked failed")
	}
	if ds[0].Attempts < 2 || ds[0].LastError == "" {
		t.Errorf("failed after %d attempts (%q); want retries with the error kept", ds[0].Attempts, ds[0].LastError)
	}
	if got := counter(d.Metrics.Attempts.WithLabelValues("failed")); got != 1 {
		t.Errorf("failed metric = %v", got)
	}
	if got := counter(d.Metrics.Attempts.WithLabelValues("retry")); int(got) != ds[0].Attempts-1 {
		t.Errorf("retry metric = %v, want %d", got, ds[0].Attempts-1)
	}
}

func TestBackoffDoublesUpToAnHour(t *testing.T) {
	d := &webhook.Dispatcher{Backoff: 5 * time.Second}
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 5: 80 * time.Second, 20: time.Hour} {
		if got := d.BackoffAfter(n); got != want {
			t.Errorf("after %d attempts: %s, want %s", n, got, want)
		}
	}
}

func TestVerifyRefusesTamperingAndStaleTimestamps(t *testing.T) {
	secret := store.NewWebhookSecret()
	body := []byte(`{"id":"evt_1"}`)
	now := time.Now()
	sig, err := webhook.Sign(secret, "evt_1", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, "evt_1")
	h.Set(webhook.HeaderTimestamp, formatInt(now.Unix()))
	h.Set(webhook.HeaderSignature, "v1,bm9wZQ== "+sig) // rotation: any listed signature may match
	if err := webhook.Verify(secret, h, body, now, 5*time.Minute); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	if err := webhook.Verify(secret, h, []byte(`{"id":"evt_2"}`), now, 5*time.Minute); err != webhook.ErrSignature {
		t.Errorf("a changed body: %v", err)
	}
	if err := webhook.Verify(secret, h, body, now.Add(10*time.Minute), 5*time.Minute); err != webhook.ErrTimestamp {
		t.Errorf("a replay 10 minutes later: %v", err)
	}
	if err := webhook.Verify(store.NewWebhookSecret(), h, body, now, 5*time.Minute); err != webhook.ErrSignature {
		t.Errorf("another secret: %v", err)
	}
	h.Set(webhook.HeaderID, "evt_9")
	if err := webhook.Verify(secret, h, body, now, 5*time.Minute); err != webhook.ErrSignature {
		t.Errorf("another id: %v", err)
	}
}

func TestValidateWebhookNamesTheField(t *testing.T) {
	good := store.NewWebhookSecret()
	for _, c := range []struct {
		url    string
		events []string
		secret string
		want   string
	}{
		{"", []string{"*"}, good, "url: required"},
		{"ftp://x", []string{"*"}, good, `url: "ftp://x" is not an http(s) URL`},
		{"https://u:p@x", []string{"*"}, good, "url: must not carry credentials (the signature authenticates Baton)"},
		{"https://x", []string{"lead.eaten"}, good, `events: "lead.eaten" is not an event type`},
		{"https://x", nil, good, "events: name at least one event type, or * for all"},
		{"https://x", []string{"*"}, "secret", `secret: must start with "whsec_"`},
		{"https://x", []string{"*"}, "whsec_c2hvcnQ=", "secret: the key is 5 bytes; it must be 24 to 64"},
	} {
		_, err := store.ValidateWebhook(c.url, c.events, c.secret)
		if err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
			t.Errorf("ValidateWebhook(%q, %v) = %v, want %q…", c.url, c.events, err, c.want)
		}
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestErasedLeadLeavesQueuedEvents: erasing a lead takes its personal data
// out of the webhook events still queued for it.
func TestErasedLeadLeavesQueuedEvents(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if _, err := st.AddWebhook(ctx, "https://crm.example.com/hook", []string{"*"}, store.NewWebhookSecret()); err != nil {
		t.Fatal(err)
	}
	l := lead(1, domain.StateOffered)
	if err := st.Record(ctx, l, domain.Event{Key: "lea:offered", Seq: 1, Kind: "offered", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.Erase(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	var payload string
	if err := st.Pool.QueryRow(ctx, `select payload::text from webhook_events where lead_id = $1`, l.ID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	for _, pii := range []string{"lea@example.com", "Lea Meyer", "ACME"} {
		if strings.Contains(payload, pii) {
			t.Errorf("queued event still holds %q after erasure: %s", pii, payload)
		}
	}
	if !strings.Contains(payload, domain.ErasedEmail(l.ID)) {
		t.Errorf("payload %s: want the erased placeholder email", payload)
	}
}
