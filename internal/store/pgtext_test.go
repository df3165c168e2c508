package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

// Issue 15, finding 4, below the edge: text PostgreSQL refuses (NUL, invalid
// UTF-8, \u0000 in jsonb) never reaches it; what would have failed the lead
// workflow with SQLSTATE 22021 is stored cleaned.
func TestStoreNeverSendsTextPostgresRefuses(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(1, domain.StateCaptured)
	l.Name, l.Company, l.Region = "Dana\x00Lee", "Acme \xff\xfe", "EU\x00"
	ev := event(l, "captured", "captured", t0)
	ev.Reason = "why\x00 \xc3"
	ev.Data = map[string]string{"note": "a\x00b", "k\x00": `quote\u0000"\\u0000`}
	record(t, s, l, ev)
	if got := queryString(t, s, `select name || '|' || company || '|' || region from leads where id = $1`, l.ID); got != "DanaLee|Acme \uFFFD|EU" {
		t.Errorf("lead row %q", got)
	}
	if got := queryString(t, s, `select reason from lead_events where lead_id = $1`, l.ID); got != "why \uFFFD" {
		t.Errorf("event reason %q", got)
	}
	if got := queryString(t, s, `select data->>'note' from lead_events where lead_id = $1`, l.ID); got != "a\uFFFDb" {
		t.Errorf("event note %q", got)
	}
	// A literal backslash-u-0000 in the text is text, not an escape: kept.
	if got := queryString(t, s, `select data->>('k'||chr(65533)) from lead_events where lead_id = $1`, l.ID); got != `quote\u0000"\\u0000` {
		t.Errorf("escaped text %q", got)
	}
	// Lookups and array parameters are cleaned too, and bytea is untouched.
	if n := queryInt(t, s, `select count(*) from leads where name = any($1::text[]) and $2::bytea = '\x00ff'::bytea`,
		[]string{"Dana\x00Lee"}, []byte{0, 0xff}); n != 1 {
		t.Errorf("array lookup found %d", n)
	}
	if _, err := s.AppendEvent(ctx, l.ID, domain.Event{Key: l.ID + ":late\x00", Kind: "touch", Actor: "source:\xff",
		Data: map[string]string{"campaign": "x\x00"}, At: t0}); err != nil {
		t.Fatalf("append event: %v", err)
	}
	if got := store.CleanText("a\x00\xffb"); got != "a\uFFFDb" {
		t.Errorf("CleanText %q", got)
	}
}

// LeadSnapshot reads back what Record wrote, as the snapshot `starter lead
// recover` resumes a lead from; the recycle cycle comes from the event keys.
func TestLeadSnapshotReadsBackTheRecord(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(4, domain.StateOffered)
	l.Owner = domain.PersonRef{ID: "ana"}
	l.Attempt, l.OfferedAt, l.AcceptBy, l.Policy = 2, t0, t0.Add(time.Hour), "office"
	l.Region, l.Industry, l.CompanySize = "EMEA", "Retail", "50-200"
	record(t, s, l, event(l, "c1:offered:2", "offered", t0))
	got, err := s.LeadSnapshot(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner.ID != "ana" || got.Owner.Name == "" || got.Owner.TimeZone == "" {
		t.Fatalf("owner %+v", got.Owner)
	}
	got.Owner = l.Owner
	l.Cycle = 1
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", got, l)
	}
	if _, err := s.LeadSnapshot(ctx, "ld_nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing lead: %v", err)
	}
}
