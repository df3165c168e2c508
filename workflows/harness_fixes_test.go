package workflows

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
)

// F1: an absence under out_of_office: reassign, with nobody else in the team
// eligible, is not answered yes: the lead stays with the holder, and the
// answer says so.
func TestAwayWithNobodyElseIsNotAnsweredYes(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.Policy.OutOfOffice = domain.AwayReassign
	var away, accept, closeErr error
	r.update(nyAt(20, 16, 35), UpdateAway, AwayInput{RepID: "ana", Until: nyAt(23, 17, 0)}, &away)
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &accept)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	out := r.execute()
	if away == nil || !strings.Contains(away.Error(), "Nobody else") {
		t.Fatalf("away answered %v; want a refusal saying nobody else can take the lead", away)
	}
	if accept != nil || closeErr != nil || out.Owner.ID != "ana" {
		t.Fatalf("accept %v, close %v, owner %s", accept, closeErr, out.Owner.ID)
	}
}

// F4: a second bounce of the same offer, with nobody else to take the lead,
// is the same fact: one "unreachable" event, one alert, no key written twice.
func TestSecondBounceWithNobodyElseIsOneUnreachable(t *testing.T) {
	r := newLifeRun(t, "ana")
	written := map[string]domain.Event{}
	r.store.failRecord = func(ev domain.Event) error {
		if prev, ok := written[ev.Key]; ok && (prev.Kind != ev.Kind || !prev.At.Equal(ev.At)) {
			t.Errorf("event key %s written twice: %s at %s, then %s at %s", ev.Key, prev.Kind, prev.At, ev.Kind, ev.At)
		}
		written[ev.Key] = ev
		return nil
	}
	bounce := MailBounce{Key: "ld_test:offer:accept:1:0:ana", Kind: mail.KindOffer, Email: "ana@example.com", Attempt: 1, Event: "bounce"}
	r.at(nyAt(20, 16, 35), func() { r.env.SignalWorkflow(SignalMailBounced, bounce) })
	dropped := bounce
	dropped.Event = "dropped"
	r.at(nyAt(20, 16, 50), func() { r.env.SignalWorkflow(SignalMailBounced, dropped) })
	var accept, closeErr error
	r.update(nyAt(20, 17, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &accept)
	r.update(nyAt(20, 17, 5), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	r.execute()
	if accept != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", accept, closeErr)
	}
	n := 0
	for _, e := range r.store.events {
		if e.Kind == "unreachable" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d unreachable events, want 1", n)
	}
}

// F7: a take-over in flight when an erasure lands is answered (the move did
// not happen), and the run ends erased.
func TestTakeOverInFlightWhenAnErasureLands(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	takeOver, erase := error(nil), error(nil)
	r.update(nyAt(20, 16, 35), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "max", TakeOver: true, Reason: "I know them"}, &takeOver)
	r.update(nyAt(20, 16, 35), UpdateErase, EraseInput{Actor: "admin:ops", Reason: domain.EraseReasons[0]}, &erase)
	out := r.execute()
	if erase != nil || out.State != domain.StateErased {
		t.Fatalf("erase %v, state %s", erase, out.State)
	}
	if takeOver != nil && takeOver.Error() == "not sent" {
		t.Fatal("the take-over was never answered")
	}
}
