package workflows

// The campaign half of the randomized schedules: reviews from the right and
// the wrong people and rounds, revisions, an end by hand at any moment (on
// top of a check, a start or an end date), slow numbers and mail faults.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

type rndCampaignPlan struct {
	Start     time.Time
	Spec      domain.Campaign
	MaxChecks int
	Horizon   time.Duration
	Actions   []rndAction
}

func (p rndCampaignPlan) summary() string {
	return fmt.Sprintf("start %s, %d reviewer(s) quorum %d, review %s, starts %s, ends %s, every %s, max checks %d",
		rndStamp(p.Start), len(p.Spec.Reviewers), p.Spec.Review.Quorum, time.Duration(p.Spec.Review.Deadline),
		rndStamp(p.Spec.StartsAt.Time), rndStamp(p.Spec.EndsAt.Time), time.Duration(p.Spec.Commitments.Every), p.MaxChecks)
}

var rndCampaignKinds = []struct {
	kind   string
	weight int
}{{"review", 8}, {"revise", 2}, {"end", 3}, {"numbers-slow", 3}, {"mail-outage", 2}, {"mail-slow", 2}}

func genCampaignPlan(r *rand.Rand) rndCampaignPlan {
	p := rndCampaignPlan{Start: time.Date(testYear, 11, 16+r.IntN(7), r.IntN(24), 0, 0, 0, time.UTC), Horizon: 30 * 24 * time.Hour}
	c := domain.Campaign{ID: "webinar-q3", Name: "Webinar Q3", Team: "emea", MinScore: 50,
		Owner: domain.Person{ID: "mo", Name: "Mo Fischer", Email: "mo@example.com"}}
	people := []domain.Person{{ID: "max", Name: "Max Manager", Email: "max@example.com"}, {ID: "ana", Name: "Ana Rep", Email: "ana@example.com"},
		{ID: "bea", Name: "Bea Rep", Email: "bea@example.com"}}
	c.Reviewers = people[:r.IntN(4)]
	q := 0
	if len(c.Reviewers) > 0 {
		q = 1 + r.IntN(len(c.Reviewers))
	}
	c.Review = domain.Review{Deadline: domain.Duration(rndDur(r, 24*time.Hour, 48*time.Hour)), Reminders: [][]float64{{0.5}, {0.25, 0.75}}[r.IntN(2)], Quorum: q}
	c.Commitments = domain.Commitments{MQLsPerWeek: 10, MinAcceptanceRate: 0.5, Every: domain.Duration(rndDur(r, 24*time.Hour, 48*time.Hour, 7*24*time.Hour))}
	if r.IntN(2) == 0 {
		c.StartsAt.Time = p.Start.Add(time.Duration(r.IntN(5*24)) * time.Hour)
	}
	if r.IntN(2) == 0 {
		from := p.Start
		if !c.StartsAt.IsZero() {
			from = c.StartsAt.Time
		}
		c.EndsAt.Time = from.Add(time.Duration(24+r.IntN(20*24)) * time.Hour)
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	p.Spec = c
	p.MaxChecks = rndPick2(r, 0, 1, 2, 3)
	total := 0
	for _, k := range rndCampaignKinds {
		total += k.weight
	}
	for n := 2 + r.IntN(10); n > 0; n-- {
		x, kind := r.IntN(total), ""
		for _, k := range rndCampaignKinds {
			if x -= k.weight; x < 0 {
				kind = k.kind
				break
			}
		}
		a := rndAction{Kind: kind, P: r.Uint64(), At: time.Duration(r.Int64N(int64(10 * 24 * time.Hour))).Truncate(time.Minute)}
		if r.IntN(10) < 4 {
			a.Align = true
			a.Delta = rndDur(r, 0, 0, time.Second, time.Minute, 3*time.Minute)
		}
		p.Actions = append(p.Actions, a)
	}
	return p
}

// rndCampaignStore is an in-memory CampaignStore with PostgreSQL's rules.
type rndCampaignStore struct {
	w        *rndWorld
	mu       sync.Mutex
	spec     domain.Campaign
	status   []string
	events   []domain.CampaignEvent
	keys     map[string]domain.CampaignEvent
	asks     []rndAsk
	numDelay time.Duration
	maxDelay time.Duration // the longest numDelay set
}

type rndAsk struct{ from, to, at time.Time }

func (s *rndCampaignStore) CampaignSpec(_ context.Context, id string) (store.CampaignState, error) {
	if id != s.spec.ID {
		return store.CampaignState{}, fmt.Errorf("campaign %s: %w", id, domain.ErrNotFound)
	}
	return store.CampaignState{Spec: s.spec, Status: "draft", Revision: 1}, nil
}

func (s *rndCampaignStore) UpsertCampaign(_ context.Context, c domain.Campaign, _ string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spec = c
	return nil
}

func (s *rndCampaignStore) SetCampaignStatus(_ context.Context, _, status string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.status) == 0 || s.status[len(s.status)-1] != status {
		s.status = append(s.status, status)
	}
	return nil
}

func (s *rndCampaignStore) RecordCampaignEvent(_ context.Context, _ string, ev domain.CampaignEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.keys[ev.Key]; ok {
		if prev.Kind != ev.Kind || !prev.At.Equal(ev.At) {
			s.w.mu.Lock()
			s.w.violate("event-key: campaign event key %q reused: %s at %s, then %s at %s", ev.Key, prev.Kind, rndStamp(prev.At), ev.Kind, rndStamp(ev.At))
			s.w.mu.Unlock()
		}
		return nil
	}
	s.keys[ev.Key] = ev
	s.events = append(s.events, ev)
	return nil
}

func (s *rndCampaignStore) CampaignStats(_ context.Context, _ string, from, to time.Time, target int) (domain.CampaignStats, error) {
	return domain.CampaignStats{From: from, To: to, Target: target, MQLs: 3, Accepted: 2, AcceptanceRate: 0.66}, nil
}

func (s *rndCampaignStore) Leaders(context.Context) (domain.PersonRef, domain.PersonRef, error) {
	return domain.PersonRef{ID: "sam", Name: "Sam Leader", Email: "sam@example.com"},
		domain.PersonRef{ID: "mia", Name: "Mia Marketing", Email: "mia@example.com"}, nil
}

func (s *rndCampaignStore) TeamPeople(context.Context, string) ([]domain.PersonRef, error) {
	return []domain.PersonRef{{ID: "max", Name: "Max Manager", Email: "max@example.com"}, {ID: "ana", Name: "Ana", Email: "ana@example.com"}}, nil
}

func (s *rndCampaignStore) Campaign(context.Context, string) (domain.CampaignInfo, error) {
	return domain.CampaignInfo{ID: s.spec.ID, AcceptWindow: time.Hour}, nil
}

type rndCampaignRun struct {
	plan    rndCampaignPlan
	w       *rndWorld
	st      *rndCampaignStore
	env     *testsuite.TestWorkflowEnvironment
	pending map[string]*rndPending
	nUpd    int
	trace   []string
	endYes  time.Time
	reviews []CampaignReviewInput // answered yes
	last    CampaignView
}

func (cr *rndCampaignRun) violate(code, format string, args ...any) {
	cr.w.mu.Lock()
	defer cr.w.mu.Unlock()
	cr.w.violate("%s: campaign at %s: %s", code, rndStamp(cr.env.Now()), fmt.Sprintf(format, args...))
}

func runCampaign(plan rndCampaignPlan) ([]string, []string, bool) {
	w := newRndWorld()
	st := &rndCampaignStore{w: w, spec: plan.Spec, keys: map[string]domain.CampaignEvent{}}
	env := rndEnv()
	env.SetStartTime(plan.Start)
	env.SetTestTimeout(20 * time.Second)
	w.now = env.Now
	cr := &rndCampaignRun{plan: plan, w: w, st: st, env: env, pending: map[string]*rndPending{}}
	env.RegisterWorkflow(CampaignWorkflow)
	signer, _ := token.NewSigner([]byte(strings.Repeat("t", 32)))
	acts := &activities.CampaignActivities{Store: st, Mailer: w, Signer: signer, PublicURL: "http://baton.test",
		From: "Baton <baton@example.com>", LinkTTL: 72 * time.Hour, DefaultWindow: time.Hour}
	env.RegisterActivity(acts)
	// The ask's instant is when the workflow scheduled it, before any delay.
	var inflight rndInflight
	inflight.listen(env)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		inflight.start(info)
		var in activities.CampaignNumbersInput
		if info.ActivityType.Name == "CampaignNumbers" && args.Get(&in) == nil {
			st.mu.Lock()
			st.asks = append(st.asks, rndAsk{from: in.From, to: in.To, at: env.Now()})
			st.mu.Unlock()
		}
	})
	env.OnActivity(acts.CampaignNumbers, mock.Anything, mock.Anything).
		AfterFn(func() time.Duration { st.mu.Lock(); defer st.mu.Unlock(); return st.numDelay }).Return(acts.CampaignNumbers)
	env.OnActivity(acts.SendCampaignMail, mock.Anything, mock.Anything).
		AfterFn(func() time.Duration { w.mu.Lock(); defer w.mu.Unlock(); return w.mailDelay }).Return(acts.SendCampaignMail)

	for i, a := range plan.Actions {
		i, a := i, a
		env.RegisterDelayedCallback(func() {
			cr.check()
			if !a.Align {
				cr.act(i, a)
				return
			}
			v := cr.last
			due := v.NextCheck
			switch {
			case v.Phase == PhaseReview:
				due = v.Deadline
			case v.Phase == PhaseApproved && !v.StartsAt.IsZero():
				due = v.StartsAt
			case v.Phase == PhaseLive && !v.EndsAt.IsZero() && v.EndsAt.Before(due):
				due = v.EndsAt
			}
			d := due.Add(a.Delta).Sub(env.Now())
			if due.IsZero() || d <= 0 {
				cr.act(i, a)
				return
			}
			env.RegisterDelayedCallback(func() { cr.check(); cr.act(i, a) }, d)
		}, max(a.At, time.Millisecond))
	}
	for t := 6 * time.Hour; t < plan.Horizon; t += 6 * time.Hour {
		env.RegisterDelayedCallback(cr.check, t)
	}
	env.RegisterDelayedCallback(func() {
		cr.check()
		cr.final(true)
		env.CancelWorkflow()
	}, plan.Horizon)
	func() {
		defer func() {
			if p := recover(); p != nil {
				msg := fmt.Sprint(p)
				cr.violate("progress", "the campaign neither ended nor waited on a timer (test environment: %.500s)", msg)
			}
		}()
		env.ExecuteWorkflow(CampaignWorkflow, CampaignInput{CampaignID: plan.Spec.ID, MaxChecksPerRun: plan.MaxChecks})
	}()
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		var out CampaignState
		if env.GetWorkflowResult(&out) == nil && out.Phase != PhaseClosed {
			cr.violate("end", "the workflow completed in phase %s, not closed", out.Phase)
		}
		cr.final(false)
	case workflow.IsContinueAsNewError(err):
		cr.final(false)
	case errors.As(err, &canceled):
		if !cr.endYes.IsZero() {
			cr.violate("end", "the end was answered yes at %s, yet the campaign was still running at the horizon", rndStamp(cr.endYes))
		}
	default:
		cr.violate("failed", "the campaign workflow failed: %v", err)
	}
	cr.checkEvents()
	trace := append(cr.trace, rndWorldTrace(w)...)
	st.mu.Lock()
	for _, e := range st.events {
		trace = append(trace, fmt.Sprintf("cev %s %s %s", e.Key, e.Kind, rndStamp(e.At)))
	}
	st.mu.Unlock()
	return w.violations, trace, inflight.max > 1
}

func (cr *rndCampaignRun) view() (CampaignView, bool) {
	v, err := cr.env.QueryWorkflow(QueryCampaign)
	if err != nil {
		return CampaignView{}, false
	}
	var cv CampaignView
	return cv, v.Get(&cv) == nil
}

func (cr *rndCampaignRun) check() {
	v, ok := cr.view()
	if !ok {
		return
	}
	cr.last = v
	if !cr.endYes.IsZero() && v.Phase != PhaseEnded && v.Phase != PhaseClosed {
		cr.violate("yes-true", "the end was answered yes at %s, but the campaign is %s", rndStamp(cr.endYes), v.Phase)
		cr.endYes = time.Time{}
	}
	for i, rv := range cr.reviews {
		if rv.ReviewerID == "" || v.Round != rv.Round {
			continue
		}
		found := false
		for _, s := range v.Reviewers {
			if s.Reviewer.ID == rv.ReviewerID && s.Verdict == rv.Verdict {
				found = true
			}
		}
		if !found && v.Phase == PhaseReview {
			cr.violate("yes-true", "%s's %s for round %d was answered yes, but the plan in review does not show it", rv.ReviewerID, rv.Verdict, rv.Round)
			cr.reviews[i].ReviewerID = ""
		}
	}
	now := cr.env.Now()
	for id, p := range cr.pending {
		if !p.answered && !p.reported && now.Sub(p.sent) > rndAnswerBound {
			p.reported = true
			cr.violate("unanswered", "update %s sent at %s has no answer after %s (phase %s)", id, rndStamp(p.sent), rndAnswerBound, v.Phase)
		}
	}
}

func (cr *rndCampaignRun) final(horizon bool) {
	now := cr.env.Now()
	for id, p := range cr.pending {
		if !p.answered && !p.reported && (!horizon || now.Sub(p.sent) > rndAnswerBound) {
			p.reported = true
			cr.violate("unanswered", "update %s sent at %s was never answered (the run ended or continued as new without it)", id, rndStamp(p.sent))
		}
	}
}

func (cr *rndCampaignRun) update(name string, arg any, onYes func(v any)) {
	cr.nUpd++
	id := fmt.Sprintf("%s-%d", name, cr.nUpd)
	p := &rndPending{name: name, sent: cr.env.Now()}
	cr.pending[id] = p
	cr.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { p.answered = true; cr.trace = append(cr.trace, id+" refused "+rndErrType(err)) },
		OnComplete: func(v any, err error) {
			p.answered = true
			cr.trace = append(cr.trace, id+" done "+rndErrType(err))
			if err == nil && onYes != nil {
				onYes(v)
			}
		},
	}, arg)
}

func (cr *rndCampaignRun) act(i int, a rndAction) {
	r := rand.New(rand.NewPCG(a.P, uint64(i)))
	v := cr.last
	switch a.Kind {
	case "review":
		who := rndPick(r, "max", "ana", "bea", "zed")
		in := CampaignReviewInput{ReviewerID: who, Round: v.Round, Verdict: VerdictApprove}
		if r.IntN(5) == 0 {
			in.Round--
		}
		if r.IntN(3) == 0 {
			in.Verdict = VerdictChanges
			if r.IntN(4) > 0 {
				in.Comment = "more detail"
			}
		}
		cr.update(UpdateCampaignReview, in, func(any) { cr.reviews = append(cr.reviews, in) })
	case "revise":
		spec := cr.plan.Spec
		spec.Audience = fmt.Sprintf("revision %d", i)
		if r.IntN(6) == 0 {
			spec.ID = "other"
		}
		cr.update(UpdateCampaignRevise, CampaignReviseInput{Spec: spec, Actor: "owner:mo@example.com"}, nil)
	case "end":
		cr.update(UpdateCampaignEnd, CampaignEndInput{Actor: rndPick(r, "owner:mo@example.com", "", "admin:ops"), Reason: "by hand"}, func(any) {
			cr.endYes = cr.env.Now()
		})
	case "numbers-slow":
		cr.st.mu.Lock()
		cr.st.numDelay = rndDur(r, 0, time.Minute, 5*time.Minute, 30*time.Minute)
		cr.st.maxDelay = max(cr.st.maxDelay, cr.st.numDelay)
		cr.st.mu.Unlock()
	case "mail-outage":
		cr.w.mu.Lock()
		cr.w.mailDown = cr.env.Now().Add(rndDur(r, 90*time.Second, 10*time.Minute, 45*time.Minute))
		cr.w.mu.Unlock()
	case "mail-slow":
		cr.w.mu.Lock()
		cr.w.mailDelay = rndDur(r, 0, 30*time.Second, 2*time.Minute, 10*time.Minute)
		cr.w.mu.Unlock()
	}
}

// checkEvents: every clock of the campaign on its instant.
func (cr *rndCampaignRun) checkEvents() {
	cr.st.mu.Lock()
	defer cr.st.mu.Unlock()
	on := func(what string, got, want time.Time) {
		if got.Before(want) || got.Sub(want) > rndSLATol {
			cr.w.mu.Lock()
			cr.w.violate("sla: campaign: %s at %s, due %s (%+v off)", what, rndStamp(got), rndStamp(want), got.Sub(want))
			cr.w.mu.Unlock()
		}
	}
	var live time.Time
	for _, e := range cr.st.events {
		switch e.Kind {
		case "review-escalated":
			d, _ := time.Parse(time.RFC3339Nano, e.Data["deadline"])
			on("review escalation", e.At, d)
		case "live":
			live = e.At
		case "ended":
			if e.Actor == "system" && !cr.plan.Spec.EndsAt.IsZero() && !live.IsZero() {
				// Approved after its end date, a campaign ends as it goes live.
				want := cr.plan.Spec.EndsAt.Time
				if live.After(want) {
					want = live
				}
				// An end date on a check's instant ends after that check: its
				// reads of the store may be slow (never its mail).
				slack := time.Duration(0)
				for _, a := range cr.st.asks {
					if a.to.Equal(want) {
						slack = 2 * cr.st.maxDelay
					}
				}
				if e.At.After(want) && e.At.Sub(want) <= slack {
					want = e.At
				}
				on("end date", e.At, want)
			}
		}
	}
	every := cr.plan.Spec.CheckEvery()
	seen := map[time.Time]bool{}
	for _, a := range cr.st.asks {
		if seen[a.to] || live.IsZero() || a.to.Sub(a.from) != every {
			continue
		}
		seen[a.to] = true
		k := a.to.Sub(live) / every
		if a.to.Sub(live)%every != 0 || k < 1 {
			cr.w.mu.Lock()
			cr.w.violate("sla: campaign: a period check ends at %s, not a whole number of periods after live at %s", rndStamp(a.to), rndStamp(live))
			cr.w.mu.Unlock()
		}
		on(fmt.Sprintf("period %d check", k), a.at, a.to)
	}
}
