package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// R1. An accept that lands after the accept timer fired but before the next
// offer is made (here: while the leader-alert mail is being sent) is
// answered "accepted", and then the lead is offered to the next rep anyway.
func TestReviewAcceptAfterLapseIsConfirmedThenOverwritten(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.campaign.Policy.LeaderAlert = domain.LeaderAlert{Misses: 1, Within: domain.Duration(7 * 24 * time.Hour)}
	real := newActivities(r.store, r.mail)
	// Every Notify takes one (mock) minute, as a SendGrid call takes time.
	r.env.OnActivity("Notify", mock.Anything, mock.Anything).After(time.Minute).
		Return(func(ctx context.Context, in activities.NotifyInput) error { return real.Notify(ctx, in) })
	var ana, bea, closeErr error
	// Deadline Mon 12:30; ana clicks 30 s later, while the leader alert is sent.
	r.update(nyAt(23, 12, 30).Add(30*time.Second), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &ana)
	r.update(nyAt(23, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 13, 5), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-X"}, &closeErr)
	out := r.execute()
	t.Logf("ana accept err=%v, bea accept err=%v, final owner=%s state=%s", ana, bea, out.Owner.ID, out.State)
	t.Logf("events: %v", r.store.kinds())
	if ana == nil && out.Owner.ID != "ana" {
		t.Fatalf("ana was told her accept succeeded, but the lead went to %s (%s)", out.Owner.ID, out.State)
	}
}

// R2. A touch (Update-with-Start / intake update) that arrives while an
// erasure is running writes the person's data back after the purge.
func TestReviewTouchDuringErasureRewritesPersonalData(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.MinScore = 100 // nurture
	real := newActivities(r.store, r.mail)
	r.env.OnActivity("Erase", mock.Anything, mock.Anything).After(time.Minute).
		Return(func(ctx context.Context, id string) error { return real.Erase(ctx, id) })
	var erase, touch error
	r.update(r.start.Add(time.Hour), UpdateErase, EraseInput{Actor: "source:form", Reason: "erasure-request"}, &erase)
	r.update(r.start.Add(time.Hour+30*time.Second), UpdateIntake,
		Touch{ID: "req-2", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Company: "Acme", Country: "DE", Score: 10}, &touch)
	out := r.execute()
	t.Logf("erase err=%v touch err=%v; result name=%q company=%q; stored lead name=%q company=%q country=%q state=%s",
		erase, touch, out.Name, out.Company, r.store.lead.Name, r.store.lead.Company, r.store.lead.Country, r.store.lead.State)
	if r.store.lead.Name != "" || r.store.lead.Company != "" || r.store.lead.Country != "" {
		t.Fatalf("erased lead's stored row carries personal data again: %+v", r.store.lead)
	}
}

// R3. A campaign end that arrives while the last check of a run is being made
// deadlocks the continue-as-new drain: the end handler waits for the phase
// "ended", the main loop waits for all handlers to finish.
func TestReviewCampaignEndDuringLastCheckDeadlocks(t *testing.T) {
	c := livePlan()
	c.Commitments.Every = domain.Duration(time.Hour)
	r := newCampaignRun(t, c)
	r.env.OnActivity("CampaignNumbers", mock.Anything, mock.Anything).After(5 * time.Minute).
		Return(func(_ context.Context, in activities.CampaignNumbersInput) (domain.CampaignStats, error) {
			return domain.CampaignStats{From: in.From, To: in.To, Target: in.Target, MQLs: 20}, nil
		})
	end := errors.New("end never completed")
	r.update(time.Hour+2*time.Minute, UpdateCampaignEnd, &end, CampaignEndInput{Actor: "owner:mo@example.com"})
	var phase string
	r.env.RegisterDelayedCallback(func() {
		phase = r.view().Phase
		r.env.CancelWorkflow()
	}, 30*24*time.Hour)
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3", MaxChecksPerRun: 1})
	t.Logf("30 days after the end request: phase=%s end=%v workflow err=%v statuses=%v", phase, end, r.env.GetWorkflowError(), r.store.status)
	if end != nil {
		t.Fatalf("campaign end requested at 1h02 never completed (%v); phase after 30 days: %s", end, phase)
	}
}

// hookStore counts AssignTo calls and can stop the run.
type hookStore struct {
	*fakeStore
	assignTo atomic.Int64
	onAssign func(n int64)
}

func (h *hookStore) AssignTo(ctx context.Context, leadID string, attempt int, teamID, repID string) (domain.Assignment, error) {
	n := h.assignTo.Add(1)
	if h.onAssign != nil {
		h.onAssign(n)
	}
	return h.fakeStore.AssignTo(ctx, leadID, attempt, teamID, repID)
}

// R4. A manager's reassignment of an unroutable lead to someone routing
// cannot assign (not an active rep of the campaign's team) spins: pending is
// never cleared, so nobodyEligible returns at once and Assign runs again, with
// no timer in between.
func TestReviewUnroutableReassignToUnknownRepSpins(t *testing.T) {
	r := newLifeRun(t) // nobody eligible
	h := &hookStore{fakeStore: r.store}
	var stopped atomic.Bool
	h.onAssign = func(n int64) {
		if n == 500 && stopped.CompareAndSwap(false, true) {
			r.env.CancelWorkflow()
		}
	}
	acts := newActivities(r.store, r.mail)
	acts.Store = h
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(r.start)
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(acts)
	r.env = env
	var mv error
	r.update(nyAt(23, 9, 0), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "ghost", Reason: "give it to ghost"}, &mv)
	// The lead then retries routing on its timer for ever: stop after a week
	// (without this the test waits out the test environment's timeout).
	r.at(nyAt(30, 9, 0), func() { env.CancelWorkflow() })
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40}
	env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	t.Logf("AssignTo calls: %d; mock time now %s (reassign sent Mon 09:00); reassign result %v; wf err %v",
		h.assignTo.Load(), env.Now().In(ny).Format("Mon 15:04:05"), mv, env.GetWorkflowError())
	if h.assignTo.Load() >= 500 {
		t.Fatalf("%d AssignTo calls without time passing: the workflow spins", h.assignTo.Load())
	}
}

// R5. A decline while the lead is escalated sets the state to MQL, but the
// escalation chain only wakes on accept or a manager's move: with no sales
// leader, the lead is stranded in MQL, and the manager can no longer move it.
func TestReviewDeclineWhileEscalatedStrandsTheLead(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.campaign.SalesLeader = domain.PersonRef{}
	var rej, mv error
	// ana lapses Mon 12:30, bea lapses Mon 16:30 → escalated (bea holds it).
	r.update(nyAt(23, 17, 0), UpdateReject, RejectInput{RepID: "bea", Attempt: 2, Reason: "no-capacity"}, &rej)
	r.update(nyAt(30, 10, 0), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "back to the pool"}, &mv)
	var state domain.LeadState
	r.at(nyAt(30, 10, 1), func() {
		v, _ := r.env.QueryWorkflow(QueryLead)
		var s domain.LeadSnapshot
		_ = v.Get(&s)
		state = s.State
		r.env.CancelWorkflow()
	})
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	t.Logf("decline err=%v; a week later: state=%s, manager reassign err=%v; events %v", rej, state, mv, r.store.kinds())
	if rej == nil && mv != nil {
		t.Fatalf("declined while escalated: a week later the lead is %s and the manager cannot move it: %v", state, mv)
	}
}

// failingMailer refuses reminders (a retryable error, e.g. SendGrid 5xx)
// for the first n attempts of each activity.
type failingMailer struct {
	*fakeMailer
	n int32
}

func (m failingMailer) Deliver(ctx context.Context, msg store.Message) error {
	if msg.Kind == "reminder" && activity.GetInfo(ctx).Attempt <= m.n {
		// As SendGrid.Deliver answers while an earlier call's outcome is unknown
		// (or a 429 with a long X-RateLimit-Reset): retry in 15 minutes.
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("sendgrid: outcome of %s unknown", msg.Key), mail.ErrUnconfirmed,
			temporal.ApplicationErrorOptions{NextRetryDelay: 15 * time.Minute})
	}
	return m.fakeMailer.Deliver(ctx, msg)
}

// R6. A mail outage while a reminder is due holds the deadline: the lapse is
// recorded only when the reminder finally goes out.
func TestReviewMailOutageDelaysTheBreach(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	acts := newActivities(r.store, r.mail)
	acts.Mailer = failingMailer{fakeMailer: r.mail, n: 9} // the test env stops at 10 attempts; production retries forever
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(r.start)
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(acts)
	r.env = env
	var bea, closeErr error
	r.update(nyAt(24, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(24, 13, 1), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-M"}, &closeErr)
	r.execute()
	lapsed := r.eventAt("lapsed", 1)
	t.Logf("deadline Mon 12:30, lapse recorded %s; accept %v close %v", lapsed.In(ny).Format("Mon 15:04:05"), bea, closeErr)
	wantAt(t, "lapse despite a mail outage", lapsed, nyAt(23, 12, 30))
}

// R7. A converted lead re-submitted after its closed run has left Temporal's
// retention: REJECT_DUPLICATE no longer applies, a fresh run starts with the
// same lead id, and every business key collides with the first life.
func TestReviewResubmittedAfterRetentionCollidesWithFirstLife(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var acc, closeErr error
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	r.execute()
	mailsBefore := len(r.mail.to("ana@example.com")) + len(r.mail.to("bea@example.com"))
	eventsBefore := len(r.store.events)

	// Months later (retention expired): same person, same id, new run.
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := nyAt(20, 16, 30).Add(90 * 24 * time.Hour)
	env.SetStartTime(start)
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(r.store, r.mail))
	var view domain.LeadSnapshot
	env.RegisterDelayedCallback(func() {
		v, _ := env.QueryWorkflow(QueryLead)
		_ = v.Get(&view)
		env.CancelWorkflow()
	}, time.Minute)
	first := Touch{ID: "req-new", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Score: 60}
	env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	mailsAfter := len(r.mail.to("ana@example.com")) + len(r.mail.to("bea@example.com"))
	t.Logf("new run: workflow says %s to %s (attempt %d); new events stored %d; new offer mails %d; stored row state=%s",
		view.State, view.Owner.ID, view.Attempt, len(r.store.events)-eventsBefore, mailsAfter-mailsBefore, r.store.lead.State)
	if view.State == domain.StateOffered && mailsAfter == mailsBefore {
		t.Fatalf("second life: offered to %s but no offer was sent (ledger key reused), %d new events, stored state %s",
			view.Owner.ID, len(r.store.events)-eventsBefore, r.store.lead.State)
	}
}

// R8. An away update does not check for a pending reassignment and replaces
// the manager's pick with the system's "back to routing".
func TestReviewAwayOverwritesAManagersPick(t *testing.T) {
	r := newLifeRun(t, "ana", "bea", "cy")
	real := newActivities(r.store, r.mail)
	r.env.OnActivity("Notify", mock.Anything, mock.Anything).After(10 * time.Minute).
		Return(func(ctx context.Context, in activities.NotifyInput) error { return real.Notify(ctx, in) })
	var mv, away error
	var got domain.LeadSnapshot
	r.at(nyAt(20, 16, 31), func() { // while ana's offer mail is still being sent
		r.env.UpdateWorkflow(UpdateReassign, "mv", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { mv = err },
			OnComplete: func(v any, err error) {
				mv = err
				if err == nil {
					got = v.(domain.LeadSnapshot)
				}
			},
		}, ReassignInput{ManagerID: "max", ToRep: "cy", Reason: "Cy knows Acme"})
	})
	r.update(nyAt(20, 16, 32), UpdateAway, AwayInput{RepID: "ana", Until: nyAt(27, 17, 0)}, &away)
	r.at(nyAt(20, 17, 30), func() { r.env.CancelWorkflow() })
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	t.Logf("manager reassign to cy: err=%v, answered owner=%s; away err=%v", mv, got.Owner.ID, away)
	if mv == nil && got.Owner.ID != "cy" {
		t.Fatalf("the manager was told the reassignment to cy succeeded, but the lead went to %q", got.Owner.ID)
	}
}

// R9. escalateChain arms the next level with due.Sub(now), where now was taken
// before the record and the escalation mail: the next level is late by the
// time the mail took.
func TestReviewEscalationLevelTwoDriftsByMailTime(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	real := newActivities(r.store, r.mail)
	r.env.OnActivity("Notify", mock.Anything, mock.Anything).After(10 * time.Minute).
		Return(func(ctx context.Context, in activities.NotifyInput) error { return real.Notify(ctx, in) })
	var bea, closeErr error
	r.update(nyAt(24, 14, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(24, 14, 1), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-D"}, &closeErr)
	r.execute()
	wantAt(t, "level 1", r.eventAt("escalated", 1), nyAt(23, 16, 30))
	wantAt(t, "level 2 one window after level 1", r.eventAt("escalated", 2), nyAt(24, 12, 30))
}
