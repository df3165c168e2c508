package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

// R7 on the real store: a person whose first life closed (and left
// Temporal's retention) comes back under the same lead id. The new run reads
// the stored version and attempt (LeadVersion, as activities.PriorLife does)
// and goes on from them in cycle version+1, as LeadWorkflow.loadPrior does:
// its snapshot replaces the old one, its events, assignment and offer ledger
// key are new rows, none colliding with the first life's.
func TestNewLifeAfterRetentionWritesItsOwnKeys(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	id := snapshot(1, domain.StateCaptured).ID
	if _, _, found, err := s.LeadVersion(ctx, id); err != nil || found {
		t.Fatalf("LeadVersion before any life: found=%v err=%v", found, err)
	}

	// First life: captured, offered (attempt 1), accepted, converted.
	steps := []struct {
		state domain.LeadState
		key   string
	}{{domain.StateCaptured, "touch:1"}, {domain.StateMQL, "mql"}, {domain.StateOffered, "offered:1"},
		{domain.StateAccepted, "accepted:1"}, {domain.StateConverted, "closed"}}
	as1, err := s.Assign(ctx, id, 1, "emea", nil)
	if err != nil {
		t.Fatal(err)
	}
	var l domain.LeadSnapshot
	for i, st := range steps {
		l = snapshot(int64(i+1), st.state)
		l.Attempt, l.Owner = 1, as1.Rep
		record(t, s, l, event(l, st.key, string(st.state), t0.Add(time.Duration(i)*time.Minute)))
	}
	offer1 := activities.NotifyInput{Kind: "offer", Phase: "accept", To: as1.Rep, Lead: l}
	if st, err := s.ClaimEmail(ctx, store.Message{Key: offer1.Key(), Kind: "offer", To: as1.Rep.Email, Subject: "first"}); err != nil || st != store.LedgerNew {
		t.Fatalf("first life's offer claim = %q, %v", st, err)
	}

	// 90 days later, a new run: it reads what the first life left.
	version, attempt, found, err := s.LeadVersion(ctx, id)
	if err != nil || !found || version != 5 || attempt != 1 {
		t.Fatalf("LeadVersion = %d, %d, %v, %v; want 5, 1, true", version, attempt, found, err)
	}
	cycle := int(version) + 1
	later := t0.Add(90 * 24 * time.Hour)
	key := func(k string) string { return fmt.Sprintf("c%d:%s", cycle, k) }
	n := snapshot(version+1, domain.StateCaptured)
	n.Cycle, n.Attempt = cycle, attempt
	record(t, s, n, event(n, key("touch:1"), "captured", later))
	n.Version, n.State = version+2, domain.StateMQL
	record(t, s, n, event(n, key("mql"), "mql", later))
	as2, err := s.Assign(ctx, id, attempt+1, "emea", nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Version, n.State, n.Attempt, n.Owner = version+3, domain.StateOffered, attempt+1, as2.Rep
	record(t, s, n, event(n, key(fmt.Sprintf("offered:%d", attempt+1)), "offered", later))

	if got := queryString(t, s, `select state from leads where id = $1`, id); got != string(domain.StateOffered) {
		t.Errorf("stored state %q, want the new life's Offered", got)
	}
	if got := queryInt(t, s, `select count(*) from lead_events where lead_id = $1`, id); got != 8 {
		t.Errorf("%d events stored, want 5 of the first life and 3 of the second", got)
	}
	if got := queryInt(t, s, `select count(*) from assignments where lead_id = $1`, id); got != 2 {
		t.Errorf("%d assignments, want one per life", got)
	}
	offer2 := activities.NotifyInput{Kind: "offer", Phase: "accept", To: as2.Rep, Lead: n}
	if offer2.Key() == offer1.Key() {
		t.Fatalf("the second life's offer has the first's ledger key %s", offer1.Key())
	}
	if st, err := s.ClaimEmail(ctx, store.Message{Key: offer2.Key(), Kind: "offer", To: as2.Rep.Email, Subject: "second"}); err != nil || st != store.LedgerNew {
		t.Errorf("second life's offer claim = %q, %v; want a new row (the offer is sent)", st, err)
	}
	// What the first life's keys would have done: the same assignment back,
	// and the offer's ledger row already claimed (no offer sent).
	if again, _ := s.Assign(ctx, id, 1, "emea", nil); again.Rep.ID != as1.Rep.ID {
		t.Errorf("attempt 1 again gave %s", again.Rep.ID)
	}
	if st, _ := s.ClaimEmail(ctx, store.Message{Key: offer1.Key(), Kind: "offer", To: as1.Rep.Email}); st == store.LedgerNew {
		t.Error("the first life's ledger key was free again")
	}
}

// A touch from campaign B on a person who is already a lead of campaign A:
// B's numbers credit the response, A's do not count it.
func TestSecondCampaignTouchCreditedToItsCampaign(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	b := parseCampaign(t, campaignYAML)
	b.ID, b.Name = "ebook-q3", "Ebook Q3"
	if err := s.UpsertCampaign(ctx, b, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	l := snapshot(1, domain.StateCaptured)
	ev := event(l, "touch:1", "captured", t0)
	ev.Data = map[string]string{"campaign": "webinar-q3"}
	record(t, s, l, ev)
	l.Version, l.Touches = 2, 2
	ev = event(l, "touch:2", "touch", t0.Add(time.Hour))
	ev.Data = map[string]string{"campaign": "ebook-q3", "lead_campaign": "webinar-q3"}
	record(t, s, l, ev)

	forB, err := s.CampaignStats(ctx, "ebook-q3", t0, t0.Add(24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if forB.Responses != 1 || forB.Returning != 1 || forB.Captured != 0 {
		t.Errorf("B: responses %d returning %d captured %d; want 1 1 0", forB.Responses, forB.Returning, forB.Captured)
	}
	forA, err := s.CampaignStats(ctx, "webinar-q3", t0, t0.Add(24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if forA.Responses != 1 || forA.Returning != 0 || forA.Captured != 1 {
		t.Errorf("A: responses %d returning %d captured %d; want 1 0 1", forA.Responses, forA.Returning, forA.Captured)
	}
}

// Found by the fault suite: a lead's first workflow task ran its local
// activities (captured, mql, offered written to PostgreSQL), then timed out;
// its retry read those writes as an earlier life and started "cycle 4", then
// 7, then 10, each offer's mail never sent. What a run wrote itself is not an
// earlier life: PriorLife counts only a lead first stored well before the run
// started.
func TestPriorLifeIgnoresTheRunsOwnWrites(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(3, domain.StateOffered)
	record(t, s, l, event(l, "offered:1", "offered", t0))
	acts := &activities.Activities{Store: s}
	runStart := time.Now().Add(-time.Minute) // the run started a minute ago; the row is its own
	if p, err := acts.PriorLife(ctx, l.ID, runStart); err != nil || p.Found {
		t.Fatalf("PriorLife of the run's own writes: %+v %v; want not found", p, err)
	}
	// A run starting long after (the first life left Temporal's retention).
	if p, err := acts.PriorLife(ctx, l.ID, time.Now().Add(25*time.Hour)); err != nil || !p.Found || p.Version != 3 {
		t.Fatalf("PriorLife of an earlier life: %+v %v; want found at version 3", p, err)
	}
}
