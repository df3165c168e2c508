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
