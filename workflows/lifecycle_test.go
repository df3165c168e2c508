package workflows

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

var ny, _ = time.LoadLocation("America/New_York")

// nyAt is a wall time in New York in the week of Friday 20 November of
// testYear.
func nyAt(day, hour, min int) time.Time { return time.Date(testYear, 11, day, hour, min, 0, 0, ny) }

// testYear is the first year after this one whose calendar is 2026's (the
// same weekdays and New York DST dates), so the tests' weeks keep their shape.
// The mocked clock must not fall a week behind the real one: the SDK's test
// environment counts a local activity's schedule-to-close (localRetryFor)
// from the mocked clock but ends the attempt by the real one, so a retried
// database step then failed at once with "deadline exceeded (StartToClose)".
// Fixed dates in November 2026 failed CI that way on 27 November 2026.
var testYear = calendarLike(2026, time.Now().Year()+1)

// calendarLike is the first year from `from` on that starts on the same
// weekday as year and is a leap year exactly when it is.
func calendarLike(year, from int) int {
	leap := func(y int) bool { return time.Date(y, 2, 29, 0, 0, 0, 0, time.UTC).Month() == 2 }
	day := func(y int) time.Weekday { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Weekday() }
	for y := from; ; y++ {
		if day(y) == day(year) && leap(y) == leap(year) {
			return y
		}
	}
}

func officePolicy() *domain.Policy {
	p := &domain.Policy{
		Name: "office", AcceptWithin: domain.Duration(4 * time.Hour), FirstContactWithin: domain.Duration(2 * time.Hour),
		Reminders: []float64{0.5}, OnMiss: domain.OnMiss{Reassign: 1, Escalate: true}, Calendar: domain.CalendarRep,
		BusinessHours: bizclock.Spec{Hours: map[string][]string{
			"mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "wed": {"09:00-17:00"}, "thu": {"09:00-17:00"}, "fri": {"09:00-17:00"}}},
	}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

type lifeRun struct {
	*run
	start time.Time
}

// newLifeRun starts a lead at Friday 16:30 New York under a 4-business-hour
// acceptance SLA on 09:00–17:00, with reps in New York.
func newLifeRun(t *testing.T, reps ...string) *lifeRun {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := nyAt(20, 16, 30)
	env.SetStartTime(start)
	st := newFakeStore(time.Hour, reps...)
	for i := range st.reps {
		st.reps[i].TimeZone = "America/New_York"
	}
	st.manager.TimeZone = "America/New_York"
	st.campaign.Policy = officePolicy()
	st.campaign.SalesLeader = domain.PersonRef{ID: "sam", Name: "Sam Leader", Email: "sam@example.com", TimeZone: "America/New_York"}
	r := &lifeRun{run: &run{t: t, env: env, store: st, mail: &fakeMailer{}, start: start}, start: start}
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(r.store, r.mail))
	return r
}

// withMailer gives the run a fresh environment whose activities send
// through m (a mailer that fails in some way around r.mail).
func (r *lifeRun) withMailer(m mail.Mailer) *lifeRun {
	acts := newActivities(r.store, r.mail)
	acts.Mailer = m
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(r.start)
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(acts)
	r.env = env
	return r
}

func (r *lifeRun) at(when time.Time, f func()) { r.env.RegisterDelayedCallback(f, when.Sub(r.start)) }

// update sends an update at an instant and stores its outcome in *got.
func (r *lifeRun) update(when time.Time, name string, arg any, got *error) {
	*got = errors.New("not sent")
	r.at(when, func() {
		r.env.UpdateWorkflow(name, name+when.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { *got = err }, OnComplete: func(_ any, err error) { *got = err },
		}, arg)
	})
}

func (r *lifeRun) execute() domain.LeadSnapshot {
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Company: "Acme", Score: 40}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
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

// eventAt returns the instant of the n-th (1-based) event of a kind.
func (r *lifeRun) eventAt(kind string, n int) time.Time {
	r.t.Helper()
	seen := 0
	for _, e := range r.store.events {
		if e.Kind == kind {
			if seen++; seen == n {
				return e.At
			}
		}
	}
	r.t.Fatalf("no %s event #%d; events %v", kind, n, r.store.kinds())
	return time.Time{}
}

func wantAt(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s at %s, want %s", what, got.In(ny).Format("Mon 15:04:05 MST"), want.In(ny).Format("Mon 15:04:05 MST"))
	}
}

// The worked example of the lead-engine issue: Friday 16:30 New York, 4
// business hours on 09:00–17:00. Half an hour counts on Friday; the rest on
// Monday, so the reminder (half-way) is Monday 10:30 and the breach 12:30.
func TestFridayEveningLeadRemindedAndBreachedOnMonday(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var bea, contact, closeErr error
	r.update(nyAt(24, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea) // late, after level 2
	r.update(nyAt(24, 14, 30), UpdateContact, ContactInput{RepID: "bea", Channel: "call", Note: "left a voicemail"}, &contact)
	r.update(nyAt(24, 15, 0), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-42"}, &closeErr)
	out := r.execute()
	for name, err := range map[string]error{"accept": bea, "contact": contact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	wantAt(t, "first reminder", r.eventAt("reminded", 1), nyAt(23, 10, 30))
	wantAt(t, "first breach", r.eventAt("lapsed", 1), nyAt(23, 12, 30))
	wantAt(t, "second offer", r.eventAt("offered", 2), nyAt(23, 12, 30))
	wantAt(t, "second reminder", r.eventAt("reminded", 2), nyAt(23, 14, 30))
	wantAt(t, "second breach", r.eventAt("lapsed", 2), nyAt(23, 16, 30))
	wantAt(t, "escalation to the manager", r.eventAt("escalated", 1), nyAt(23, 16, 30))
	// Level 2 one more window later: 30 min on Monday, 3h30 on Tuesday.
	wantAt(t, "escalation to the sales leader", r.eventAt("escalated", 2), nyAt(24, 12, 30))
	// After the 13:00 accept, first contact is due 2 business hours later;
	// the reminder half-way did fire at 14:00, the contact at 14:30 was in time.
	wantAt(t, "first-contact reminder", r.eventAt("reminded", 3), nyAt(24, 14, 0))
	if out.State != domain.StateConverted || out.Reason != "OPP-42" || !out.ContactBy.Equal(nyAt(24, 15, 0)) {
		t.Fatalf("result: %+v", out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "reminded", "lapsed", "offered", "reminded", "lapsed",
		"escalated", "escalated", "accepted", "contact-due", "reminded", "contacted", "converted")
	if m := r.mail.to("sam@example.com"); len(m) != 1 || !strings.Contains(m[0].Text, "escalation level 2") {
		t.Fatalf("leader mail: %+v", m)
	}
	if m := r.mail.to("ana@example.com"); len(m) != 3 || m[1].Kind != "reminder" || m[1].Subject != "Reminder: accept by Mon 12:30 — Dana Lee, Acme (Webinar Q3)" {
		t.Fatalf("ana's mail: %+v", m)
	}
}

func TestAcceptOneMinuteBeforeTheBusinessDeadline(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var before, closeErr error
	r.update(nyAt(23, 12, 29), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &before)
	r.update(nyAt(23, 12, 40), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeDisqualified, Reason: "student"}, &closeErr)
	out := r.execute()
	if before != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", before, closeErr)
	}
	if out.Owner.ID != "ana" || out.State != domain.StateDisqualified || out.Reason != "student" {
		t.Fatalf("result %+v", out)
	}
}

func TestAcceptOneMinuteAfterTheBusinessDeadlineIsRefused(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var late, bea, closeErr error
	r.update(nyAt(23, 12, 31), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &late)
	r.update(nyAt(23, 12, 32), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 12, 33), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeRecycled, Reason: "not-ready"}, &closeErr)
	out := r.execute()
	var ae *temporal.ApplicationError
	if !errors.As(late, &ae) || ae.Type() != ErrStaleAction || !strings.Contains(late.Error(), "reassigned to Bea") {
		t.Fatalf("late accept: %v", late)
	}
	if bea != nil || closeErr != nil || out.State != domain.StateRecycled {
		t.Fatalf("bea %v, close %v, %+v", bea, closeErr, out)
	}
}

func TestRejectWithReasonGoesStraightToTheNextRep(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var rej, bad, bea, closeErr error
	r.update(nyAt(20, 16, 40), UpdateReject, RejectInput{RepID: "ana", Attempt: 1, Reason: "nope"}, &bad)
	r.update(nyAt(20, 16, 41), UpdateReject, RejectInput{RepID: "ana", Attempt: 1, Reason: "not-my-territory"}, &rej)
	r.update(nyAt(20, 16, 50), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(20, 16, 55), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	out := r.execute()
	if bad == nil || !strings.Contains(bad.Error(), `reason "nope"`) {
		t.Fatalf("bad reason accepted: %v", bad)
	}
	if rej != nil || bea != nil || closeErr != nil {
		t.Fatalf("reject %v, accept %v, close %v", rej, bea, closeErr)
	}
	wantAt(t, "second offer", r.eventAt("offered", 2), nyAt(20, 16, 41))
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "rejected", "offered", "accepted", "contact-due", "converted")
	if out.Owner.ID != "bea" {
		t.Fatalf("owner %s", out.Owner.ID)
	}
	if len(r.mail.to("ana@example.com")) != 1 {
		t.Fatal("a rep who declined got a reassigned notice")
	}
}

func TestFirstContactMissedEscalates(t *testing.T) {
	r := newLifeRun(t, "ana")
	var acc, wrong, contact, closeErr error
	r.update(nyAt(20, 16, 45), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 11, 0), UpdateContact, ContactInput{RepID: "bea", Channel: "call"}, &wrong)
	r.update(nyAt(23, 11, 1), UpdateContact, ContactInput{RepID: "ana", Channel: "email"}, &contact)
	r.update(nyAt(23, 11, 2), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeRecycled, Reason: "no-response"}, &closeErr)
	out := r.execute()
	if acc != nil || contact != nil || closeErr != nil || wrong == nil {
		t.Fatalf("accept %v, wrong rep %v, contact %v, close %v", acc, wrong, contact, closeErr)
	}
	// Accepted Fri 16:45: 15 min on Friday, 1h45 on Monday → due Mon 10:45.
	wantAt(t, "first-contact breach", r.eventAt("breached", 1), nyAt(23, 10, 45))
	wantAt(t, "escalation", r.eventAt("escalated", 1), nyAt(23, 10, 45))
	if out.State != domain.StateRecycled || out.EscalationLevel != 1 {
		t.Fatalf("result %+v", out)
	}
	if m := r.mail.to("max@example.com"); len(m) != 1 || !strings.Contains(m[0].Subject, "first-contact SLA") {
		t.Fatalf("manager mail %+v", m)
	}
}

func TestDeadlinesQueryShowsTimeLeft(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var view DeadlinesView
	var qerr error = errors.New("not queried")
	r.at(nyAt(23, 11, 0), func() {
		v, err := r.env.QueryWorkflow(QueryDeadlines)
		if qerr = err; err == nil {
			qerr = v.Get(&view)
		}
	})
	var acc, closeErr error
	r.update(nyAt(23, 11, 5), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 11, 6), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "X"}, &closeErr)
	r.execute()
	if qerr != nil {
		t.Fatal(qerr)
	}
	if view.State != domain.StateOffered || view.Owner.ID != "ana" || len(view.Deadlines) != 1 ||
		view.Deadlines[0].Name != "accept" || !view.Deadlines[0].Due.Equal(nyAt(23, 12, 30)) || view.Deadlines[0].Left != 90*time.Minute ||
		len(view.Recent) != 4 || view.Recent[3].Kind != "reminded" || !view.Recent[3].At.Equal(nyAt(23, 10, 30)) {
		t.Fatalf("deadlines at Mon 11:00: %+v", view)
	}
}

func TestManagerReassignsByHandAndExtendsOnce(t *testing.T) {
	r := newLifeRun(t, "ana", "bea", "cy")
	var notManager, toCy, extend, again, lapsedAccept, cyAccept, closeErr error
	r.update(nyAt(23, 9, 30), UpdateReassign, ReassignInput{ManagerID: "ana", ToRep: "cy", Reason: "mine now"}, &notManager)
	r.update(nyAt(23, 10, 0), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "cy", Reason: "Cy knows Acme"}, &toCy)
	// Cy's deadline: 4 business hours from Mon 10:00 = 14:00; extended by 1h → 15:00.
	r.update(nyAt(23, 11, 0), UpdateExtend, ExtendInput{ManagerID: "max", By: time.Hour, Reason: "Cy is at a customer"}, &extend)
	r.update(nyAt(23, 11, 1), UpdateExtend, ExtendInput{ManagerID: "max", By: time.Hour, Reason: "again"}, &again)
	r.update(nyAt(23, 14, 30), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &lapsedAccept)
	r.update(nyAt(23, 14, 59), UpdateAccept, AcceptInput{RepID: "cy", Attempt: 2}, &cyAccept)
	r.update(nyAt(23, 15, 10), UpdateClose, CloseInput{RepID: "cy", Outcome: OutcomeConverted, Reference: "OPP-3"}, &closeErr)
	out := r.execute()
	if notManager == nil || !strings.Contains(notManager.Error(), "Only the team's manager") {
		t.Fatalf("a rep reassigned: %v", notManager)
	}
	if again == nil || !strings.Contains(again.Error(), "already extended once") {
		t.Fatalf("second extension: %v", again)
	}
	if lapsedAccept == nil || !strings.Contains(lapsedAccept.Error(), "reassigned to Cy") {
		t.Fatalf("ana's old click: %v", lapsedAccept)
	}
	for name, err := range map[string]error{"reassign": toCy, "extend": extend, "accept": cyAccept, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	wantAt(t, "offer to Cy", r.eventAt("offered", 2), nyAt(23, 10, 0))
	if out.Owner.ID != "cy" || out.State != domain.StateConverted || !out.AcceptBy.Equal(nyAt(23, 15, 0)) {
		t.Fatalf("result %+v", out)
	}
	// Ana's reminder (Mon 10:30) never comes: the lead left her at 10:00.
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "reassigned", "offered", "extended", "reminded",
		"accepted", "contact-due", "converted")
	if m := r.mail.to("ana@example.com"); len(m) != 2 || m[1].Kind != "reassigned" {
		t.Fatalf("ana's mail: %+v", m)
	}
}

func TestExtendedDeadlineLapsesAtTheNewInstant(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var extend, bea, closeErr error
	r.update(nyAt(23, 11, 0), UpdateExtend, ExtendInput{ManagerID: "sam", By: 30 * time.Minute, Reason: "traffic"}, &extend)
	r.update(nyAt(23, 13, 30), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 13, 31), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeRecycled, Reason: "not-ready"}, &closeErr)
	r.execute()
	if extend != nil || bea != nil || closeErr != nil {
		t.Fatalf("extend %v, accept %v, close %v", extend, bea, closeErr)
	}
	wantAt(t, "breach after the extension", r.eventAt("lapsed", 1), nyAt(23, 13, 0))
}

func TestManagerSendsAnEscalatedLeadBackToRouting(t *testing.T) {
	r := newLifeRun(t, "ana", "bea", "cy")
	var back, cy, closeErr error
	r.update(nyAt(23, 17, 0), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "back to the pool"}, &back)
	r.update(nyAt(24, 9, 30), UpdateAccept, AcceptInput{RepID: "cy", Attempt: 3}, &cy)
	r.update(nyAt(24, 9, 31), UpdateClose, CloseInput{RepID: "cy", Outcome: OutcomeDisqualified, Reason: "competitor"}, &closeErr)
	out := r.execute()
	if back != nil || cy != nil || closeErr != nil {
		t.Fatalf("reassign %v, accept %v, close %v", back, cy, closeErr)
	}
	wantAt(t, "escalation", r.eventAt("escalated", 1), nyAt(23, 16, 30))
	wantAt(t, "offer to Cy", r.eventAt("offered", 3), nyAt(23, 17, 0))
	if out.Owner.ID != "cy" || out.EscalationLevel != 0 {
		t.Fatalf("result %+v", out)
	}
}

func TestErasureEndsTheLeadAndPurges(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var bad, erase, after error
	r.update(nyAt(23, 9, 10), UpdateErase, EraseInput{Actor: "source:form", Reason: "because"}, &bad)
	r.update(nyAt(23, 9, 15), UpdateErase, EraseInput{Actor: "source:form", Reason: "unsubscribe"}, &erase)
	r.update(nyAt(23, 9, 20), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &after)
	out := r.execute()
	if bad == nil || erase != nil {
		t.Fatalf("bad reason %v, erase %v", bad, erase)
	}
	if after == nil {
		t.Fatal("an erased lead was accepted")
	}
	if out.State != domain.StateErased || out.Name != "" || out.Company != "" || out.Email != domain.ErasedEmail("ld_test") {
		t.Fatalf("result %+v", out)
	}
	if len(r.store.erased) != 1 || r.store.lead.Name != "" {
		t.Fatalf("store: erased %v, lead %+v", r.store.erased, r.store.lead)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "erased")
	if len(r.mail.to("bea@example.com")) != 0 {
		t.Fatal("the clocks ran on after the erasure")
	}
}

func TestProspectSnoozeMovesTheFirstContactDeadline(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.Policy.SnoozeMax = domain.Duration(7 * 24 * time.Hour)
	var acc, tooFar, snooze, contact, closeErr error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc) // contact due Mon 11:00
	r.update(nyAt(23, 9, 30), UpdateSnooze, SnoozeInput{RepID: "ana", Until: nyAt(30, 12, 0), Note: "call me next week"}, &tooFar)
	r.update(nyAt(23, 9, 31), UpdateSnooze, SnoozeInput{RepID: "ana", Until: nyAt(24, 10, 0), Note: "call me tomorrow at 10"}, &snooze)
	r.update(nyAt(24, 9, 55), UpdateContact, ContactInput{RepID: "ana", Channel: "call"}, &contact)
	r.update(nyAt(24, 9, 56), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-5"}, &closeErr)
	out := r.execute()
	if tooFar == nil || !strings.Contains(tooFar.Error(), "at most") {
		t.Fatalf("a snooze past the maximum: %v", tooFar)
	}
	for name, err := range map[string]error{"accept": acc, "snooze": snooze, "contact": contact, "close": closeErr} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if !out.ContactBy.Equal(nyAt(24, 10, 0)) {
		t.Fatalf("contact by %v", out.ContactBy)
	}
	// The reminder moves with the deadline: half of Mon 09:00 → Tue 10:00 in
	// business time (8h + 1h) is 4h30 → Mon 13:30.
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "accepted", "contact-due", "snoozed", "reminded", "contacted", "converted")
	wantAt(t, "re-planned reminder", r.eventAt("reminded", 1), nyAt(23, 13, 30))
}

func TestRepeatedMissesAlertTheSalesLeader(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.campaign.Policy.LeaderAlert = domain.LeaderAlert{Misses: 3, Within: domain.Duration(7 * 24 * time.Hour)}
	r.store.priorMisses = 2 // Ana missed two deadlines on other leads this week
	var bea, closeErr error
	r.update(nyAt(23, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 13, 1), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-6"}, &closeErr)
	r.execute()
	if bea != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", bea, closeErr)
	}
	wantAt(t, "leadership alert", r.eventAt("leader-alerted", 1), nyAt(23, 12, 30))
	m := r.mail.to("sam@example.com")
	if len(m) != 1 || m[0].Subject != "Leadership alert: Ana missed 3 SLA deadlines — Dana Lee, Acme" || len(m[0].Links) != 1 {
		t.Fatalf("leader mail: %+v", m)
	}
}

// Three touches within 16 business hours after a first contact on Monday at
// 10:00: touch 2 due Mon 10:00 + 8h = Tue 10:00, touch 3 due Wed 10:00.
func TestCadenceTouchesEachWithADeadlineThenRecycle(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.Policy.Cadence = domain.Cadence{Touches: 3, Within: domain.Duration(16 * time.Hour)}
	r.store.campaign.Policy.Reminders = nil
	var acc, c1, c2 error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 10, 0), UpdateContact, ContactInput{RepID: "ana", Channel: "call"}, &c1)
	r.update(nyAt(24, 9, 0), UpdateContact, ContactInput{RepID: "ana", Channel: "email"}, &c2)
	// Touch 3 is never logged: breached Wed 10:00, then recycled for no response.
	out := r.execute()
	if acc != nil || c1 != nil || c2 != nil {
		t.Fatalf("accept %v, contacts %v %v", acc, c1, c2)
	}
	wantAt(t, "touch 3 breach", r.eventAt("breached", 1), nyAt(25, 10, 0))
	if out.State != domain.StateRecycled || out.Reason != "no-response" {
		t.Fatalf("result %+v", out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "accepted", "contact-due", "contacted",
		"cadence-due", "contacted", "cadence-due", "breached", "recycled")
	if m := r.mail.to("max@example.com"); len(m) != 1 || !strings.Contains(m[0].Subject, "missed a follow-up deadline") ||
		!strings.Contains(m[0].Text, "did not log the next follow-up") {
		t.Fatalf("manager mail: %+v", m)
	}
}

// Nobody eligible, default policy: the manager is told at once, routing is
// retried every routing_retry, and a rep who becomes eligible gets the lead.
func TestNobodyEligibleEscalatesNowAndRetriesRouting(t *testing.T) {
	r := newLifeRun(t) // a team with no eligible rep
	r.store.campaign.Policy.RoutingRetry = domain.Duration(30 * time.Minute)
	r.at(nyAt(23, 9, 10), func() { // a rep joins on Monday
		r.store.mu.Lock()
		r.store.reps = append(r.store.reps, domain.PersonRef{ID: "zoe", Name: "Zoe", Email: "zoe@example.com", TimeZone: "America/New_York"})
		r.store.mu.Unlock()
	})
	var acc, closeErr error
	r.update(nyAt(23, 9, 45), UpdateAccept, AcceptInput{RepID: "zoe", Attempt: 1}, &acc)
	r.update(nyAt(23, 9, 46), UpdateClose, CloseInput{RepID: "zoe", Outcome: OutcomeConverted, Reference: "OPP-11"}, &closeErr)
	out := r.execute()
	if acc != nil || closeErr != nil || out.Owner.ID != "zoe" {
		t.Fatalf("accept %v, close %v, %+v", acc, closeErr, out)
	}
	// Retries every 30 min from Fri 16:30: the first after 09:10 Monday is 09:30.
	wantAt(t, "offer once someone is eligible", r.eventAt("offered", 1), nyAt(23, 9, 30))
	wantKinds(t, r.store.kinds(), "captured", "mql", "unroutable", "offered", "accepted", "contact-due", "converted")
	if m := r.mail.to("max@example.com"); len(m) != 1 || m[0].Kind != "escalation" {
		t.Fatalf("manager mail: %+v", m)
	}
}

// Nobody eligible, policy "manager": the team's manager is offered the lead.
func TestNobodyEligibleRoutesToTheManager(t *testing.T) {
	r := newLifeRun(t)
	r.store.campaign.Policy.NobodyEligible = domain.NobodyManager
	var acc, closeErr error
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "max", Attempt: 1}, &acc)
	r.update(nyAt(20, 16, 41), UpdateClose, CloseInput{RepID: "max", Outcome: OutcomeDisqualified, Reason: "bad-data"}, &closeErr)
	out := r.execute()
	if acc != nil || closeErr != nil || out.Owner.ID != "max" {
		t.Fatalf("accept %v, close %v, %+v", acc, closeErr, out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "unroutable", "offered", "accepted", "contact-due", "disqualified")
}

// The same person again while the offer runs: one lead, the touch merged,
// the score raised, and the clocks where they were.
func TestSamePersonTwiceMergesWithoutMovingClocks(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var again error = errors.New("not sent")
	var res IntakeResult
	r.at(nyAt(23, 9, 15), func() {
		r.env.UpdateWorkflow(UpdateIntake, "touch-2", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { again = err },
			OnComplete: func(v any, err error) {
				again = err
				if err == nil {
					res = v.(IntakeResult)
				}
			},
		}, Touch{ID: "req-2", Campaign: "webinar-q3", Email: "dana@acme.example", Company: "Acme Corp", Score: 75})
	})
	var acc, closeErr error
	r.update(nyAt(23, 12, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 12, 1), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-8"}, &closeErr)
	out := r.execute()
	if again != nil || res.New || res.Touches != 2 || acc != nil || closeErr != nil {
		t.Fatalf("second touch %v %+v; accept %v; close %v", again, res, acc, closeErr)
	}
	if out.Touches != 2 || out.Score != 75 || out.Company != "Acme Corp" || !out.AcceptBy.Equal(nyAt(23, 12, 30)) {
		t.Fatalf("result %+v", out)
	}
	wantAt(t, "reminder", r.eventAt("reminded", 1), nyAt(23, 10, 30))
}

// A recycled lead rests for the policy's cool-down, then continues as new in
// nurture; the next cycle's offers go on from the last attempt.
func TestRecycledLeadReturnsToNurtureAfterTheCooldown(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.campaign.Policy.RecycleCooldown = domain.Duration(30 * 24 * time.Hour)
	r.store.campaign.MinScore = 50
	var acc, rec error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 9, 30), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeRecycled, Reason: "not-ready"}, &rec)
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Company: "Acme", Score: 60}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first})
	if acc != nil || rec != nil {
		t.Fatalf("accept %v, recycle %v", acc, rec)
	}
	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if got := r.env.Now(); !got.Equal(nyAt(23, 9, 30).Add(30 * 24 * time.Hour)) {
		t.Fatalf("continued as new at %v, want after the 30-day cool-down", got)
	}
	var next LeadInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.Lead.Cycle != 1 || next.Resume.Lead.Score != 0 || next.Resume.Lead.Attempt != 1 {
		t.Fatalf("next input %+v", next.Resume)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "accepted", "contact-due", "recycled", "cooling-down")

	// The next cycle: nurture until a new touch raises the score, then offer #2.
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := nyAt(23, 9, 30).Add(30 * 24 * time.Hour)
	env.SetStartTime(start)
	env.RegisterWorkflow(LeadWorkflow)
	env.RegisterActivity(newActivities(r.store, r.mail))
	var touch, acc2, closeErr error
	call := func(after time.Duration, name string, arg any, got *error) {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(name, name+after.String(), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { *got = err }, OnComplete: func(_ any, err error) { *got = err }}, arg)
		}, after)
	}
	call(time.Hour, UpdateIntake, Touch{ID: "req-9", Campaign: "webinar-q3", Email: "dana@acme.example", Score: 70}, &touch)
	call(2*time.Hour, UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &acc2)
	call(150*time.Minute, UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-10"}, &closeErr)
	env.ExecuteWorkflow(LeadWorkflow, next)
	if err := env.GetWorkflowError(); err != nil || touch != nil || acc2 != nil || closeErr != nil {
		t.Fatalf("second cycle: %v; touch %v, accept %v, close %v", err, touch, acc2, closeErr)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "accepted", "contact-due", "recycled", "cooling-down",
		"nurturing", "touch", "mql", "offered", "accepted", "contact-due", "converted")
}

func TestManagerTakesOverAnEscalatedLead(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var bad, take, contact, closeErr error
	r.update(nyAt(23, 17, 0), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "bea", TakeOver: true, Reason: "x"}, &bad)
	r.update(nyAt(23, 17, 1), UpdateReassign, ReassignInput{ManagerID: "max", ToRep: "max", TakeOver: true, Reason: "I know them"}, &take)
	r.update(nyAt(24, 9, 30), UpdateContact, ContactInput{RepID: "max", Channel: "meeting"}, &contact)
	r.update(nyAt(24, 9, 31), UpdateClose, CloseInput{RepID: "max", Outcome: OutcomeConverted, Reference: "OPP-12"}, &closeErr)
	out := r.execute()
	if bad == nil {
		t.Fatal("a take-over for someone else was allowed")
	}
	if take != nil || contact != nil || closeErr != nil || out.Owner.ID != "max" || !out.AcceptedAt.Equal(nyAt(23, 17, 1)) {
		t.Fatalf("take %v, contact %v, close %v, %+v", take, contact, closeErr, out)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "reminded", "lapsed", "offered", "reminded", "lapsed",
		"escalated", "reassigned", "offered", "accepted", "contact-due", "contacted", "converted")
}

// A long nurture continues as new after MaxTouchesPerRun touches, carrying
// the state; the next run neither repeats events nor loses the score.
func TestLongNurtureContinuesAsNew(t *testing.T) {
	r := newLifeRun(t, "ana")
	r.store.campaign.MinScore = 100
	for i := 2; i <= 4; i++ {
		touch := Touch{ID: fmt.Sprintf("req-%d", i), Campaign: "webinar-q3", Email: "dana@acme.example", Score: 40 + i}
		r.at(nyAt(21, 10, i), func() {
			r.env.UpdateWorkflow(UpdateIntake, touch.ID, &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("touch: %v", err) }, OnComplete: func(any, error) {}}, touch)
		})
	}
	first := Touch{ID: "req-1", Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana Lee", Score: 40}
	r.env.ExecuteWorkflow(LeadWorkflow, LeadInput{LeadID: "ld_test", First: &first, MaxTouchesPerRun: 3})
	var can *workflow.ContinueAsNewError
	if err := r.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next LeadInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.Lead.Touches != 4 || next.Resume.Lead.Score != 44 || next.Resume.Lead.State != domain.StateNurturing ||
		len(next.Resume.SeenIDs) != 4 || next.MaxTouchesPerRun != 3 {
		t.Fatalf("next input %+v", next)
	}
	wantKinds(t, r.store.kinds(), "captured", "nurturing", "touch", "touch", "touch")
}

func TestHolderOutOfOfficeReassignsByDefault(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var away, bea, closeErr error
	r.update(nyAt(23, 9, 15), UpdateAway, AwayInput{RepID: "ana", Until: nyAt(27, 17, 0)}, &away)
	r.update(nyAt(23, 9, 20), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(23, 9, 21), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-13"}, &closeErr)
	out := r.execute()
	if away != nil || bea != nil || closeErr != nil || out.Owner.ID != "bea" {
		t.Fatalf("away %v, accept %v, close %v, %+v", away, bea, closeErr, out)
	}
	wantAt(t, "offer to Bea", r.eventAt("offered", 2), nyAt(23, 9, 15))
}

// Policy "pause": the deadline moves by the business time the rep is away.
func TestHolderOutOfOfficePausesTheClock(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.campaign.Policy.OutOfOffice = domain.AwayPause
	var away, acc, closeErr error
	// Away Mon 10:00–12:00: two business hours; the 12:30 deadline moves to 14:30.
	r.update(nyAt(23, 10, 0), UpdateAway, AwayInput{RepID: "ana", Until: nyAt(23, 12, 0)}, &away)
	r.update(nyAt(23, 14, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &acc)
	r.update(nyAt(23, 14, 1), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-14"}, &closeErr)
	out := r.execute()
	if away != nil || acc != nil || closeErr != nil {
		t.Fatalf("away %v, accept %v, close %v", away, acc, closeErr)
	}
	if !out.AcceptBy.Equal(nyAt(23, 14, 30)) {
		t.Fatalf("accept by %v, want Mon 14:30", out.AcceptBy.In(ny))
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "paused", "reminded", "accepted", "contact-due", "converted")
}

// An erasure while a manager's reassignment is pending must not leave the
// reassign handler (and so the workflow) waiting forever.
func TestEraseDuringAPendingReassignEnds(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var reassign, erase error
	r.at(nyAt(23, 9, 0), func() {
		// Make the assignment activity slow, so the reassignment is still pending when the erasure lands.
		r.env.UpdateWorkflow(UpdateReassign, "mv", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { reassign = err }, OnComplete: func(_ any, err error) { reassign = err },
		}, ReassignInput{ManagerID: "max", ToRep: "bea", Reason: "move"})
		r.env.UpdateWorkflow(UpdateErase, "er", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { erase = err }, OnComplete: func(_ any, err error) { erase = err },
		}, EraseInput{Actor: "admin:x", Reason: "erasure-request"})
	})
	out := r.execute()
	if erase != nil || out.State != domain.StateErased {
		t.Fatalf("erase %v, reassign %v, %+v", erase, reassign, out)
	}
}

// The holder's accept racing a manager's reassignment: one of them wins, the
// other is refused, and nothing waits forever.
func TestAcceptRacingAReassignment(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	var reassign, acc, closeErr error
	r.at(nyAt(23, 9, 0), func() {
		r.env.UpdateWorkflow(UpdateReassign, "mv", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { reassign = err }, OnComplete: func(_ any, err error) { reassign = err },
		}, ReassignInput{ManagerID: "max", ToRep: "bea", Reason: "move"})
		r.env.UpdateWorkflow(UpdateAccept, "acc", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { acc = err }, OnComplete: func(_ any, err error) { acc = err },
		}, AcceptInput{RepID: "ana", Attempt: 1})
	})
	r.at(nyAt(23, 9, 5), func() {
		owner, attempt := "ana", 1
		if acc != nil {
			owner, attempt = "bea", 2
			r.env.UpdateWorkflow(UpdateAccept, "acc2", &testsuite.TestUpdateCallback{OnReject: func(err error) { t.Errorf("bea: %v", err) },
				OnComplete: func(any, error) {}}, AcceptInput{RepID: owner, Attempt: attempt})
		}
		r.env.RegisterDelayedCallback(func() {
			r.env.UpdateWorkflow(UpdateClose, "cl", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { closeErr = err }, OnComplete: func(_ any, err error) { closeErr = err },
			}, CloseInput{RepID: owner, Outcome: OutcomeConverted, Reference: "OPP-R"})
		}, time.Minute)
	})
	out := r.execute()
	if (reassign == nil) == (acc == nil) {
		t.Fatalf("reassign %v and accept %v: exactly one must win", reassign, acc)
	}
	if closeErr != nil || out.State != domain.StateConverted {
		t.Fatalf("close %v, %+v", closeErr, out)
	}
}

func TestTestYearKeepsTheWeekOf20November2026(t *testing.T) {
	if testYear <= time.Now().Year() || nyAt(20, 12, 0).Weekday() != time.Friday || calendarLike(2026, 2027) != 2037 {
		t.Fatalf("testYear %d: 20 Nov is a %s", testYear, nyAt(20, 12, 0).Weekday())
	}
	// DST in New York ends on the first Sunday of November, as in 2026.
	if _, off := nyAt(1, 12, 0).Zone(); off != -5*3600 {
		t.Fatalf("1 Nov %d is not on standard time", testYear)
	}
}
