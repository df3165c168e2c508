package web

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// Issue 16: the links of a missed first contact explain themselves on the
// GET, before any tap, from the lead as recorded.
func TestMissedFirstContactLinksExplainThemselves(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	missed := func() store.LeadView {
		return store.LeadView{State: "Accepted", Attempt: 1, ContactBy: &past, AcceptedAt: &past,
			Owner: &store.OwnerView{ID: "ana", Name: "Ana Schmidt"}}
	}
	claim := func(action string) token.Claims {
		return token.Claims{Lead: "ld_x", Actor: "max", Action: action, Attempt: 1}
	}
	cases := []struct {
		name   string
		lead   func() store.LeadView
		action string
		want   string // "" when the action still applies
	}{
		{"missed: hand", missed, "hand", ""},
		{"missed: take over", missed, "hand-self", ""},
		{"missed: extend", missed, "extend-contact", ""},
		{"missed: nudge", missed, "nudge", ""},
		{"not overdue yet", func() store.LeadView { l := missed(); l.ContactBy = &future; return l }, "hand", "has not passed"},
		{"extended since", func() store.LeadView {
			l := missed()
			l.ContactBy = &future
			l.Events = []store.EventView{{Kind: "extended", At: past}}
			return l
		}, "nudge", "was extended on"},
		{"extended before, missed again", func() store.LeadView {
			l := missed()
			l.Events = []store.EventView{{Kind: "extended", At: past}}
			return l
		}, "extend-contact", "already extended once"},
		{"handed on since", func() store.LeadView {
			l := missed()
			l.Attempt, l.Owner = 2, &store.OwnerView{ID: "bea", Name: "Bea Ortiz"}
			l.Events = []store.EventView{{Kind: "handed", At: past}}
			return l
		}, "hand-self", "handed to Bea Ortiz"},
		{"contacted", func() store.LeadView { l := missed(); l.State, l.ContactedAt = "Contacted", &past; return l }, "nudge", "logged a first contact"},
		{"closed", func() store.LeadView { l := missed(); l.State = "Converted"; return l }, "hand", "Converted now"},
		{"escalated offer: nudge", func() store.LeadView {
			return store.LeadView{State: "Escalated", Attempt: 1, Owner: &store.OwnerView{ID: "ana", Name: "Ana Schmidt"}}
		}, "nudge", ""},
		{"escalated offer accepted since", func() store.LeadView {
			l := missed()
			l.ContactBy = &future
			return l
		}, "nudge", "accepted this lead on"},
		{"escalated offer moved on", func() store.LeadView {
			return store.LeadView{State: "Escalated", Attempt: 2, OfferedAt: &past, Owner: &store.OwnerView{ID: "bea", Name: "Bea Ortiz"}}
		}, "nudge", "went to Bea Ortiz"},
	}
	for _, c := range cases {
		got := staleText(c.lead(), claim(c.action), "Europe/Berlin", now)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s (%s): %q, want %q", c.name, c.action, got, c.want)
		}
	}
}

// A manager sees the missed-first-contact actions only once the deadline
// passed with no contact; the rep holding it sees their own.
func TestMissedFirstContactRowActions(t *testing.T) {
	signer, _ := token.NewSigner([]byte(strings.Repeat("k", 32)))
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := &Server{Signer: signer, Now: func() time.Time { return now }}
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	labels := func(v store.Viewer, l store.InboxLead) string {
		var out []string
		for _, a := range s.rowActions(v, l) {
			out = append(out, a.Label)
		}
		return strings.Join(out, ",")
	}
	mgr := store.Viewer{PersonID: "max", Role: store.RoleManager}
	l := store.InboxLead{ID: "ld_x", State: "Accepted", OwnerID: "ana", Attempt: 1, ContactBy: &past}
	if got := labels(mgr, l); got != "Hand to a rep,Take over,Extend,Nudge the rep" {
		t.Errorf("missed: %q", got)
	}
	l.ContactBy = &future
	if got := labels(mgr, l); got != "" {
		t.Errorf("not overdue: %q", got)
	}
	l.ContactBy, l.ContactedAt = &past, &past
	if got := labels(mgr, l); got != "" {
		t.Errorf("contacted: %q", got)
	}
	esc := store.InboxLead{ID: "ld_y", State: "Escalated", OwnerID: "ana", Attempt: 2}
	if got := labels(mgr, esc); got != "Hand to a rep,Take over,Nudge the rep" {
		t.Errorf("escalated: %q", got)
	}
}
