package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
)

// Issue 16: a manager's actions on an accepted lead whose first contact was
// missed (hand to a named rep, take over, extend, nudge), and the nudge of an
// escalated offer. Under officePolicy, Ana accepts Fri 16:45: first contact
// due Mon 10:45 (2 business hours), reminded Mon 9:45, breached and
// escalated to Max Mon 10:45, to Sam (the leader) at 12:45.

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	if err == nil {
		return "ok"
	}
	return "other"
}

// wantRefused checks an answer is the refusal of a type whose message says what.
func wantRefused(t *testing.T, name string, err error, typ, says string) {
	t.Helper()
	if errType(err) != typ || !strings.Contains(err.Error(), says) {
		t.Errorf("%s: %v (type %s), want a %s saying %q", name, err, errType(err), typ, says)
	}
}

func (r *lifeRun) eventsOf(kind string) []domain.Event {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	var out []domain.Event
	for _, e := range r.store.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func mailKinds(m *fakeMailer, email string) []string {
	var out []string
	for _, x := range m.to(email) {
		out = append(out, x.Kind)
	}
	return out
}

func TestManagerHandsAMissedLeadToANamedRep(t *testing.T) {
	r := newLifeRun(t, "ana", "bea", "cy")
	var acc, early, byRep, ghost, staleAttempt, control, noReason, hand, again, oldHolder, beaContact, closeErr error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 10, 0), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 1, Reason: "early"}, &early)
	r.update(nyAt(23, 11, 0), UpdateHand, HandInput{ManagerID: "cy", ToRep: "bea", Attempt: 1, Reason: "mine"}, &byRep)
	r.update(nyAt(23, 11, 1), UpdateHand, HandInput{ManagerID: "max", ToRep: "ghost", Attempt: 1, Reason: "x"}, &ghost)
	r.update(nyAt(23, 11, 2), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 2, Reason: "x"}, &staleAttempt)
	r.update(nyAt(23, 11, 3), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 1, Reason: "out\x07sick"}, &control)
	r.update(nyAt(23, 11, 4), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 1}, &noReason)
	r.update(nyAt(23, 11, 5), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 1, Reason: "Ana is out sick"}, &hand)
	r.update(nyAt(23, 11, 6), UpdateHand, HandInput{ManagerID: "max", ToRep: "cy", Attempt: 1, Reason: "again"}, &again)
	r.update(nyAt(23, 11, 7), UpdateContact, ContactInput{RepID: "ana", Channel: "call"}, &oldHolder)
	r.update(nyAt(23, 12, 50), UpdateContact, ContactInput{RepID: "bea", Channel: "call"}, &beaContact)
	r.update(nyAt(23, 12, 51), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-7"}, &closeErr)
	out := r.execute()
	wantRefused(t, "before the deadline", early, ErrStaleAction, "has not passed")
	wantRefused(t, "a rep", byRep, ErrStaleAction, "Only the team's manager")
	wantRefused(t, "to a stranger", ghost, ErrStaleAction, "not an active rep")
	wantRefused(t, "stale attempt", staleAttempt, ErrStaleAction, "handed to")
	wantRefused(t, "control character", control, "InvalidInput", "control character")
	wantRefused(t, "no reason", noReason, "InvalidInput", "reason is required")
	wantRefused(t, "second hand-over", again, ErrStaleAction, "handed to Bea")
	wantRefused(t, "old holder's contact", oldHolder, ErrStaleAction, "held by Bea")
	for name, err := range map[string]error{"accept": acc, "hand": hand, "contact": beaContact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if out.Owner.ID != "bea" || out.Attempt != 2 || out.State != domain.StateConverted || !out.ContactBy.Equal(nyAt(23, 13, 5)) {
		t.Fatalf("result %+v", out)
	}
	h := r.eventsOf("handed")
	if len(h) != 1 || !h[0].At.Equal(nyAt(23, 11, 5)) || h[0].Data["from"] != "ana" || h[0].Data["to"] != "bea" ||
		h[0].Actor != "manager:max" || h[0].Reason != "Ana is out sick" {
		t.Fatalf("handed events %+v", h)
	}
	// Bea's fresh clock: 2 business hours from 11:05, reminded half-way; the
	// old chain stopped (no level 2 to the leader at 12:45).
	wantAt(t, "Bea's reminder", r.eventAt("reminded", 2), nyAt(23, 12, 5))
	if esc := r.eventsOf("escalated"); len(esc) != 1 {
		t.Fatalf("escalations %+v", esc)
	}
	if got := mailKinds(r.mail, "bea@example.com"); strings.Join(got, ",") != "handed,reminder" {
		t.Fatalf("bea's mail %v", got)
	}
	if got := mailKinds(r.mail, "ana@example.com"); strings.Join(got, ",") != "offer,reminder,reassigned" {
		t.Fatalf("ana's mail %v", got)
	}
	handed := r.mail.to("bea@example.com")[0]
	if len(handed.Links) != 2 || handed.Links[0].Label != "Log contact" || !strings.Contains(handed.Text, "Max Manager handed you") {
		t.Fatalf("handed mail %+v", handed)
	}
}

// The new holder misses too: the new clock breaches and escalates on keys of
// its own; the manager then takes the lead over.
func TestHandedLeadMissedAgainThenTakenOver(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var acc, hand, notLeader, take, contact, closeErr error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 11, 0), UpdateHand, HandInput{ManagerID: "max", ToRep: "bea", Attempt: 1, Reason: "Ana is away"}, &hand)
	r.update(nyAt(23, 13, 30), UpdateHand, HandInput{ManagerID: "sam", ToRep: "sam", TakeOver: true, Attempt: 2, Reason: "x"}, &notLeader)
	r.update(nyAt(23, 13, 31), UpdateHand, HandInput{ManagerID: "max", ToRep: "max", TakeOver: true, Attempt: 2, Reason: "I know them"}, &take)
	r.update(nyAt(23, 14, 0), UpdateContact, ContactInput{RepID: "max", Channel: "call"}, &contact)
	r.update(nyAt(23, 14, 1), UpdateClose, CloseInput{RepID: "max", Outcome: OutcomeConverted, Reference: "OPP-8"}, &closeErr)
	out := r.execute()
	wantRefused(t, "the leader's take-over", notLeader, ErrStaleAction, "Only the team's manager")
	for name, err := range map[string]error{"accept": acc, "hand": hand, "take": take, "contact": contact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Bea's clock: due 13:00; breached and escalated then.
	br := r.eventsOf("breached")
	if len(br) != 2 || !br[1].At.Equal(nyAt(23, 13, 0)) || br[1].Data["rep"] != "bea" || br[1].Key == br[0].Key {
		t.Fatalf("breaches %+v", br)
	}
	esc := r.eventsOf("escalated")
	if len(esc) != 2 || !esc[1].At.Equal(nyAt(23, 13, 0)) || esc[1].Key == esc[0].Key {
		t.Fatalf("escalations %+v", esc)
	}
	if out.Owner.ID != "max" || out.Attempt != 3 || out.State != domain.StateConverted {
		t.Fatalf("result %+v", out)
	}
	h := r.eventsOf("handed")
	if len(h) != 2 || h[1].Data["takeover"] != "true" || h[1].Data["to"] != "max" {
		t.Fatalf("handed %+v", h)
	}
	// Two escalation mails to Max (one per chain), none lost to a reused key.
	if got := mailKinds(r.mail, "max@example.com"); strings.Join(got, ",") != "escalation,escalation" {
		t.Fatalf("max's mail %v", got)
	}
}

func TestManagerExtendsAMissedFirstContact(t *testing.T) {
	r := newLifeRun(t, "ana")
	var acc, early, tooLong, ext, again, contact, closeErr error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 10, 0), UpdateExtendContact, ExtendContactInput{ManagerID: "max", Attempt: 1, By: time.Hour, Reason: "x"}, &early)
	r.update(nyAt(23, 11, 0), UpdateExtendContact, ExtendContactInput{ManagerID: "max", Attempt: 1, By: 3 * time.Hour, Reason: "x"}, &tooLong)
	r.update(nyAt(23, 11, 1), UpdateExtendContact, ExtendContactInput{ManagerID: "max", Attempt: 1, By: time.Hour, Reason: "prospect travels"}, &ext)
	r.update(nyAt(23, 11, 2), UpdateExtendContact, ExtendContactInput{ManagerID: "max", Attempt: 1, By: time.Hour, Reason: "again"}, &again)
	r.update(nyAt(23, 16, 0), UpdateContact, ContactInput{RepID: "ana", Channel: "call"}, &contact)
	r.update(nyAt(23, 16, 1), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeRecycled, Reason: "not-ready"}, &closeErr)
	out := r.execute()
	wantRefused(t, "before the deadline", early, ErrStaleAction, "has not passed")
	wantRefused(t, "beyond the policy", tooLong, "InvalidInput", "first-contact window, 2h0m0s")
	wantRefused(t, "twice", again, ErrStaleAction, "already extended once")
	for name, err := range map[string]error{"accept": acc, "extend": ext, "contact": contact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// New deadline 12:01; missed again: breach and escalation to Max at
	// 12:01, to Sam two business hours later (14:01); the old chain's 12:45
	// level never fires.
	br := r.eventsOf("breached")
	if len(br) != 2 || !br[1].At.Equal(nyAt(23, 12, 1)) {
		t.Fatalf("breaches %+v", br)
	}
	esc := r.eventsOf("escalated")
	if len(esc) != 3 || !esc[1].At.Equal(nyAt(23, 12, 1)) || !esc[2].At.Equal(nyAt(23, 14, 1)) || esc[2].Data["to"] != "sam" {
		t.Fatalf("escalations %+v", esc)
	}
	ex := r.eventsOf("extended")
	if len(ex) != 1 || ex[0].Data["phase"] != "contact" || ex[0].Data["to"] != stamp(nyAt(23, 12, 1)) {
		t.Fatalf("extended %+v", ex)
	}
	if out.State != domain.StateRecycled {
		t.Fatalf("result %+v", out)
	}
}

func TestManagerNudgesTheRepAfterAMissedFirstContact(t *testing.T) {
	r := newLifeRun(t, "ana")
	var acc, early, wrongAttempt, n1, n1again, n2, control, contact, closeErr error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 10, 0), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c0"}, &early)
	r.update(nyAt(23, 11, 0), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 3, ClickID: "cx"}, &wrongAttempt)
	r.update(nyAt(23, 11, 1), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c1", Note: "they asked for a call"}, &n1)
	r.update(nyAt(23, 11, 2), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c1", Note: "they asked for a call"}, &n1again)
	r.update(nyAt(23, 11, 3), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c2", Note: "bad\u202enote"}, &control)
	r.update(nyAt(23, 11, 4), UpdateNudge, NudgeInput{ManagerID: "sam", Attempt: 1, ClickID: "c3"}, &n2)
	more := make([]error, MaxNudges)
	for i := range more {
		r.update(nyAt(23, 11, 10+i), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "m" + string(rune('a'+i))}, &more[i])
	}
	r.update(nyAt(23, 11, 30), UpdateContact, ContactInput{RepID: "ana", Channel: "call"}, &contact)
	r.update(nyAt(23, 11, 31), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-9"}, &closeErr)
	r.execute()
	wantRefused(t, "before the deadline", early, ErrStaleAction, "has not passed")
	wantRefused(t, "another holder's", wrongAttempt, ErrStaleAction, "handed to")
	wantRefused(t, "bidi control", control, "InvalidInput", "bidirectional control")
	for name, err := range map[string]error{"accept": acc, "nudge": n1, "same click": n1again, "leader's nudge": n2, "contact": contact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Two nudges went out before: three more fit, the sixth is refused.
	for i, err := range more {
		if i < MaxNudges-2 && err != nil {
			t.Fatalf("nudge %d: %v", i+3, err)
		}
		if i >= MaxNudges-2 {
			wantRefused(t, "a nudge too many", err, ErrStaleAction, "already nudged 5 times")
		}
	}
	nd := r.eventsOf("nudged")
	if len(nd) != MaxNudges || nd[0].Actor != "manager:max" || nd[0].Data["note"] != "they asked for a call" || nd[1].Actor != "manager:sam" {
		t.Fatalf("nudged events %+v", nd)
	}
	var nudges []string
	for _, m := range r.mail.to("ana@example.com") {
		if m.Kind == domain.KindNudge {
			nudges = append(nudges, m.Subject)
			if m.Links[0].Label != "Log contact" {
				t.Fatalf("nudge links %+v", m.Links)
			}
		}
	}
	if len(nudges) != MaxNudges || !strings.HasPrefix(nudges[0], "Max Manager asks") || !strings.HasPrefix(nudges[1], "Sam Leader asks") {
		t.Fatalf("nudge mails %v", nudges)
	}
}

// A lead escalated before acceptance: the nudge carries the accept link, and
// the holder can still accept.
func TestManagerNudgesAnEscalatedOffer(t *testing.T) {
	r := newLifeRun(t, "ana")
	var offered, nudge, acc, closeErr error
	r.update(nyAt(23, 10, 0), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c0"}, &offered)
	r.update(nyAt(23, 13, 0), UpdateNudge, NudgeInput{ManagerID: "max", Attempt: 1, ClickID: "c1"}, &nudge)
	r.update(nyAt(23, 13, 10), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 13, 11), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	r.execute()
	wantRefused(t, "a running offer", offered, ErrStaleAction, "this action is for an accepted lead")
	if nudge != nil || acc != nil || closeErr != nil {
		t.Fatalf("nudge %v, accept %v, close %v", nudge, acc, closeErr)
	}
	var got []string
	for _, m := range r.mail.to("ana@example.com") {
		if m.Kind == domain.KindNudge {
			got = append(got, m.Links[0].Label)
			if !strings.Contains(m.Text, "You can still accept it") {
				t.Fatalf("nudge text %q", m.Text)
			}
		}
	}
	if strings.Join(got, ",") != "Accept lead" {
		t.Fatalf("nudge mails' links %v", got)
	}
	if nd := r.eventsOf("nudged"); len(nd) != 1 || nd[0].Data["phase"] != "accept" {
		t.Fatalf("nudged %+v", nd)
	}
}

func TestDisqualifyCarriesTheRepsNote(t *testing.T) {
	r := newLifeRun(t, "ana")
	var acc, long, control, dq error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 9, 10), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeDisqualified, Reason: "student", Note: strings.Repeat("x", 1001)}, &long)
	r.update(nyAt(23, 9, 11), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeDisqualified, Reason: "student", Note: "term\x1b[2J"}, &control)
	r.update(nyAt(23, 9, 12), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeDisqualified, Reason: "student", Note: "Thesis research, no budget"}, &dq)
	r.execute()
	wantRefused(t, "long note", long, "InvalidInput", "longer than 1000")
	wantRefused(t, "control note", control, "InvalidInput", "control character")
	if acc != nil || dq != nil {
		t.Fatalf("accept %v, disqualify %v", acc, dq)
	}
	if d := r.eventsOf("disqualified"); len(d) != 1 || d[0].Data["note"] != "Thesis research, no budget" || d[0].Reason != "student" {
		t.Fatalf("disqualified %+v", d)
	}
}
