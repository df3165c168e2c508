package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// fakeCampaignStore is an in-memory CampaignStore: events once per key, the
// status as set, and numbers from a function of the period.
type fakeCampaignStore struct {
	mu       sync.Mutex
	spec     domain.Campaign
	status   []string
	events   []domain.CampaignEvent
	keys     map[string]bool
	stats    func(from, to time.Time, target int) domain.CampaignStats
	statsAsk []time.Time // the `to` of every numbers request
}

func (s *fakeCampaignStore) CampaignSpec(_ context.Context, id string) (store.CampaignState, error) {
	if id != s.spec.ID {
		return store.CampaignState{}, fmt.Errorf("campaign %s: %w", id, domain.ErrNotFound)
	}
	return store.CampaignState{Spec: s.spec, Status: "draft", Revision: 1}, nil
}

func (s *fakeCampaignStore) UpsertCampaign(_ context.Context, c domain.Campaign, status string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spec = c
	return nil
}

func (s *fakeCampaignStore) SetCampaignStatus(_ context.Context, _, status string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.status) == 0 || s.status[len(s.status)-1] != status {
		s.status = append(s.status, status)
	}
	return nil
}

func (s *fakeCampaignStore) RecordCampaignEvent(_ context.Context, _ string, ev domain.CampaignEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]bool{}
	}
	if !s.keys[ev.Key] {
		s.keys[ev.Key] = true
		s.events = append(s.events, ev)
	}
	return nil
}

func (s *fakeCampaignStore) event(kind string) (domain.CampaignEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.Kind == kind {
			return e, true
		}
	}
	return domain.CampaignEvent{}, false
}

func (s *fakeCampaignStore) kinds() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var k []string
	for _, e := range s.events {
		k = append(k, e.Kind)
	}
	return strings.Join(k, " ")
}

func (s *fakeCampaignStore) CampaignStats(_ context.Context, _ string, from, to time.Time, target int) (domain.CampaignStats, error) {
	s.mu.Lock()
	s.statsAsk = append(s.statsAsk, to)
	s.mu.Unlock()
	if s.stats == nil {
		return domain.CampaignStats{From: from, To: to, Target: target}, nil
	}
	return s.stats(from, to, target), nil
}

func (s *fakeCampaignStore) Leaders(context.Context) (domain.PersonRef, domain.PersonRef, error) {
	return domain.PersonRef{ID: "sam", Name: "Sam Leader", Email: "sam@example.com"},
		domain.PersonRef{ID: "mia", Name: "Mia Marketing", Email: "mia@example.com"}, nil
}

func (s *fakeCampaignStore) TeamPeople(context.Context, string) ([]domain.PersonRef, error) {
	return []domain.PersonRef{{ID: "max", Name: "Max Manager", Email: "max@example.com"}, {ID: "ana", Name: "Ana", Email: "ana@example.com"}}, nil
}

func (s *fakeCampaignStore) Campaign(context.Context, string) (domain.CampaignInfo, error) {
	return domain.CampaignInfo{ID: s.spec.ID, AcceptWindow: time.Hour}, nil
}

type campaignRun struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *fakeCampaignStore
	mail  *fakeMailer
	start time.Time
}

func testPlan() domain.Campaign {
	c := domain.Campaign{ID: "webinar-q3", Name: "Webinar Q3", Team: "emea", MinScore: 50,
		Owner: domain.Person{Name: "Mo Fischer", Email: "mo@example.com"}}
	c.Reviewers = []domain.Person{{ID: "max", Name: "Max Manager", Email: "max@example.com"},
		{ID: "ana", Name: "Ana Rep", Email: "ana@example.com"}}
	c.Review = domain.Review{Deadline: domain.Duration(48 * time.Hour), Reminders: []float64{0.5}, Quorum: 2}
	c.Commitments = domain.Commitments{MQLsPerWeek: 10, MinAcceptanceRate: 0.6}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

func newCampaignRun(t *testing.T, c domain.Campaign) *campaignRun {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(friday18)
	r := &campaignRun{t: t, env: env, store: &fakeCampaignStore{spec: c}, mail: &fakeMailer{}, start: friday18}
	env.RegisterWorkflow(CampaignWorkflow)
	signer, _ := token.NewSigner([]byte(strings.Repeat("t", 32)))
	env.RegisterActivity(&activities.CampaignActivities{Store: r.store, Mailer: r.mail, Signer: signer,
		PublicURL: "http://baton.test", From: "Baton <baton@example.com>", LinkTTL: 72 * time.Hour})
	return r
}

// update sends an update at an offset from the start; the outcome goes to *got.
func (r *campaignRun) update(after time.Duration, name string, got *error, args ...any) {
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(name, fmt.Sprint(name, after), &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { *got = err },
			OnComplete: func(_ any, err error) { *got = err },
		}, args...)
	}, after)
}

func (r *campaignRun) kindsTo(email string) []string {
	var k []string
	for _, m := range r.mail.to(email) {
		k = append(k, m.Kind)
	}
	return k
}

func (r *campaignRun) view() CampaignView {
	v, err := r.env.QueryWorkflow(QueryCampaign)
	if err != nil {
		r.t.Fatal(err)
	}
	var cv CampaignView
	if err := v.Get(&cv); err != nil {
		r.t.Fatal(err)
	}
	return cv
}

func TestCampaignSilentReviewersEscalateAtTheDeadline(t *testing.T) {
	r := newCampaignRun(t, testPlan())
	var endErr error
	r.update(100*time.Hour, UpdateCampaignEnd, &endErr, CampaignEndInput{Actor: "owner:mo@example.com", Reason: "cancelled"})
	var atDeadline CampaignView
	r.env.RegisterDelayedCallback(func() { atDeadline = r.view() }, 48*time.Hour+time.Second)
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3"})
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if endErr != nil {
		t.Fatalf("end: %v", endErr)
	}
	esc, ok := r.store.event("review-escalated")
	if !ok {
		t.Fatalf("no escalation; events: %s", r.store.kinds())
	}
	if want := r.start.Add(48 * time.Hour); !esc.At.Equal(want) {
		t.Errorf("escalated at %s, want exactly the deadline %s", esc.At, want)
	}
	if got := r.kindsTo("sam@example.com"); len(got) != 1 || got[0] != mail.KindCampaignEscalation {
		t.Errorf("sales leader got %v, want one escalation", got)
	}
	for _, who := range []string{"max@example.com", "ana@example.com"} {
		if got := strings.Join(r.kindsTo(who), ","); got != "campaign-review,campaign-reminder" {
			t.Errorf("%s got %s, want a review request and one reminder", who, got)
		}
	}
	rem := r.mail.to("max@example.com")[1]
	if !strings.Contains(rem.Text, "/c/") || len(rem.Links) != 2 {
		t.Errorf("reminder lacks the one-click links: %v", rem.Links)
	}
	if !atDeadline.Escalated || atDeadline.Phase != PhaseReview {
		t.Errorf("query after the deadline = %+v", atDeadline)
	}
	esc2 := r.mail.to("sam@example.com")[0]
	if !strings.Contains(esc2.Text, "Not answered: Max Manager, Ana Rep.") {
		t.Errorf("escalation does not name the silent reviewers:\n%s", esc2.Text)
	}
	if got := strings.Join(r.store.status, ","); got != "review,ended,closed" {
		t.Errorf("statuses %s", got)
	}
}

func TestCampaignChangesRevisionApproval(t *testing.T) {
	c := testPlan()
	c.StartsAt.Time = friday18.Add(7 * 24 * time.Hour)
	r := newCampaignRun(t, c)
	var changes, staleApprove, revise, a1, a2, end error
	r.update(time.Hour, UpdateCampaignReview, &changes, CampaignReviewInput{ReviewerID: "max", Round: 1, Verdict: VerdictChanges,
		Comment: "Add the DACH audience and a case study for the contacted stage"})
	revised := c
	revised.Audience = "IT leads in DACH"
	r.update(2*time.Hour, UpdateCampaignRevise, &revise, CampaignReviseInput{Spec: revised, Actor: "owner:mo@example.com"})
	// Ana's click on the round-1 link after the revision is refused.
	r.update(3*time.Hour, UpdateCampaignReview, &staleApprove, CampaignReviewInput{ReviewerID: "ana", Round: 1, Verdict: VerdictApprove})
	r.update(4*time.Hour, UpdateCampaignReview, &a1, CampaignReviewInput{ReviewerID: "ana", Round: 2, Verdict: VerdictApprove})
	r.update(5*time.Hour, UpdateCampaignReview, &a2, CampaignReviewInput{ReviewerID: "max", Round: 2, Verdict: VerdictApprove})
	var beforeStart CampaignView
	r.env.RegisterDelayedCallback(func() { beforeStart = r.view() }, 6*time.Hour)
	r.update(8*24*time.Hour, UpdateCampaignEnd, &end, CampaignEndInput{Actor: "owner:mo@example.com"})
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3"})
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"changes": changes, "revise": revise, "approve ana": a1, "approve max": a2, "end": end} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var ae *temporal.ApplicationError
	if !errors.As(staleApprove, &ae) || ae.Type() != ErrStaleAction || !strings.Contains(ae.Message(), "revision 2") {
		t.Errorf("stale approval = %v, want a StaleAction naming revision 2", staleApprove)
	}
	if got := strings.Join(r.kindsTo("mo@example.com"), ","); !strings.HasPrefix(got, "campaign-changes") {
		t.Errorf("owner got %s, want the change request first", got)
	}
	reqs := r.mail.to("ana@example.com")
	if len(reqs) < 2 || !strings.Contains(reqs[1].Subject, "revision 2") || !strings.Contains(reqs[1].Text, "Add the DACH audience") ||
		!strings.Contains(reqs[1].Text, "IT leads in DACH") {
		t.Fatalf("the second request must carry revision 2, the new plan and the earlier comment: %+v", reqs)
	}
	if beforeStart.Phase != PhaseApproved || beforeStart.Round != 2 || len(beforeStart.Comments) != 1 {
		t.Errorf("before the start date: %+v", beforeStart)
	}
	live, ok := r.store.event("live")
	if !ok || !live.At.Equal(c.StartsAt.Time) {
		t.Errorf("live at %v (found %v), want exactly the start date %s", live.At, ok, c.StartsAt)
	}
	if got := strings.Join(r.store.status, ","); got != "review,approved,live,ended,closed" {
		t.Errorf("statuses %s", got)
	}
	if ap, _ := r.store.event("approved"); !strings.Contains(ap.Reason, "2 of 2") {
		t.Errorf("approval reason %q", ap.Reason)
	}
}

// livePlan has no reviewers, so it is approved and live at once.
func livePlan() domain.Campaign {
	c := testPlan()
	c.Reviewers, c.Review.Quorum = nil, 0
	return c
}

func TestCampaignWeekWithShortfallAlerts(t *testing.T) {
	c := livePlan()
	r := newCampaignRun(t, c)
	r.store.stats = func(from, to time.Time, target int) domain.CampaignStats {
		return domain.CampaignStats{From: from, To: to, Target: target, MQLs: 3, Accepted: 1, Rejected: 2, AcceptanceRate: 1.0 / 3}
	}
	var end error
	r.update(7*24*time.Hour+time.Hour, UpdateCampaignEnd, &end, CampaignEndInput{Actor: "owner:mo@example.com"})
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3"})
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	br, ok := r.store.event("marketing-breach")
	if !ok {
		t.Fatalf("no marketing-side breach; events %s", r.store.kinds())
	}
	if want := r.start.Add(7 * 24 * time.Hour); !br.At.Equal(want) {
		t.Errorf("checked at %s, want %s", br.At, want)
	}
	if !strings.Contains(br.Reason, "MQL volume 3 is below the commitment of 10") || !strings.Contains(br.Reason, "acceptance rate 33%") {
		t.Errorf("breach reason %q", br.Reason)
	}
	for _, who := range []string{"mo@example.com", "mia@example.com"} {
		// Sent beside the clock, the shortfall and the digest of one check
		// may arrive in either order: who got what is the promise.
		if got := strings.Join(slices.Sorted(slices.Values(r.kindsTo(who))), ","); got != "campaign-digest,campaign-retro,campaign-shortfall" {
			t.Errorf("%s got %s", who, got)
		}
	}
	for _, who := range []string{"sam@example.com", "max@example.com", "ana@example.com"} {
		if got := strings.Join(r.kindsTo(who), ","); got != "campaign-digest,campaign-retro" {
			t.Errorf("%s got %s, want the digest and the retrospective, no shortfall", who, got)
		}
	}
	sf := r.mail.to("mia@example.com")[0]
	if !strings.Contains(sf.Subject, "week 1") || !strings.Contains(sf.Text, "MQLs:               3 of 10 committed") {
		t.Errorf("shortfall mail:\n%s\n%s", sf.Subject, sf.Text)
	}
}

func TestCampaignEndDateRetrospective(t *testing.T) {
	c := livePlan()
	c.Commitments.Every = domain.Duration(24 * time.Hour)
	c.EndsAt.Time = friday18.Add(60 * time.Hour) // two checks, then the end half-way through the third day
	r := newCampaignRun(t, c)
	r.store.stats = func(from, to time.Time, target int) domain.CampaignStats {
		return domain.CampaignStats{From: from, To: to, Target: target, MQLs: 12, Accepted: 10, Rejected: 2, AcceptanceRate: 10.0 / 12,
			Converted: 3, ConversionRate: 0.25}
	}
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3"})
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res CampaignState
	if err := r.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != PhaseClosed || res.Week != 2 || !res.EndedAt.Equal(c.EndsAt.Time) || res.EndedBy != "system" {
		t.Errorf("result %+v", res)
	}
	if _, ok := r.store.event("marketing-breach"); ok {
		t.Error("commitments were met; no breach expected")
	}
	retro, ok := r.store.event("retrospective")
	if !ok || !retro.At.Equal(c.EndsAt.Time) {
		t.Fatalf("retrospective at %v (%v), want the end date %s", retro.At, ok, c.EndsAt)
	}
	msgs := r.mail.to("max@example.com")
	last := msgs[len(msgs)-1]
	if last.Kind != mail.KindCampaignRetro || !strings.Contains(last.Text, "week 2: 12 MQLs of 10 — commitments met") {
		t.Errorf("retrospective:\n%s", last.Text)
	}
	// The retrospective reads the whole campaign, live to end.
	if got := r.store.statsAsk[len(r.store.statsAsk)-1]; !got.Equal(c.EndsAt.Time) {
		t.Errorf("retrospective numbers up to %s, want %s", got, c.EndsAt)
	}
	if got := strings.Join(r.store.status, ","); got != "approved,live,ended,closed" {
		t.Errorf("statuses %s", got)
	}
}

func TestCampaignContinuesAsNewWithItsState(t *testing.T) {
	c := livePlan()
	c.Commitments.Every = domain.Duration(time.Hour)
	r := newCampaignRun(t, c)
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3", MaxChecksPerRun: 2})
	err := r.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after 2 checks, got %v", err)
	}
	if got := r.store.statsAsk; len(got) != 4 { // period and to-date, twice
		t.Errorf("numbers asked %d times", len(got))
	}
}

// The campaign's qualification rule: a lead above
// the score bar but missing a required field nurtures until a touch fills it.
func TestRequiredFieldKeepsTheLeadInNurtureUntilATouchFillsIt(t *testing.T) {
	r := newLifeRun(t, "ana", "bob")
	r.store.campaign.MinScore, r.store.campaign.RequiredFields = 30, []string{"country"}
	var touch, erase error
	r.update(r.start.Add(time.Hour), UpdateIntake, Touch{ID: "req-2", Campaign: "webinar-q3", Email: "dana@acme.example", Country: "US", Score: 10}, &touch)
	r.update(r.start.Add(2*time.Hour), UpdateErase, EraseInput{Actor: "admin:test", Reason: domain.EraseReasons[0]}, &erase)
	r.execute()
	if touch != nil || erase != nil {
		t.Fatalf("touch %v, erase %v", touch, erase)
	}
	var nurture domain.Event
	for _, e := range r.store.events {
		if e.Kind == "nurturing" {
			nurture = e
		}
	}
	if nurture.Reason != "missing required field(s): country" {
		t.Errorf("nurturing reason %q; events %v", nurture.Reason, r.store.kinds())
	}
	wantAt(t, "mql when the country arrives", r.eventAt("mql", 1), r.start.Add(time.Hour))
	r.eventAt("offered", 1)
}

// The weekly results the campaign state keeps are bounded: after 30 checks
// the state (carried across continue-as-new, shown in digests) holds the last
// MaxWeeksKept, while Week counts them all.
func TestCampaignWeeksKeptAreBounded(t *testing.T) {
	c := livePlan()
	c.Commitments.Every = domain.Duration(time.Hour)
	r := newCampaignRun(t, c)
	var v CampaignView
	r.env.RegisterDelayedCallback(func() { v = r.view() }, 30*time.Hour+time.Minute)
	var end error
	r.update(30*time.Hour+2*time.Minute, UpdateCampaignEnd, &end, CampaignEndInput{Actor: "owner:mo@example.com"})
	r.env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: "webinar-q3"})
	if err := r.env.GetWorkflowError(); err != nil || end != nil {
		t.Fatalf("workflow %v, end %v", err, end)
	}
	if v.Week != 30 || len(v.Weeks) != MaxWeeksKept || v.Weeks[0].Week != 30-MaxWeeksKept+1 || v.Weeks[len(v.Weeks)-1].Week != 30 {
		t.Fatalf("week %d, kept %d (first %+v)", v.Week, len(v.Weeks), v.Weeks)
	}
}
