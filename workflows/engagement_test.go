package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
)

// A nurturing lead's engagement events add points once per event id; the
// event that reaches the campaign's bar makes it an MQL, and it is routed.
func TestEngagementCrossingTheBarQualifiesAndRoutes(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.MinScore = 50 // the first touch scores 40: nurturing
	signal := func(when time.Time, ev EngagementEvent) {
		r.at(when, func() { r.env.SignalWorkflow(SignalEngagement, ev) })
	}
	signal(nyAt(20, 16, 40), EngagementEvent{ID: "pv-1", Type: "page_view", Points: 1, Source: "site"})
	signal(nyAt(20, 16, 45), EngagementEvent{ID: "pv-1", Type: "page_view", Points: 1, Source: "site"}) // a retry: ignored
	signal(nyAt(20, 16, 50), EngagementEvent{ID: "web-1", Type: "webinar_attended", Points: 15, Source: "zoom"})
	var acc, closed error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 9, 30), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-7"}, &closed)
	out := r.execute()
	if acc != nil || closed != nil {
		t.Fatalf("accept %v, close %v", acc, closed)
	}
	if out.Score != 56 {
		t.Errorf("score %d, want 40 + 1 + 15 = 56 (the repeated event counted once)", out.Score)
	}
	wantKinds(t, r.store.kinds(), "captured", "nurturing", "engagement", "engagement", "mql", "offered", "accepted", "contact-due", "converted")
	wantAt(t, "mql", r.eventAt("mql", 1), nyAt(20, 16, 50))
	wantAt(t, "offer", r.eventAt("offered", 1), nyAt(20, 16, 50))
	if r.store.lead.Owner.ID != "ana" {
		t.Errorf("owner %+v, want ana", r.store.lead.Owner)
	}
}

// nurturingWithSlowRecord is a nurturing lead (first touch 40, bar 50) whose
// first three records of the given kind fail, as with the database away: the
// record lands seconds after the score changed.
func nurturingWithSlowRecord(t *testing.T, kind string) (*lifeRun, *int) {
	r := newLifeRun(t, "ana")
	r.store.campaign.MinScore = 50
	fails := 0
	r.store.failRecord = func(ev domain.Event) error {
		if ev.Kind == kind && fails < 3 {
			fails++
			return errors.New("connect: connection refused")
		}
		return nil
	}
	return r, &fails
}

// An engagement whose record is retried (the database away for a moment) is
// stored before the MQL it caused: a reader who sees the lead qualified or
// offered also sees the event that raised its score. The main run went on
// from the new score at once, so the timeline lacked the engagement until
// its retry landed (TestDefaultStartAnswerReadsBackPending caught it).
func TestEngagementIsStoredBeforeTheMQLItCaused(t *testing.T) {
	r, fails := nurturingWithSlowRecord(t, "engagement")
	r.at(nyAt(20, 16, 40), func() {
		r.env.SignalWorkflow(SignalEngagement, EngagementEvent{ID: "web-1", Type: "webinar_attended", Points: 15, Source: "zoom"})
	})
	var acc, closed error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 9, 30), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-7"}, &closed)
	out := r.execute()
	if acc != nil || closed != nil || out.Score != 55 || *fails != 3 {
		t.Fatalf("accept %v, close %v, score %d, %d failures", acc, closed, out.Score, *fails)
	}
	var stored []string
	for _, e := range r.store.events {
		stored = append(stored, e.Kind)
	}
	wantKinds(t, stored[:5], "captured", "nurturing", "engagement", "mql", "offered")
}

// The same for a later touch that brings the score over the bar, by update
// or by signal: its record lands before the MQL.
func TestTouchIsStoredBeforeTheMQLItCaused(t *testing.T) {
	for _, bySignal := range []bool{false, true} {
		r, fails := nurturingWithSlowRecord(t, "touch")
		second := Touch{ID: "req-2", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 60}
		var touch, acc, closed error
		if bySignal {
			r.at(nyAt(20, 16, 40), func() { r.env.SignalWorkflow(SignalTouch, second) })
		} else {
			r.update(nyAt(20, 16, 40), UpdateIntake, second, &touch)
		}
		r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
		r.update(nyAt(23, 9, 30), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-7"}, &closed)
		out := r.execute()
		if touch != nil || acc != nil || closed != nil || out.Score != 60 || *fails != 3 {
			t.Fatalf("signal %v: touch %v, accept %v, close %v, score %d, %d failures", bySignal, touch, acc, closed, out.Score, *fails)
		}
		var stored []string
		for _, e := range r.store.events {
			stored = append(stored, e.Kind)
		}
		wantKinds(t, stored[:5], "captured", "nurturing", "touch", "mql", "offered")
	}
}
