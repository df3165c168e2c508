package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

func TestErasePurgesPersonalDataAndKeepsEvents(t *testing.T) {
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(1, domain.StateOffered)
	l.Phone = "+4917012345"
	record(t, s, l, event(l, "touch:1", "captured", t0))
	if v, _ := s.Lead(ctx, l.ID); v.Phone != "+4917012345" {
		t.Fatalf("phone not stored: %q", v.Phone)
	}
	l.Version = 2
	ev := event(l, "contact:1", "contacted", t0.Add(time.Minute))
	ev.Data = map[string]string{"channel": "call", "note": "Lea's mobile is 0170…"}
	record(t, s, l, ev)
	if _, err := s.DeliverToOutbox(ctx, store.Message{Key: l.ID + ":offer:1:ana", Kind: "offer", To: "ana@example.com",
		From: "baton@example.com", Subject: "Accept by — Lea Meyer, ACME", Text: "Lea Meyer", HTML: "Lea Meyer"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	v, err := s.Lead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Email != domain.ErasedEmail(l.ID) || v.Name != "" || v.Company != "" || v.Country != "" || v.Phone != "" {
		t.Fatalf("lead after erasure: %+v", v)
	}
	if len(v.Events) != 2 || v.Events[1].Data["channel"] != "call" || v.Events[1].Data["note"] != "" {
		t.Fatalf("events after erasure: %+v", v.Events)
	}
	if n := queryInt(t, s, `select count(*) from outbox where ledger_key like $1 || ':%'`, l.ID); n != 0 {
		t.Fatalf("%d outbox messages left", n)
	}
	if subj := queryString(t, s, `select subject from email_ledger where key = $1`, l.ID+":offer:1:ana"); subj != "" {
		t.Fatalf("ledger subject %q left", subj)
	}
	// A send still in flight when the erasure ran writes nothing.
	delivered, err := s.DeliverToOutbox(ctx, store.Message{Key: l.ID + ":offer:2:bea", Kind: "offer", To: "bea@example.com",
		From: "baton@example.com", Subject: "Accept by — Lea Meyer, ACME", Text: "Lea Meyer", HTML: "Lea Meyer"})
	if err != nil || delivered {
		t.Fatalf("delivery after erasure: %v %v", delivered, err)
	}
	if n := queryInt(t, s, `select count(*) from outbox where ledger_key like $1 || ':%'`, l.ID); n != 0 {
		t.Fatalf("%d outbox messages written after the erasure", n)
	}
	// The trigger still refuses any other change.
	if _, err := s.Pool.Exec(ctx, `update lead_events set kind = 'x' where lead_id = $1`, l.ID); err == nil {
		t.Fatal("lead_events accepted an update that is not a note erasure")
	}
	if err := s.Erase(ctx, "ld_nosuchlead2345"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("erase unknown lead: %v", err)
	}
}

// A lead's local activities can write from a workflow task that then timed
// out (its worker died or stalled): the retried task may take another path
// (an erasure arrived meanwhile) and number its snapshots again from the
// same version. Found by the fault suite: "offered" (v3) was written by the
// lost task, then the real path recorded "erased" as v3, which the version
// check dropped, so an erased lead read Offered. The purge, which runs only
// once the erasure is in the workflow's history, sets the state too, and
// nothing replaces a purged lead. An "erased" snapshot written by a lost
// task alone (the erasure never reached the history) is not final: the
// lead's real path goes on over it.
func TestErasedSnapshotWinsOverALostTasksWrite(t *testing.T) {
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(1, domain.StateCaptured)
	record(t, s, l, event(l, "touch:1", "captured", t0))
	l.Version, l.State = 2, domain.StateMQL
	record(t, s, l, event(l, "mql", "mql", t0.Add(time.Second)))

	// A lost task erased (its erase Update never reached the history), then
	// the real path went on: the lead is not erased.
	phantom := l
	phantom.Version, phantom.State, phantom.Name, phantom.Company = 3, domain.StateErased, "", ""
	record(t, s, phantom, event(phantom, "erased", "erased", t0.Add(2*time.Second)))
	live := l
	live.Version, live.State, live.Owner, live.Attempt = 4, domain.StateOffered, domain.PersonRef{ID: "ana"}, 1
	record(t, s, live, event(live, "offered:1", "offered", t0.Add(3*time.Second)))
	if v, _ := s.Lead(ctx, l.ID); v.State != "Offered" || v.Name != "Lea Meyer" {
		t.Fatalf("after a lost task's erasure and the real path: state %s, name %q; want Offered, Lea Meyer", v.State, v.Name)
	}

	// A lost task offered v5; the real path erased as v5 (dropped) and purged.
	lost := live
	lost.Version, lost.State = 5, domain.StateEscalated
	record(t, s, lost, event(lost, "accept-escalated:1:1:1", "escalated", t0.Add(4*time.Second)))
	erased := live
	erased.Version, erased.State = 5, domain.StateErased
	erased.Email, erased.Name, erased.Company, erased.Country = domain.ErasedEmail(l.ID), "", "", ""
	record(t, s, erased, event(erased, "erased:2", "erased", t0.Add(5*time.Second)))
	if err := s.Erase(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	v, err := s.Lead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.State != "Erased" || v.Name != "" {
		t.Fatalf("after the erasure: state %s, name %q; want Erased, no name", v.State, v.Name)
	}
	// A late write of a lost task (a stalled worker going on) changes
	// nothing, and brings no personal data back.
	lost.Version = 6
	record(t, s, lost, event(lost, "accept-escalated:1:1:2", "escalated", t0.Add(6*time.Second)))
	if v, _ := s.Lead(ctx, l.ID); v.State != "Erased" || v.Name != "" || v.Company != "" {
		t.Fatalf("after a late write: state %s, name %q, company %q", v.State, v.Name, v.Company)
	}
}
