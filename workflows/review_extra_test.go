package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/stretchr/testify/mock"
)

// R6, the rest of it: a reminder whose retries run out (SendGrid answering
// "outcome unknown" every time) becomes a mail-failed event and an alert to
// the manager, and the clock did not wait: the lapse is at the deadline.
func TestNoticeThatExhaustsItsRetriesIsRecordedAndAlerted(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.withMailer(failingMailer{fakeMailer: r.mail, n: 100})
	var bea, closeErr error
	r.update(nyAt(24, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(24, 13, 1), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-M"}, &closeErr)
	r.execute()
	wantAt(t, "lapse", r.eventAt("lapsed", 1), nyAt(23, 12, 30))
	failed := r.eventAt("mail-failed", 1)
	if !failed.After(nyAt(23, 10, 30)) {
		t.Errorf("mail-failed recorded at %s, before the reminder's retries ran", failed)
	}
	alerts := 0
	for _, m := range r.mail.to("max@example.com") {
		if m.Kind == "rep-unreachable" {
			alerts++
		}
	}
	if alerts == 0 {
		t.Errorf("the manager was not alerted; mail to max: %v", kindsOf(r.mail.to("max@example.com")))
	}
}

// R6: the "reassigned" notice runs beside the next offer: with every message
// taking ten minutes to send, bea's offer is made at ana's deadline and her
// window counts from it.
func TestReassignedNoticeNeverDelaysTheNextOffer(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	real := newActivities(r.store, r.mail)
	r.env.OnActivity("Notify", mock.Anything, mock.Anything).After(10 * time.Minute).
		Return(func(ctx context.Context, in activities.NotifyInput) error { return real.Notify(ctx, in) })
	var bea, closeErr error
	r.update(nyAt(23, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 13, 1), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-N"}, &closeErr)
	out := r.execute()
	if bea != nil || closeErr != nil {
		t.Fatalf("accept %v close %v", bea, closeErr)
	}
	wantAt(t, "second offer", r.eventAt("offered", 2), nyAt(23, 12, 30))
	wantAt(t, "bea's deadline", out.AcceptBy, nyAt(23, 16, 30))
	if got := kindsOf(r.mail.to("ana@example.com")); len(got) < 2 || got[len(got)-1] != "reassigned" {
		t.Errorf("ana's mail %v, want the reassigned notice", got)
	}
}

// R5's other door: a decline when nobody else in the team is eligible leaves
// the lead escalated (the manager is told), where the manager can still move
// it; under a policy that does not escalate too.
func TestDeclineWithNobodyElseLeavesTheManagerAbleToAct(t *testing.T) {
	for _, escalate := range []bool{true, false} {
		r := newLifeRun(t, "ana")
		r.store.campaign.Policy.OnMiss.Escalate = escalate
		var rej, take error
		r.update(nyAt(20, 16, 40), UpdateReject, RejectInput{RepID: "ana", Attempt: 1, Reason: "no-capacity"}, &rej)
		r.update(nyAt(23, 9, 0), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "max", TakeOver: true, Reason: "mine"}, &take)
		r.at(nyAt(23, 9, 1), func() { r.env.CancelWorkflow() })
		first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40}
		r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
		if rej != nil || take != nil || r.store.lead.Owner.ID != "max" {
			t.Errorf("escalate=%v: decline %v, take-over %v, owner %s; events %v", escalate, rej, take, r.store.lead.Owner.ID, r.store.kinds())
		}
		if len(r.mail.to("max@example.com")) == 0 {
			t.Errorf("escalate=%v: the manager was not told", escalate)
		}
	}
}
