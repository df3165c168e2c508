package workflows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// nextRun returns the input of the run a workflow continued as new into.
func nextRun(t *testing.T, env *testsuite.TestWorkflowEnvironment) *LeadInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		return nil
	}
	var next LeadInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return &next
}

// An accepted lead in a long cycle takes 2,000 touches and engagement events
// (one a second) before its first contact. Each run takes at most its bound
// of them (plus the few that arrive while it drains), then continues as new
// with the whole state; the first-contact clock runs on across runs, every
// input is recorded once, and the lead ends converted.
func TestAcceptedLeadLongCycleContinuesAsNew(t *testing.T) {
	const total, perRun = 2000, 500
	r := newLifeRun(t, "ana", "bea")
	st, m := r.store, r.mail
	var resume *LeadRun
	start := r.start
	sent := 0 // inputs delivered so far, in order
	var contactBy time.Time
	runs := 0
	for ; runs < 10; runs++ {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(start)
		env.RegisterWorkflow(LeadWorkflow)
		env.RegisterActivity(newActivities(st, m))
		at := func(when time.Time, f func()) { env.RegisterDelayedCallback(f, when.Sub(start)) }
		if runs == 0 {
			at(nyAt(20, 16, 40), func() {
				env.UpdateWorkflow(UpdateAccept, "acc", &testsuite.TestUpdateCallback{
					OnReject: func(err error) { t.Errorf("accept: %v", err) }, OnComplete: func(any, error) {}}, AcceptInput{RepID: "ana", Attempt: 1})
			})
		}
		took := 0
		from := sent
		for i := from; i < min(total, from+perRun+20); i++ { // a run takes at most its bound and a few more
			i := i
			when := nyAt(20, 16, 41).Add(time.Duration(i) * time.Second)
			if when.Before(start) {
				when = start.Add(time.Second)
			}
			at(when, func() {
				if env.IsWorkflowCompleted() || i != sent {
					return
				}
				sent++
				took++
				if i%2 == 0 {
					env.SignalWorkflow(SignalTouch, Touch{ID: fmt.Sprintf("t-%d", i), Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40})
				} else {
					env.SignalWorkflow(SignalEngagement, EngagementEvent{ID: fmt.Sprintf("e-%d", i), Type: "page_view", Points: 1, Source: "site"})
				}
			})
		}
		// After the last input: first contact Monday, then the outcome.
		at(nyAt(23, 9, 30), func() {
			if env.IsWorkflowCompleted() {
				return
			}
			env.UpdateWorkflow(UpdateContact, "contact", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("contact: %v", err) }, OnComplete: func(any, error) {}}, ContactInput{RepID: "ana", Channel: "call"})
		})
		at(nyAt(23, 9, 31), func() {
			if env.IsWorkflowCompleted() {
				return
			}
			env.UpdateWorkflow(UpdateClose, "close", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("close: %v", err) }, OnComplete: func(any, error) {}},
				CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-L"})
		})
		first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Score: 40}
		in := LeadInput{LeadID: "ld_test", First: &first, MaxTouchesPerRun: perRun, Resume: resume}
		if resume != nil {
			in.First = nil
		}
		env.ExecuteWorkflow(LeadWorkflow, in)
		if took > perRun+5 {
			t.Errorf("run %d took %d inputs, bound %d", runs+1, took, perRun)
		}
		next := nextRun(t, env)
		if next == nil {
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("run %d: %v", runs+1, err)
			}
			break
		}
		resume, start = next.Resume, env.Now()
		if resume.Lead.State != domain.StateAccepted || resume.Lead.Owner.ID != "ana" {
			t.Fatalf("run %d handed over %s held by %s", runs+1, resume.Lead.State, resume.Lead.Owner.ID)
		}
		if contactBy.IsZero() {
			contactBy = resume.Lead.ContactBy
		} else if !resume.Lead.ContactBy.Equal(contactBy) {
			t.Errorf("contact deadline moved across runs: %s then %s", contactBy, resume.Lead.ContactBy)
		}
		if len(resume.SeenIDs) > DedupeWindow {
			t.Errorf("run %d carried %d seen ids, window %d", runs+1, len(resume.SeenIDs), DedupeWindow)
		}
	}
	if runs < total/perRun-1 {
		t.Errorf("%d runs for %d inputs at %d a run", runs+1, total, perRun)
	}
	count := map[string]int{}
	for _, k := range st.kinds() {
		count[k]++
	}
	if count["touch"] != total/2 || count["engagement"] != total/2 || count["contact-due"] != 1 || count["converted"] != 1 {
		t.Errorf("events %v: want %d touches, %d engagements, one contact-due, converted", count, total/2, total/2)
	}
	if st.lead.State != domain.StateConverted {
		t.Errorf("stored state %s", st.lead.State)
	}
}

// The dedupe window of touch ids: within a run every id counts once; across
// continue-as-new the last DedupeWindow ids are remembered (a retried webhook
// of a recent touch is a no-op in the next run), older ones are forgotten.
func TestTouchIDDedupeWindowAcrossContinueAsNew(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.MinScore = 100 // nurture, so the run continues as new on its bound
	n := DedupeWindow + 10
	for i := 0; i < n; i++ {
		tc := Touch{ID: fmt.Sprintf("req-%d", i+2), Campaign: "webinar-q3", Email: "dana@acme.example", Score: 10}
		r.at(nyAt(21, 10, 0).Add(time.Duration(i)*time.Second), func() { r.env.SignalWorkflow(SignalTouch, tc) })
	}
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 10}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first, MaxTouchesPerRun: n})
	next := nextRun(t, r.env)
	if next == nil || len(next.Resume.SeenIDs) != DedupeWindow {
		t.Fatalf("next run %+v, want %d seen ids carried", next, DedupeWindow)
	}
	touches := next.Resume.Lead.Touches
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(nyAt(22, 10, 0))
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(r.store, r.mail))
	results := map[string]IntakeResult{}
	for _, id := range []string{fmt.Sprintf("req-%d", n+1), "req-1", "req-2"} { // the newest: remembered; the oldest: forgotten
		id := id
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateIntake, id, &testsuite.TestUpdateCallback{OnReject: func(err error) { t.Errorf("%s: %v", id, err) },
				OnComplete: func(v any, err error) { results[id] = v.(IntakeResult) }},
				Touch{ID: id, Campaign: "webinar-q3", Email: "dana@acme.example", Score: 10})
		}, time.Minute)
	}
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(LeadWorkflow, *next)
	if got := results[fmt.Sprintf("req-%d", n+1)].Touches; got != touches {
		t.Errorf("a retried recent touch counted again: touches %d, want %d", got, touches)
	}
	if got := results["req-2"].Touches; got != touches+2 {
		t.Errorf("touches after two forgotten ids %d, want %d (ids older than the window make new touches)", got, touches+2)
	}
}

// A person already a lead of campaign A answers campaign B: the lead stays
// A's (A's policy and team route it, and its running offer keeps its clock);
// the touch is recorded with campaign B, which B's numbers credit
// (domain.AggregateCampaign, store.CampaignStats).
func TestTouchFromASecondCampaignIsRecordedForIt(t *testing.T) {
	r := newLifeRun(t, "ana")
	var touch, acc, closeErr error
	r.update(nyAt(20, 16, 35), UpdateIntake, Touch{ID: "b-1", Campaign: "ebook-q3", Email: "dana@acme.example", Score: 90}, &touch)
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-B"}, &closeErr)
	out := r.execute()
	if touch != nil || acc != nil || closeErr != nil {
		t.Fatalf("touch %v accept %v close %v", touch, acc, closeErr)
	}
	if out.CampaignID != "webinar-q3" || out.Policy != "office" || !out.AcceptBy.Equal(nyAt(23, 12, 30)) {
		t.Errorf("lead campaign %s policy %s accept by %s: want webinar-q3's, unchanged", out.CampaignID, out.Policy, out.AcceptBy)
	}
	var credited bool
	for _, e := range r.store.events {
		if e.Kind == "touch" && e.Data["campaign"] == "ebook-q3" && e.Data["lead_campaign"] == "webinar-q3" {
			credited = true
		}
	}
	if !credited {
		t.Errorf("the second campaign's touch is not recorded with its campaign: %v", r.store.events)
	}
}
