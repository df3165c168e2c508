package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

// withCampaign imports the directory and a live campaign.
func withCampaign(t *testing.T) *store.Store {
	t.Helper()
	s := openStore(t)
	importDir(t, s, emeaYAML)
	if err := s.UpsertCampaign(testCtx(t), parseCampaign(t, campaignYAML), "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func snapshot(version int64, state domain.LeadState) domain.LeadSnapshot {
	id := domain.LeadID("lea@example.com")
	return domain.LeadSnapshot{ID: id, WorkflowID: "lead-" + id, Email: "lea@example.com", Name: "Lea Meyer",
		Company: "ACME", Country: "DE", Score: 70, CampaignID: "webinar-q3", State: state, Touches: 1, Version: version}
}

func event(l domain.LeadSnapshot, key, kind string, at time.Time) domain.Event {
	return domain.Event{Key: l.ID + ":" + key, Seq: l.Version, Kind: kind, Actor: "workflow", At: at}
}

func record(t *testing.T, s *store.Store, l domain.LeadSnapshot, ev domain.Event) {
	t.Helper()
	if err := s.Record(testCtx(t), l, ev); err != nil {
		t.Fatalf("Record v%d %s: %v", l.Version, ev.Key, err)
	}
}

func TestRecordKeepsNewestSnapshot(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)

	v1 := snapshot(1, domain.StateCaptured)
	record(t, s, v1, event(v1, "captured", "captured", t0))

	v3 := snapshot(3, domain.StateOffered)
	v3.Owner = domain.PersonRef{ID: "ana"}
	v3.Attempt = 1
	v3.OfferedAt = t0.Add(time.Minute)
	v3.AcceptBy = t0.Add(time.Hour)
	record(t, s, v3, event(v3, "offered:1", "offered", t0.Add(time.Minute)))

	// v2 arrives late (a retried activity): its event is new, its snapshot
	// is stale and must not overwrite v3.
	v2 := snapshot(2, domain.StateMQL)
	v2.Score = 10
	record(t, s, v2, event(v2, "mql", "mql", t0.Add(30*time.Second)))
	// And v3 again, exactly as before: a no-op.
	record(t, s, v3, event(v3, "offered:1", "offered", t0.Add(time.Minute)))

	v, err := s.Lead(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.State != "Offered" || v.Score != 70 || v.Attempt != 1 || v.Owner == nil || v.Owner.ID != "ana" ||
		v.Owner.Name != "Ana Schmidt" || v.Owner.Email != "ana.schmidt@example.com" {
		t.Errorf("lead = %+v (owner %+v), want v3", v, v.Owner)
	}
	if v.OfferedAt == nil || !v.OfferedAt.Equal(v3.OfferedAt) || v.AcceptBy == nil || !v.AcceptBy.Equal(v3.AcceptBy) ||
		v.EscalatedAt != nil || v.AcceptedAt != nil {
		t.Errorf("times: offered %v, accept by %v, escalated %v, accepted %v", v.OfferedAt, v.AcceptBy, v.EscalatedAt, v.AcceptedAt)
	}
	if got := queryInt(t, s, `select version from leads where id = $1`, v1.ID); got != 3 {
		t.Errorf("version = %d, want 3", got)
	}
	if v.CampaignName != "Webinar Q3" || v.WorkflowID != v1.WorkflowID {
		t.Errorf("campaign %q, workflow %q", v.CampaignName, v.WorkflowID)
	}

	// The same version twice does not rewrite either (strictly newer only).
	same := v3
	same.State = domain.StateEscalated
	record(t, s, same, event(same, "offered:1", "offered", t0.Add(time.Minute)))
	if v, _ := s.Lead(ctx, v1.ID); v.State != "Offered" {
		t.Errorf("an equal version overwrote the snapshot: %s", v.State)
	}

	// A newer one does, and can clear the owner.
	v4 := snapshot(4, domain.StateUnroutable)
	record(t, s, v4, event(v4, "unroutable", "unroutable", t0.Add(2*time.Minute)))
	if v, _ := s.Lead(ctx, v1.ID); v.State != "Unroutable" || v.Owner != nil || v.OfferedAt != nil {
		t.Errorf("v4 not applied: %+v", v)
	}

	// Each event key was written once, whatever the retries.
	if n := queryInt(t, s, `select count(*) from lead_events where lead_id = $1`, v1.ID); n != 4 {
		t.Errorf("events = %d, want 4 (captured, offered, mql, unroutable)", n)
	}
	if n := queryInt(t, s, `select count(*) from lead_events where event_key = $1`, v1.ID+":offered:1"); n != 1 {
		t.Errorf("offered event rows = %d, want 1", n)
	}
	if got := queryString(t, s, `select data::text from lead_events where event_key = $1`, v1.ID+":captured"); got != "{}" {
		t.Errorf("nil data stored as %s, want {}", got)
	}
}

func TestRecordSameEventKeyOnce(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	l := snapshot(1, domain.StateCaptured)
	ev := event(l, "captured", "captured", t0)
	ev.Data = map[string]string{"source": "form"}
	record(t, s, l, ev)
	// The retry carries a different payload; the first write stands.
	ev2 := ev
	ev2.Data = map[string]string{"source": "retry"}
	ev2.Reason = "retried"
	record(t, s, l, ev2)
	if n := queryInt(t, s, `select count(*) from lead_events`); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	if got := queryString(t, s, `select data->>'source' from lead_events`); got != "form" {
		t.Errorf("source = %q, want the first write's", got)
	}
}

func TestLeadEventsAppendOnly(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(1, domain.StateCaptured)
	record(t, s, l, event(l, "captured", "captured", t0))

	for _, sql := range []string{
		`update lead_events set kind = 'tampered'`,
		`update lead_events set reason = 'x' where lead_id = '` + l.ID + `'`,
		`delete from lead_events`,
		`delete from lead_events where lead_id = '` + l.ID + `'`,
	} {
		_, err := s.Pool.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only error", sql, err)
		}
	}
	if got := queryString(t, s, `select kind from lead_events`); got != "captured" {
		t.Errorf("kind = %q after the refused update", got)
	}
	if n := queryInt(t, s, `select count(*) from lead_events`); n != 1 {
		t.Errorf("rows = %d after the refused delete", n)
	}
}

func kinds(evs []store.EventView) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func TestLeadViewEventOrder(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)

	if _, err := s.Lead(ctx, domain.LeadID("nobody@example.com")); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown lead: err = %v, want ErrNotFound", err)
	}

	// Written out of order: by time, then by seq within one instant.
	l := snapshot(5, domain.StateOffered)
	for _, e := range []struct {
		key  string
		seq  int64
		at   time.Time
		kind string
	}{
		{"e", 5, t0.Add(2 * time.Second), "fifth"},
		{"c", 4, t0.Add(time.Second), "fourth"},
		{"b", 3, t0.Add(time.Second), "third"},
		{"a", 1, t0, "first"},
		{"x", 2, t0.Add(time.Second), "second"},
	} {
		ev := domain.Event{Key: l.ID + ":" + e.key, Seq: e.seq, Kind: e.kind, Actor: "workflow", At: e.at,
			Reason: "because " + e.kind, Data: map[string]string{"k": e.key}}
		record(t, s, l, ev)
	}
	v, err := s.Lead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(v.Events), []string{"first", "second", "third", "fourth", "fifth"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	first := v.Events[0]
	if first.Actor != "workflow" || first.Reason != "because first" || first.Data["k"] != "a" || !first.At.Equal(t0) {
		t.Errorf("first event = %+v", first)
	}
}

func TestAppendEvent(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)

	if _, err := s.AppendEvent(ctx, domain.LeadID("nobody@example.com"), domain.Event{Key: "k", Kind: "touch", At: t0}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown lead: err = %v, want ErrNotFound", err)
	}

	l := snapshot(7, domain.StateAccepted)
	record(t, s, l, event(l, "accepted", "accepted", t0))
	touch := func(key string, at time.Time) {
		t.Helper()
		state, err := s.AppendEvent(ctx, l.ID, domain.Event{Key: l.ID + ":late-touch:" + key, Kind: "touch", Actor: "source:api", At: at})
		if err != nil {
			t.Fatalf("AppendEvent %s: %v", key, err)
		}
		if state != "Accepted" {
			t.Errorf("AppendEvent %s returned state %q", key, state)
		}
	}
	touches := func() int { return queryInt(t, s, `select touches from leads where id = $1`, l.ID) }

	touch("k1", t0.Add(time.Minute))
	if n := touches(); n != 2 {
		t.Errorf("touches = %d after one touch, want 2", n)
	}
	touch("k1", t0.Add(time.Minute)) // the same request, retried
	touch("k1", t0.Add(time.Minute))
	if n := touches(); n != 2 {
		t.Errorf("touches = %d after retries, want 2", n)
	}
	touch("k2", t0.Add(2*time.Minute))
	if n := touches(); n != 3 {
		t.Errorf("touches = %d after a second touch, want 3", n)
	}
	if n := queryInt(t, s, `select count(*) from lead_events where kind = 'touch'`); n != 2 {
		t.Errorf("touch events = %d, want 2", n)
	}
	// Appended events continue the lead's seq, and the snapshot is untouched.
	if got := queryString(t, s, `select string_agg(seq::text, ',' order by seq) from lead_events where lead_id = $1`, l.ID); got != "7,8,9" {
		t.Errorf("seqs = %s, want 7,8,9", got)
	}
	if got := queryInt(t, s, `select version from leads where id = $1`, l.ID); got != 7 {
		t.Errorf("version = %d, want 7", got)
	}
	v, err := s.Lead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(v.Events), []string{"accepted", "touch", "touch"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if v.Touches != 3 {
		t.Errorf("view touches = %d", v.Touches)
	}
	if got := queryString(t, s, `select string_agg(jsonb_typeof(data), ',') from lead_events where kind = 'touch'`); got != "object,object" {
		t.Errorf("touch data stored as %s, want JSON objects like Record writes", got)
	}
}
