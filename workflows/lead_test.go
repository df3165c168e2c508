package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

const window = time.Hour

// friday18 is a Friday evening in Berlin. These leads run under the default
// policy (the campaign's accept window, no business hours): wall time, so
// deadlines are exact.
var friday18 = time.Date(testYear, 11, 20, 17, 0, 0, 0, time.UTC)

type run struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *fakeStore
	mail  *fakeMailer
	start time.Time
}

func newRun(t *testing.T, reps ...string) *run {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(friday18)
	r := &run{t: t, env: env, store: newFakeStore(window, reps...), mail: &fakeMailer{}, start: friday18}
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(r.store, r.mail))
	// The first touch arrives with the start, as Update-with-Start does.
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateIntake, "touch-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("intake rejected: %v", err) },
			OnComplete: func(res any, err error) {
				if err != nil {
					t.Errorf("intake: %v", err)
				}
			},
		}, Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Company: "Acme", Score: 40})
	}, 0)
	return r
}

// acceptAt schedules a rep's click at an offset from the start and reports the
// outcome into *got (nil error means accepted).
func (r *run) acceptAt(after time.Duration, rep string, attempt int, got *error, at *time.Time) {
	r.env.RegisterDelayedCallback(func() {
		*at = r.env.Now()
		r.env.UpdateWorkflow(UpdateAccept, rep+"-click", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { *got = err },
			OnComplete: func(_ any, err error) {
				*got = err
				if err == nil { // the lead then waits for its outcome: convert it at once
					r.closeBy(rep)
				}
			},
		}, AcceptInput{RepID: rep, Attempt: attempt})
	}, after)
}

// closeBy converts the lead as its holder, so the run ends.
func (r *run) closeBy(rep string) {
	r.env.UpdateWorkflow(UpdateClose, rep+"-close", &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { r.t.Errorf("close rejected: %v", err) },
		OnComplete: func(_ any, err error) {},
	}, CloseInput{RepID: rep, Outcome: OutcomeConverted, Reference: "OPP-1"})
}

func (r *run) execute() domain.LeadSnapshot {
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test"})
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	if err := r.env.GetWorkflowError(); err != nil {
		r.t.Fatalf("workflow error: %v", err)
	}
	var out domain.LeadSnapshot
	if err := r.env.GetWorkflowResult(&out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func wantKinds(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
}

func TestAcceptedInTime(t *testing.T) {
	r := newRun(t, "ana", "bea")
	var err error = errors.New("no click")
	var at time.Time
	r.acceptAt(window-time.Minute, "ana", 1, &err, &at) // one minute before the deadline
	out := r.execute()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if out.State != domain.StateConverted || out.Owner.ID != "ana" || !out.AcceptedAt.Equal(friday18.Add(window-time.Minute)) {
		t.Fatalf("result %+v", out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "accepted", "converted")
	offers := r.mail.to("ana@example.com")
	if len(offers) != 1 || !strings.HasPrefix(offers[0].Subject, "Accept by Fri 19:00 — Dana Lee, Acme (Webinar Q3)") {
		t.Fatalf("offer mail: %+v", offers)
	}
	if len(offers[0].Links) != 2 || !strings.HasPrefix(offers[0].Links[0].URL, "http://baton.test/a/") || offers[0].Links[1].Label != "Decline" {
		t.Fatalf("offer links: %+v", offers[0].Links)
	}
	if offers[0].ReplyTo != "mo@example.com" {
		t.Fatalf("offer reply-to = %q, want the campaign owner", offers[0].ReplyTo)
	}
	if len(r.mail.to("bea@example.com"))+len(r.mail.to("max@example.com")) != 0 {
		t.Fatal("mail sent to someone who should not get any")
	}
}

func TestLateAcceptIsRejectedWithReason(t *testing.T) {
	r := newRun(t, "ana", "bea")
	var lateErr, beaErr error = errors.New("no click"), errors.New("no click")
	var lateAt, beaAt time.Time
	r.acceptAt(window+time.Minute, "ana", 1, &lateErr, &lateAt) // one minute after the deadline
	r.acceptAt(window+2*time.Minute, "bea", 2, &beaErr, &beaAt)
	out := r.execute()
	var ae *temporal.ApplicationError
	if !errors.As(lateErr, &ae) || ae.Type() != ErrStaleAction {
		t.Fatalf("late accept error = %v, want a %s", lateErr, ErrStaleAction)
	}
	if !strings.Contains(lateErr.Error(), "reassigned to Bea at Fri 20 Nov 18:00 UTC") {
		t.Fatalf("late accept reason %q does not say who holds the lead since when", lateErr)
	}
	if beaErr != nil || out.Owner.ID != "bea" || out.State != domain.StateConverted {
		t.Fatalf("bea's accept: %v; result %+v", beaErr, out)
	}
}

func TestReassignedOnceThenAccepted(t *testing.T) {
	r := newRun(t, "ana", "bea", "cy")
	var err error
	var at time.Time
	r.acceptAt(window+30*time.Minute, "bea", 2, &err, &at)
	out := r.execute()
	if err != nil || out.Owner.ID != "bea" || out.Attempt != 2 {
		t.Fatalf("accept: %v; %+v", err, out)
	}
	if !out.OfferedAt.Equal(friday18.Add(window)) || !out.AcceptBy.Equal(friday18.Add(2*window)) {
		t.Fatalf("second offer at %v by %v, want exactly one window after the first", out.OfferedAt, out.AcceptBy)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "lapsed", "offered", "accepted", "converted")
	notices := r.mail.to("ana@example.com")
	if len(notices) != 2 || notices[1].Kind != "reassigned" || !strings.Contains(notices[1].Text, "reassigned to Bea") {
		t.Fatalf("ana's mail: %+v", notices)
	}
}

func TestEscalatedToManagerAtTheSecondDeadline(t *testing.T) {
	r := newRun(t, "ana", "bea")
	var err error
	var at time.Time
	r.acceptAt(2*window+10*time.Minute, "bea", 2, &err, &at) // the holder may still accept
	var escalatedAt time.Time
	out := r.execute()
	if err != nil || out.State != domain.StateConverted {
		t.Fatalf("accept after escalation: %v; %+v", err, out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "lapsed", "offered", "lapsed", "escalated", "accepted", "converted")
	for _, e := range r.store.events {
		if e.Kind == "escalated" {
			escalatedAt = e.At
		}
	}
	if !escalatedAt.Equal(friday18.Add(2 * window)) {
		t.Fatalf("escalated at %v, want exactly %v", escalatedAt, friday18.Add(2*window))
	}
	esc := r.mail.to("max@example.com")
	if len(esc) != 1 || esc[0].Kind != "escalation" || !strings.Contains(esc[0].Subject, "Bea missed the acceptance SLA") {
		t.Fatalf("manager mail: %+v", esc)
	}
}

func TestNurtureUntilScoreMeetsTheBar(t *testing.T) {
	r := newRun(t, "ana")
	r.store.campaign.MinScore = 50
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(UpdateIntake, "touch-2", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("second touch rejected: %v", err) }, OnComplete: func(any, error) {},
		}, Touch{Campaign: "webinar-q3", Email: "dana@acme.example", Score: 60})
	}, 3*time.Hour)
	var err error
	var at time.Time
	r.acceptAt(3*time.Hour+time.Minute, "ana", 1, &err, &at)
	out := r.execute()
	if err != nil || out.Touches != 2 || out.Score != 60 {
		t.Fatalf("accept: %v; %+v", err, out)
	}
	wantKinds(t, r.store.kinds(), "captured", "nurturing", "touch", "mql", "offered", "accepted", "converted")
}

func TestSingleRepTeamEscalatesWithoutReassigning(t *testing.T) {
	r := newRun(t, "ana")
	var err error
	var at time.Time
	r.acceptAt(window+time.Minute, "ana", 1, &err, &at)
	out := r.execute()
	if err != nil || out.Owner.ID != "ana" {
		t.Fatalf("accept: %v; %+v", err, out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "lapsed", "escalated", "accepted", "converted")
}

// With Update-with-Start the first touch is in the input and in the update;
// it must count once, and the update must answer "new".
func TestFirstTouchFromInputCountsOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(friday18)
	st, m := newFakeStore(window, "ana"), &fakeMailer{}
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(st, m))
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Score: 40}
	var intake IntakeResult
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateIntake, "touch-req-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) },
			OnComplete: func(res any, err error) {
				if err != nil {
					t.Errorf("intake: %v", err)
				}
				intake = res.(IntakeResult)
			},
		}, first)
	}, 0)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAccept, "click", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("accept rejected: %v", err) }, OnComplete: func(any, error) { closeAs(env, t, "ana") },
		}, AcceptInput{RepID: "ana", Attempt: 1})
	}, time.Minute)
	env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	var out domain.LeadSnapshot
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Touches != 1 || !intake.New || intake.Touches != 1 {
		t.Fatalf("touches %d, intake %+v", out.Touches, intake)
	}
	wantKinds(t, st.kinds(), "captured", "mql", "offered", "accepted", "converted")
}

// Signal-with-Start (`Prefer: respond-async`): the first touch is in the input
// and in the signal and counts once; a later signalled touch raises the score
// over the bar and the lead goes on to be offered.
func TestSignalledTouchesCountOnceAndQualify(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(friday18)
	st, m := newFakeStore(window, "ana"), &fakeMailer{}
	st.campaign.MinScore = 50
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(st, m))
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Score: 40}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalTouch, first) }, 0)
	later := Touch{ID: "req-2", Campaign: "webinar-q3", Email: "dana@acme.example", Company: "Acme", Score: 70}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalTouch, later) }, time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalTouch, later) }, time.Hour+time.Second) // a retried webhook
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAccept, "click", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("accept rejected: %v", err) }, OnComplete: func(any, error) { closeAs(env, t, "ana") },
		}, AcceptInput{RepID: "ana", Attempt: 1})
	}, time.Hour+time.Minute)
	env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	var out domain.LeadSnapshot
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Touches != 2 || out.Score != 70 || out.Company != "Acme" || out.State != domain.StateConverted {
		t.Fatalf("got %+v", out)
	}
	wantKinds(t, st.kinds(), "captured", "nurturing", "touch", "mql", "offered", "accepted", "converted")
}

func closeAs(env *testsuite.TestWorkflowEnvironment, t *testing.T, rep string) {
	env.UpdateWorkflow(UpdateClose, rep+"-close", &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { t.Errorf("close rejected: %v", err) },
		OnComplete: func(_ any, err error) {},
	}, CloseInput{RepID: rep, Outcome: OutcomeConverted, Reference: "OPP-1"})
}
