package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// escalation composes lead i's escalation to max as the activity does.
func escalation(t testing.TB, i int) store.Message {
	t.Helper()
	id := fmt.Sprintf("ld_batch%02d", i)
	n := mail.Notice{Kind: mail.KindEscalation, Key: id + ":escalation:contact:1:1:max",
		To:   domain.PersonRef{ID: "max", Name: "Max Becker", Email: "max.becker@example.com", TimeZone: "Europe/Berlin"},
		Lead: domain.LeadSnapshot{ID: id, Email: fmt.Sprintf("lead%02d@acme.example", i), Name: fmt.Sprintf("Lead Nr%02d", i), Score: 70, Attempt: 1},
		Rep:  domain.PersonRef{ID: "ana", Name: "Ana Schmidt", Email: "ana@example.com"}, Phase: "contact", Level: 1,
		Deadline: time.Now(), Campaign: domain.CampaignInfo{Name: "Webinar"},
		Links: []store.Link{{Label: "Open the lead", URL: "https://baton.example/leads/" + id + "?t=tok" + id}}}
	m, err := mail.Compose(n, "baton@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	m.LeadID = id
	if m.Part == nil {
		t.Fatal("an escalation has no batch part")
	}
	return m
}

func outboxRows(t *testing.T, st *store.Store, key string) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), `select count(*) from outbox where ledger_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEscalationBatchExactlyOnce: seven escalations to one manager within
// three seconds give two emails: the first at once, the other six as one
// batch when the window closes. The dispatcher dies after claiming, and
// again after sending but before marking; the batch still goes out once,
// with every lead and each lead's own link once. An erased lead leaves the
// batch.
func TestEscalationBatchExactlyOnce(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for i := range 7 {
		id := fmt.Sprintf("ld_batch%02d", i)
		l := domain.LeadSnapshot{ID: id, WorkflowID: "lead-" + id, Email: fmt.Sprintf("lead%02d@acme.example", i), Name: fmt.Sprintf("Lead Nr%02d", i),
			CampaignID: "webinar-q3", State: domain.StateAccepted, Version: 1, Attempt: 1}
		if err := st.Record(ctx, l, domain.Event{Key: id + ":captured", Seq: 1, Kind: "captured", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	clock := &fakeClock{t: time.Now()}
	const win = time.Minute
	b := &notify.Batching{Store: st, Window: win, From: "baton@example.com", Now: clock.Now, Lease: 30 * time.Second}
	n := notify.New(mail.Outbox{Store: st}, notify.Options{Batch: b})

	msgs := make([]store.Message, 7)
	for i := range msgs {
		msgs[i] = escalation(t, i)
		if err := n.Deliver(ctx, msgs[i]); err != nil {
			t.Fatal(err)
		}
		clock.Add(400 * time.Millisecond)
	}
	// A retried activity for a queued lead and for the leading one.
	for _, i := range []int{0, 3} {
		if err := n.Deliver(ctx, msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if got := outboxRows(t, st, msgs[0].Key); got != 1 {
		t.Fatalf("leading edge: %d outbox rows, want 1", got)
	}
	for _, m := range msgs[1:] {
		if got := outboxRows(t, st, m.Key); got != 0 {
			t.Fatalf("%s sent alone inside the window", m.Key)
		}
	}
	if did, err := n.SendDueBatch(ctx); did || err != nil {
		t.Fatalf("a batch went out before its window closed: %v %v", did, err)
	}

	// The window closes. A dispatcher claims the batch and dies.
	clock.Add(win)
	bt, err := st.ClaimDueBatch(ctx, clock.Now(), win, 30*time.Second)
	if err != nil || bt == nil || len(bt.Items) != 6 {
		t.Fatalf("claim: %+v %v", bt, err)
	}
	// Meanwhile an escalation arrives: the closed batch does not take it.
	late := escalation(t, 9)
	if err := n.Deliver(ctx, late); err != nil {
		t.Fatal(err)
	}
	if did, _ := n.SendDueBatch(ctx); did {
		t.Fatal("a claimed batch was taken again inside its lease")
	}
	// The next dispatcher sends it and dies before marking it sent.
	clock.Add(31 * time.Second)
	again, err := st.ClaimDueBatch(ctx, clock.Now(), win, 30*time.Second)
	if err != nil || again == nil || again.Key != bt.Key {
		t.Fatalf("reclaim: %+v %v", again, err)
	}
	m, err := mail.ComposeBatch(*again, "baton@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := (mail.Outbox{Store: st}).Deliver(ctx, m); err != nil {
		t.Fatal(err)
	}
	// And a third one finishes the job.
	clock.Add(31 * time.Second)
	if did, err := n.SendDueBatch(ctx); !did || err != nil {
		t.Fatalf("resend: %v %v", did, err)
	}
	if got := outboxRows(t, st, bt.Key); got != 1 {
		t.Fatalf("batch %s: %d outbox rows, want exactly 1", bt.Key, got)
	}
	out, err := st.Outbox(ctx, "max.becker@example.com", 50)
	if err != nil {
		t.Fatal(err)
	}
	var batch store.Message
	for _, o := range out {
		if o.Key == bt.Key {
			batch = o
		}
	}
	if batch.Kind != mail.KindEscalation || batch.Subject != "6 escalations need you" {
		t.Fatalf("batch mail: %q %q", batch.Kind, batch.Subject)
	}
	for _, i := range []int{1, 2, 3, 4, 5, 6} {
		name := fmt.Sprintf("Lead Nr%02d", i)
		if strings.Count(batch.Text, name) != 3 || strings.Count(batch.HTML, name) != 3 { // its heading, and twice in its part
			t.Fatalf("lead %s appears %d times in the batch text:\n%s", name, strings.Count(batch.Text, name), batch.Text)
		}
		url := fmt.Sprintf("https://baton.example/leads/ld_batch%02d?t=tokld_batch%02d", i, i)
		if c := strings.Count(batch.Text, url); c != 1 {
			t.Fatalf("lead %d's link appears %d times", i, c)
		}
	}
	if strings.Contains(batch.Text, "Lead Nr00") || strings.Contains(batch.Text, "Lead Nr09") {
		t.Fatalf("the leading edge or the late one is in the batch:\n%s", batch.Text)
	}
	if len(batch.Links) != 6 {
		t.Fatalf("batch links: %d, want 6", len(batch.Links))
	}
	// The late one is the next batch, due one window after the first claim
	// closed this one (62 s ago now).
	if did, err := n.SendDueBatch(ctx); !did || err != nil {
		t.Fatalf("next batch: %v %v", did, err)
	}
	if k, _ := st.BatchedWith(ctx, late.Key); k == "" || k == bt.Key || outboxRows(t, st, k) != 1 {
		t.Fatalf("late escalation: batch %q", k)
	}

	// Erasing a lead takes it out of the sent batch.
	if err := st.Erase(ctx, "ld_batch02"); err != nil {
		t.Fatal(err)
	}
	out, _ = st.Outbox(ctx, "max.becker@example.com", 50)
	for _, o := range out {
		if o.Key == bt.Key {
			for _, s := range []string{o.Text, o.HTML} {
				if strings.Contains(s, "Lead Nr02") || strings.Contains(s, "lead02@acme.example") || strings.Contains(s, "ld_batch02?t=") {
					t.Fatalf("erased lead still in the batch:\n%s", s)
				}
				if !strings.Contains(s, "Lead Nr03") {
					t.Fatal("erasure took another lead with it")
				}
			}
			if len(o.Links) != 5 {
				t.Fatalf("links after erasure: %d", len(o.Links))
			}
		}
	}
}

// An escalation retried after its lead was erased is not queued.
func TestNoBatchItemForAnErasedLead(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	l := domain.LeadSnapshot{ID: "ld_batch01", WorkflowID: "lead-ld_batch01", Email: "lead01@acme.example", Name: "Lead Nr01",
		CampaignID: "webinar-q3", State: domain.StateAccepted, Version: 1, Attempt: 1}
	if err := st.Record(ctx, l, domain.Event{Key: "ld_batch01:captured", Seq: 1, Kind: "captured", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := &notify.Batching{Store: st, Window: time.Minute, From: "baton@example.com"}
	n := notify.New(mail.Outbox{Store: st}, notify.Options{Batch: b})
	if err := n.Deliver(ctx, escalation(t, 0)); err != nil { // the leading edge, another lead
		t.Fatal(err)
	}
	if err := st.Erase(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if err := n.Deliver(ctx, escalation(t, 1)); err != nil {
		t.Fatal(err)
	}
	var items int
	if err := st.Pool.QueryRow(ctx, `select count(*) from mail_batch_items where lead_id = $1`, l.ID).Scan(&items); err != nil || items != 0 {
		t.Fatalf("erased lead queued: %d items, %v", items, err)
	}
}

var benchRun int

// BenchmarkEscalationDelivery compares delivering an escalation to the
// local outbox alone (window 0) with passing it through the batching window
// (the leading edge, then queued): the price of the window's transaction.
func BenchmarkEscalationDelivery(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	for _, window := range []time.Duration{0, time.Hour} {
		b.Run(fmt.Sprintf("window=%s", window), func(b *testing.B) {
			n := notify.New(mail.Outbox{Store: st}, notify.Options{Batch: &notify.Batching{Store: st, Window: window, From: "baton@example.com"}})
			msgs := make([]store.Message, b.N)
			for i := range msgs {
				msgs[i] = escalation(b, i)
				benchRun++
				msgs[i].Key = fmt.Sprintf("%s:w%d:%d", msgs[i].Key, window, benchRun) // never seen before
				msgs[i].To = fmt.Sprintf("m%d@example.com", benchRun%7)               // seven managers
			}
			b.ResetTimer()
			for i := range msgs {
				if err := n.Deliver(ctx, msgs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
