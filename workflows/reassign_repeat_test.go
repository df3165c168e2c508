package workflows

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/domain"
)

// Issue 15, finding 2: one manager "send to the next rep" link used three
// times (re-encoded) before the acceptance deadline. Every move must be in
// the event log, and no event may say someone missed a deadline that had not
// passed.
func TestRepeatedManagerReassignsAreAllRecordedTruthfully(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var first, second, third, take, closeErr error
	// Ana is offered Fri 16:30; her deadline is Mon 12:30. The manager moves
	// the lead three times on Monday morning.
	r.update(nyAt(23, 9, 0), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "move 1"}, &first)
	r.update(nyAt(23, 9, 10), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "move 2"}, &second)
	r.update(nyAt(23, 9, 20), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "move 3"}, &third)
	r.update(nyAt(23, 9, 30), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "max", TakeOver: true, Reason: "mine"}, &take)
	r.update(nyAt(23, 9, 40), UpdateClose, CloseInput{RepID: "max", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	r.execute()
	t.Logf("first %v, second %v, third %v, take %v, close %v", first, second, third, take, closeErr)
	var moves []string
	for _, e := range r.store.events {
		t.Logf("%s %s %s %q %v", e.At.In(ny).Format("Mon 15:04"), e.Key, e.Kind, e.Reason, e.Data)
		if e.Kind == "reassigned" {
			moves = append(moves, e.Reason)
		}
		if strings.Contains(e.Reason, "missed") && e.At.Before(nyAt(23, 12, 30)) {
			t.Errorf("%s at %s says %q before any deadline passed", e.Kind, e.At.In(ny).Format("Mon 15:04"), e.Reason)
		}
	}
	var want []string
	for i, err := range []error{first, second, third, take} {
		if err == nil {
			want = append(want, []string{"move 1", "move 2", "move 3", "mine"}[i])
		}
	}
	if strings.Join(moves, ",") != strings.Join(want, ",") {
		t.Errorf("reassigned events %v, want one per accepted move %v", moves, want)
	}
	_ = domain.StateOffered
}
