package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/workerapp"
)

// TestDeadWebhookReceiverNeverDelaysAClock: every event goes to two
// receivers, one that never answers and one that is not there at all, while
// a lead left alone runs second-scale clocks. Each reminder, lapse and
// escalation is recorded on time, and the deliveries wait in the outbox.
func TestDeadWebhookReceiverNeverDelaysAClock(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	hang := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(hang) }) // runs first: let the hung requests end
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	for _, u := range []string{stuck.URL, gone} {
		if _, err := s.Store.AddWebhook(ctx, u, []string{"*"}, store.NewWebhookSecret()); err != nil {
			t.Fatal(err)
		}
	}
	d := workerapp.Dispatcher(s.Config, s.Store, nil, tclient.QuietLogger())
	d.Timeout, d.Backoff = 2*time.Second, 200*time.Millisecond
	go d.Run(ctx)

	const w = 2 * time.Second
	pol := domain.Policy{Name: "e2e-hooks", AcceptWithin: domain.Duration(w), FirstContactWithin: domain.Duration(w),
		Reminders: []float64{0.5}, OnMiss: domain.OnMiss{Reassign: 1, Escalate: true}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	usePolicy(t, s, pol)
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"hooked@example.org","name":"Hugo Hook","score":90}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for getLead(t, s, id).Escalation < 1 {
		if time.Now().After(deadline) {
			t.Fatal("not escalated within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := s.Store.Pool.Query(ctx, `
		select kind, coalesce(data->>'due', data->>'deadline')::timestamptz, recorded_at
		from lead_events where lead_id = $1 and kind in ('reminded', 'lapsed', 'escalated') order by seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var kind string
		var due, recorded time.Time
		if err := rows.Scan(&kind, &due, &recorded); err != nil {
			t.Fatal(err)
		}
		n++
		late := recorded.Sub(due)
		t.Logf("%-9s due %s recorded %s late %v", kind, due.Format("15:04:05.000"), recorded.Format("15:04:05.000"), late.Round(time.Millisecond))
		if late < 0 || late > 1500*time.Millisecond {
			t.Errorf("%s recorded %v after its deadline while the webhook receivers were dead", kind, late.Round(time.Millisecond))
		}
	}
	if n < 3 {
		t.Errorf("%d timed events, want at least a reminder, a lapse and an escalation", n)
	}
	// The receivers were tried and the deliveries wait for a retry.
	ds, err := s.Store.WebhookDeliveries(ctx, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	tried, delivered := 0, 0
	for _, dl := range ds {
		if dl.Attempts > 0 {
			tried++
		}
		if dl.Status == "delivered" {
			delivered++
		}
	}
	if tried == 0 || delivered != 0 {
		t.Errorf("%d deliveries, %d tried, %d delivered: want tries and no delivery", len(ds), tried, delivered)
	}
	t.Logf("%d deliveries queued, %d attempted, none delivered", len(ds), tried)
}
