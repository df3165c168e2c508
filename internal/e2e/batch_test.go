package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// batchMails lists the escalation emails to one person: key, text, and
// whether it is a batch.
func batchMails(t *testing.T, s *Stack, to string) (alone, batches []outboxMsg, keys []string) {
	t.Helper()
	rows, err := s.Store.Pool.Query(context.Background(), `select e.key, o.subject, o.text_body from outbox o join email_ledger e on e.key = o.ledger_key
		where o.to_email = $1 and e.kind = 'escalation' order by o.id`, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var m outboxMsg
		if err := rows.Scan(&key, &m.Subject, &m.Text); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		if strings.HasPrefix(key, "batch:") {
			batches = append(batches, m)
		} else {
			alone = append(alone, m)
		}
	}
	return alone, batches, keys
}

// escalationsTo counts a lead's escalation emails to one person, alone or
// in a batch (the chain goes on to the sales leader one window later).
func escalationsTo(t *testing.T, s *Stack, lead, to string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), `select
		(select count(*) from outbox o join email_ledger e on e.key = o.ledger_key where e.key like $1 || ':escalation:%' and o.to_email = $2)
		+ (select count(*) from mail_batch_items i join outbox o on o.ledger_key = i.batch_key where i.key like $1 || ':%' and i.recipient = $2)`,
		lead, to).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEscalationBatchSurvivesKill9 runs the worker binary. Five leads miss
// their acceptance windows together, so five escalations reach the manager
// within moments: the first goes out at once (the leading edge), the
// other four wait for the window's batch. The worker is SIGKILLed right
// after the leading edge, stays down past the window's end, comes back, is
// killed again at a random moment near the batch's send, and comes back.
// The manager gets exactly two emails: the first lead alone and one batch
// with the other four, each lead once, each with its own links; every
// lead's escalation is recorded once, at its own instant.
func TestEscalationBatchSurvivesKill9(t *testing.T) {
	const batchWindow = 8 * time.Second
	t.Setenv("BATON_ESCALATION_BATCH_WINDOW", batchWindow.String())
	s := startStackOpts(t, false)
	w := buildWorker(t, s)
	w.start()
	const n = 5
	var ids []string
	for i := range n {
		code, res := submit(t, s, fmt.Sprintf(`{"campaign":"webinar-q3","email":"batch%d@example.org","name":"Batch Lead%d","score":80}`, i, i))
		if code != 202 {
			t.Fatalf("submit %d: %d %v", i, code, res)
		}
		ids = append(ids, res["id"].(string))
	}
	const max = "max.becker@example.com"
	first := waitMail(t, s, max, "escalation", 4*window+20*time.Second)
	leadAt := time.Now()
	// Every escalation has gone through the window (one sent, four queued)
	// well inside it: now the worker dies, between the leading edge and the
	// batch.
	for wait := time.Now().Add(batchWindow / 2); ; time.Sleep(50 * time.Millisecond) {
		var items int
		if err := s.Store.Pool.QueryRow(context.Background(), `select count(*) from mail_batch_items where recipient = $1`, max).Scan(&items); err != nil {
			t.Fatal(err)
		}
		if items == n {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%d of %d escalations reached the window within %s of the first", items, n, batchWindow/2)
		}
	}
	w.kill()
	if strings.HasPrefix(first.Subject, "5 ") || !strings.Contains(first.Subject, "Batch Lead") {
		t.Fatalf("the leading edge is not one lead's escalation: %q", first.Subject)
	}
	// Down past the window's end (the batch comes due with no worker).
	time.Sleep(time.Until(leadAt.Add(batchWindow + time.Second)))
	w.start()
	time.Sleep(time.Duration(200+time.Now().UnixNano()%1500) * time.Millisecond)
	w.kill() // somewhere around claiming and sending the batch
	w.start()

	deadline := time.Now().Add(90 * time.Second) // a claim left by a kill runs out after 2 min at most
	for {
		alone, batches, _ := batchMails(t, s, max)
		got := 0
		for _, id := range ids {
			got += escalationsTo(t, s, id, max)
		}
		if got >= n && len(batches) > 0 {
			break
		}
		if time.Now().After(deadline.Add(60 * time.Second)) {
			t.Fatalf("after the kills: %d alone, %d batches, %d of %d leads' escalations out", len(alone), len(batches), got, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything sent twice would show now
	alone, batches, keys := batchMails(t, s, max)
	if len(alone) != 1 || len(batches) != 1 {
		t.Fatalf("manager's escalation emails: %d alone, %d batches (%v); want 1 and 1", len(alone), len(batches), keys)
	}
	b := batches[0]
	if !strings.HasPrefix(b.Subject, fmt.Sprintf("%d escalations", n-1)) {
		t.Fatalf("batch subject %q", b.Subject)
	}
	for i, id := range ids {
		if c := escalationsTo(t, s, id, max); c != 1 {
			t.Fatalf("lead %s: %d escalation emails, want exactly 1", id, c)
		}
		name := fmt.Sprintf("Batch Lead%d", i)
		inBatch, inFirst := strings.Contains(b.Text, name), strings.Contains(first.Text, name)
		if inBatch == inFirst {
			t.Fatalf("%s: in the batch %v, in the leading edge %v; want exactly one", name, inBatch, inFirst)
		}
		if inBatch && !strings.Contains(b.Text, "/leads/"+id+"?t=") {
			t.Fatalf("%s has no link of its own in the batch:\n%s", name, b.Text)
		}
		var escalated int
		if err := s.Store.Pool.QueryRow(context.Background(), `select count(*) from lead_events where lead_id = $1 and kind = 'escalated'
			and data->>'level' = '1'`, id).Scan(&escalated); err != nil {
			t.Fatal(err)
		}
		if escalated != 1 {
			t.Fatalf("lead %s: %d level-1 escalation events, want 1", id, escalated)
		}
	}
}
