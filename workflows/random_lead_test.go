package workflows

// The lead half of the randomized schedules: a plan (policy, directory,
// start, actions at offsets or on computed deadlines) drawn from a seed, run
// in the time-skipping test environment, with invariants checked before
// every action, every two hours of workflow time, and at the end.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
	"github.com/batonhq/baton/internal/domain"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// rndAction is one thing that happens to a lead or a campaign.
type rndAction struct {
	At    time.Duration // offset from the start
	Align bool          // at At, look up the running deadline and act on it (+Delta)
	Delta time.Duration
	Kind  string
	P     uint64 // the action's own choices (who, what) at the time it runs
}

func (a rndAction) String() string {
	s := fmt.Sprintf("%s@%s", a.Kind, a.At)
	if a.Align {
		s += fmt.Sprintf("→deadline%+v", a.Delta)
	}
	return s
}

// rndLeadPlan is everything one lead schedule needs.
type rndLeadPlan struct {
	Start      time.Time
	Policy     domain.Policy
	Reps       []domain.PersonRef
	Caps       [][2]int // per rep: cap and open leads elsewhere
	Leader     bool
	MinScore   int
	Required   []string
	FirstScore int
	MaxTouches int // LeadInput.MaxTouchesPerRun: small values make runs continue as new
	Horizon    time.Duration
	SecondLife bool
	Actions    []rndAction
}

var rndLeadKinds = []struct {
	kind   string
	weight int
}{
	{"touch", 6}, {"touch-b", 3}, {"touch-signal", 2}, {"engage", 4}, {"accept", 10}, {"reject", 4}, {"contact", 5},
	{"snooze", 2}, {"close", 4}, {"reassign", 4}, {"takeover", 2}, {"extend", 2}, {"away", 3}, {"deactivate", 2},
	{"activate", 1}, {"erase", 2}, {"bounce", 2}, {"mail-outage", 3}, {"mail-slow", 3}, {"mail-refuse", 2},
	{"store-slow", 2}, {"erase-slow", 2}, {"campaign-ended", 1}, {"accept-late", 3}, {"cap-change", 2}, {"reassign-away", 2},
}

func rndPick(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

func rndDur(r *rand.Rand, xs ...time.Duration) time.Duration { return xs[r.IntN(len(xs))] }

func genLeadPlan(r *rand.Rand) rndLeadPlan {
	ny, _ := time.LoadLocation("America/New_York")
	p := rndLeadPlan{Horizon: 7 * 24 * time.Hour}
	p.Start = time.Date(testYear, 11, 16+r.IntN(7), r.IntN(24), r.IntN(4)*15, 0, 0, ny)
	pol := domain.Policy{Name: "random", AcceptWithin: domain.Duration(rndDur(r, 30*time.Minute, time.Hour, 2*time.Hour, 4*time.Hour)),
		FirstContactWithin: domain.Duration(rndDur(r, 0, time.Hour, 2*time.Hour)),
		OnMiss:             domain.OnMiss{Reassign: r.IntN(3), Escalate: r.IntN(4) > 0}, Calendar: domain.CalendarRep}
	switch r.IntN(3) {
	case 1:
		pol.Reminders = []float64{0.5}
	case 2:
		pol.Reminders = []float64{0.25, 0.75}
	}
	if r.IntN(5) < 3 {
		h := []string{"09:00-17:00"}
		pol.BusinessHours = bizclock.Spec{Hours: map[string][]string{"mon": h, "tue": h, "wed": h, "thu": h, "fri": h}}
	}
	if r.IntN(2) == 0 {
		pol.SnoozeMax = domain.Duration(72 * time.Hour)
	}
	if pol.FirstContactWithin > 0 && r.IntN(3) == 0 {
		pol.Cadence = domain.Cadence{Touches: 3, Within: domain.Duration(16 * time.Hour)}
	}
	pol.NobodyEligible = rndPick(r, domain.NobodyEscalate, domain.NobodyEscalate, domain.NobodyManager)
	pol.OutOfOffice = rndPick(r, domain.AwayReassign, domain.AwayPause)
	if r.IntN(6) == 0 {
		pol.RecycleCooldown = domain.Duration(rndDur(r, time.Hour, 30*time.Hour))
	}
	if r.IntN(3) == 0 {
		pol.LeaderAlert = domain.LeaderAlert{Misses: 1, Within: domain.Duration(7 * 24 * time.Hour)}
	}
	if err := pol.Validate(); err != nil {
		panic(err)
	}
	p.Policy = pol
	names := []string{"ana", "bea", "cy", "dov"}
	for _, n := range names[:r.IntN(5)] {
		p.Reps = append(p.Reps, domain.PersonRef{ID: n, Name: strings.ToUpper(n[:1]) + n[1:], Email: n + "@example.com",
			TimeZone: rndPick(r, "America/New_York", "America/New_York", "Europe/Berlin")})
		c := rndPick2(r, 0, 0, 1, 2)
		p.Caps = append(p.Caps, [2]int{c, r.IntN(c + 1)})
	}
	p.Leader = r.IntN(3) > 0
	p.MinScore = rndPick2(r, 0, 0, 50)
	if r.IntN(5) == 0 {
		p.Required = []string{"company"}
	}
	p.FirstScore = r.IntN(101)
	p.SecondLife = r.IntN(6) == 0
	p.MaxTouches = rndPick2(r, 0, 0, 0, 2, 4)
	total := 0
	for _, k := range rndLeadKinds {
		total += k.weight
	}
	n := 3 + r.IntN(18)
	for i := 0; i < n; i++ {
		x, kind := r.IntN(total), ""
		for _, k := range rndLeadKinds {
			if x -= k.weight; x < 0 {
				kind = k.kind
				break
			}
		}
		a := rndAction{Kind: kind, P: r.Uint64()}
		if r.IntN(5) < 3 {
			a.At = time.Duration(r.Int64N(int64(36 * time.Hour)))
		} else {
			a.At = time.Duration(r.Int64N(int64(p.Horizon - 6*time.Hour)))
		}
		a.At = a.At.Truncate(time.Second)
		if r.IntN(10) < 3 {
			a.Align = true
			a.Delta = rndDur(r, 0, 0, -time.Second, time.Second, 30*time.Second, time.Minute)
		}
		if kind == "accept-late" {
			// The holder clicks as the deadline passes, while what the
			// lapse started (records, mail) is still under way.
			a.Align, a.Delta = true, rndDur(r, 0, time.Second, 30*time.Second, 90*time.Second)
		}
		if len(p.Actions) > 0 && r.IntN(4) == 0 {
			// A burst: right on the heels of the previous action, while
			// what it started is still under way.
			prev := p.Actions[len(p.Actions)-1]
			a.At, a.Align = prev.At+time.Duration(r.IntN(121))*time.Second, prev.Align
			a.Delta = prev.Delta + time.Duration(r.IntN(121))*time.Second
		}
		p.Actions = append(p.Actions, a)
	}
	return p
}

func rndPick2(r *rand.Rand, xs ...int) int { return xs[r.IntN(len(xs))] }

// rndMissedKinds are a manager's actions on a missed lead (issue 16), drawn
// from a stream of their own so the other actions of a seed stay as they were.
var rndMissedKinds = []string{"hand", "hand", "hand-self", "extend-contact", "nudge", "nudge"}

// genMissedActions draws one to four of them, most on the heels of a
// deadline (a missed first contact, an escalation) or of each other.
func genMissedActions(r *rand.Rand, p rndLeadPlan) []rndAction {
	var out []rndAction
	for i, n := 0, 1+r.IntN(4); i < n; i++ {
		a := rndAction{Kind: rndMissedKinds[r.IntN(len(rndMissedKinds))], P: r.Uint64()}
		a.At = time.Duration(r.Int64N(int64(48 * time.Hour))).Truncate(time.Second)
		if r.IntN(3) > 0 {
			a.Align = true
			a.Delta = rndDur(r, 0, time.Second, 30*time.Second, 5*time.Minute, time.Hour)
		}
		if len(out) > 0 && r.IntN(3) == 0 {
			prev := out[len(out)-1]
			a.At, a.Align, a.Delta = prev.At, prev.Align, prev.Delta+time.Duration(r.IntN(90))*time.Second
		}
		out = append(out, a)
	}
	return out
}

// rndClaim is an update answered "yes", to hold afterwards.
type rndClaim struct {
	cycle int // the lead's cycle when answered: a recycled lead starts over
	kind  string
	rep   string
	state domain.LeadState
	at    time.Time
}

type rndPending struct {
	name     string
	sent     time.Time
	answered bool
	reported bool
}

// rndLeadRun is one life of the lead in one test environment.
type rndLeadRun struct {
	plan     rndLeadPlan
	w        *rndWorld
	env      *testsuite.TestWorkflowEnvironment
	trace    []string
	claims   []rndClaim
	pending  map[string]*rndPending
	nUpd     int
	last     domain.LeadSnapshot
	stuck    domain.LeadState // state seen at the previous check, and since when
	since    time.Time
	perMin   map[int64]int
	handing  int // hand-overs sent and not answered: a holder's claim may be moving
	spun     bool
	ended    time.Time
	erased   bool
	inflight rndInflight
	done     map[int]bool // actions carried out (a run that continues as new hands the rest on)
	runs     int          // continue-as-new hand-overs
}

// rndInflight tracks the activities in flight. The test environment runs
// activities on goroutines, so when two are in flight at once their
// completions race, and a second run of the same schedule may differ for
// reasons that are the environment's, not the workflow's.
type rndInflight struct {
	mu  sync.Mutex
	m   map[string]bool
	max int
}

func (f *rndInflight) start(info *activity.Info) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]bool{}
	}
	f.m[info.ActivityID] = true
	f.max = max(f.max, len(f.m))
}

func (f *rndInflight) done(info *activity.Info) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, info.ActivityID)
}

func (f *rndInflight) listen(env *testsuite.TestWorkflowEnvironment) {
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) { f.done(info) })
	env.SetOnLocalActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) { f.done(info) })
	env.SetOnActivityCanceledListener(f.done)
	env.SetOnLocalActivityCanceledListener(f.done)
}

const (
	rndLeadID      = "ld_rnd"
	rndEmail       = "dana@acme.example"
	rndAnswerBound = 4 * time.Hour // every update is answered within this much workflow time
	rndSLATol      = 10 * time.Second
	rndSpinLimit   = 200 // activities in one workflow minute
)

func (lr *rndLeadRun) violate(code, format string, args ...any) {
	lr.w.mu.Lock()
	defer lr.w.mu.Unlock()
	lr.w.violate("%s: life %d at %s: %s", code, lr.w.life, rndStamp(lr.env.Now()), fmt.Sprintf(format, args...))
}

func rndCampaignInfo(plan rndLeadPlan, id string) domain.CampaignInfo {
	pol := plan.Policy
	return domain.CampaignInfo{ID: id, Name: strings.ToUpper(id), TeamID: "emea", Status: "live", MinScore: plan.MinScore,
		AcceptWindow: time.Duration(pol.AcceptWithin), Policy: &pol, RequiredFields: plan.Required,
		Owner: domain.PersonRef{ID: "mo", Name: "Mo", Email: "mo@example.com"}}
}

// runLead runs the plan's first life, then (if planned) a second one after
// retention, on the same store and mailer. It returns the violations and a
// trace for the determinism check.
func runLead(plan rndLeadPlan) ([]string, []string, bool) {
	w := newRndWorld()
	w.manager = domain.PersonRef{ID: "max", Name: "Max Manager", Email: "max@example.com", TimeZone: "America/New_York"}
	if plan.Leader {
		w.leader = domain.PersonRef{ID: "sam", Name: "Sam Leader", Email: "sam@example.com", TimeZone: "America/New_York"}
	}
	for i, r := range plan.Reps {
		w.reps = append(w.reps, &rndRep{ref: r, active: true, cap: plan.Caps[i][0], open: plan.Caps[i][1]})
	}
	for _, id := range []string{"webinar-q3", "ebook-q4"} {
		c := rndCampaignInfo(plan, id)
		c.SalesLeader = w.leader
		w.campaigns[id] = c
	}
	var trace []string
	w.life = 1
	lr := runLeadLife(plan, w, plan.Start, plan.Actions, plan.Horizon, Touch{ID: "req-1", Campaign: "webinar-q3", Email: rndEmail,
		Name: "Dana Lee", Company: "Acme", Country: "US", Score: plan.FirstScore, Source: "form", Phone: "+14155550100"})
	trace = append(trace, lr.trace...)
	concurrent := lr.inflight.max > 1
	if plan.SecondLife && !lr.spun {
		// Months later, past retention: the same person, a new life.
		w.mu.Lock()
		w.life, w.erased = 2, false
		w.mailDown, w.mailDelay, w.slowStore, w.refuseTo = time.Time{}, 0, 0, map[string]bool{}
		for _, r := range w.reps {
			r.active = true
		}
		for id, c := range w.campaigns {
			c.Status = "live"
			w.campaigns[id] = c
		}
		w.mu.Unlock()
		second := []rndAction{{At: 10 * time.Minute, Kind: "accept", P: 1}, {At: 20 * time.Minute, Kind: "contact", P: 1}}
		lr2 := runLeadLife(plan, w, plan.Start.Add(120*24*time.Hour), second, 24*time.Hour, Touch{ID: "req-again", Campaign: "webinar-q3",
			Email: rndEmail, Name: "Dana Lee", Company: "Acme", Country: "US", Score: 100, Source: "form"})
		trace = append(trace, lr2.trace...)
		concurrent = concurrent || lr2.inflight.max > 1
	}
	for life := 1; life <= w.life; life++ {
		rndCheckEvents(plan, w, life)
		if os.Getenv("BATON_EVENTS") != "" {
			for _, e := range w.lifeEvents(life) {
				fmt.Printf("life %d %3d %s %-14s %-28s %s %v\n", life, e.ev.Seq, rndStamp(e.ev.At), e.ev.Kind, e.ev.Key, e.ev.Actor, e.ev.Data)
			}
		}
	}
	trace = append(trace, rndWorldTrace(w)...)
	return w.violations, trace, concurrent
}

func runLeadLife(plan rndLeadPlan, w *rndWorld, start time.Time, actions []rndAction, horizon time.Duration, first Touch) *rndLeadRun {
	lr := &rndLeadRun{plan: plan, w: w, pending: map[string]*rndPending{}, perMin: map[int64]int{}, done: map[int]bool{}}
	in := LeadInput{LeadID: rndLeadID, First: &first, MaxTouchesPerRun: plan.MaxTouches}
	cur := start
	// A run that continues as new goes on in a fresh environment from the
	// instant it stopped, with the schedule's remaining actions.
	for run := 0; run < 50; run++ {
		next, ok := lr.runOnce(in, start, cur, actions, horizon)
		if !ok {
			break
		}
		in, cur = next, lr.env.Now()
		lr.runs++
	}
	return lr
}

func (lr *rndLeadRun) runOnce(in LeadInput, start, cur time.Time, actions []rndAction, horizon time.Duration) (LeadInput, bool) {
	w := lr.w
	env := rndEnv()
	env.SetStartTime(cur)
	env.SetTestTimeout(20 * time.Second)
	w.mu.Lock()
	w.now = env.Now
	w.mu.Unlock()
	lr.env = env
	elapsed := cur.Sub(start)
	env.RegisterWorkflow(LeadWorkflow)
	acts := rndActivities(w)
	env.RegisterActivity(acts)
	mailDelay := func() time.Duration { w.mu.Lock(); defer w.mu.Unlock(); return w.mailDelay }
	storeDelay := func() time.Duration { w.mu.Lock(); defer w.mu.Unlock(); return w.slowStore }
	env.OnActivity(acts.Notify, mock.Anything, mock.Anything).AfterFn(mailDelay).Return(acts.Notify)
	env.OnActivity(acts.Record, mock.Anything, mock.Anything).AfterFn(storeDelay).Return(acts.Record)
	eraseDelay := func() time.Duration { w.mu.Lock(); defer w.mu.Unlock(); return w.slowStore + w.eraseDelay }
	env.OnActivity(acts.Erase, mock.Anything, mock.Anything).AfterFn(eraseDelay).Return(acts.Erase)
	count := func(name string) {
		m := env.Now().Unix() / 60
		lr.perMin[m]++
		if lr.perMin[m] > rndSpinLimit && !lr.spun {
			lr.spun = true
			lr.violate("progress", "more than %d activities (last: %s) within one workflow minute with no timer between: the workflow spins", rndSpinLimit, name)
			env.CancelWorkflow()
		}
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		count(info.ActivityType.Name)
		lr.inflight.start(info)
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		count(info.ActivityType.Name)
		lr.inflight.start(info)
	})
	lr.inflight.listen(env)

	for i, a := range actions {
		i, a := i, a
		if lr.done[i] || a.At < elapsed {
			continue
		}
		act := func() {
			if !lr.done[i] {
				lr.done[i] = true
				lr.check()
				lr.act(i, a)
			}
		}
		env.RegisterDelayedCallback(func() {
			lr.check()
			if !a.Align {
				act()
				return
			}
			due := lr.runningDeadline()
			if due.IsZero() {
				act()
				return
			}
			d := due.Add(a.Delta).Sub(env.Now())
			if d <= 0 {
				act()
				return
			}
			env.RegisterDelayedCallback(act, d)
		}, max(a.At-elapsed, time.Millisecond))
	}
	for t := 2 * time.Hour; t < horizon-elapsed; t += 2 * time.Hour {
		env.RegisterDelayedCallback(lr.check, t)
	}
	env.RegisterDelayedCallback(func() {
		lr.check()
		lr.final(true)
		env.CancelWorkflow()
	}, max(horizon-elapsed, time.Millisecond))

	panicked := false
	func() {
		defer func() {
			if p := recover(); p != nil {
				panicked = true
				msg := fmt.Sprint(p)
				if len(msg) > 600 {
					msg = msg[:600] + "…"
				}
				w.mu.Lock()
				w.violate("progress: life %d: the run neither ended nor waited on a timer (test environment: %s)", w.life, msg)
				w.mu.Unlock()
			}
		}()
		env.ExecuteWorkflow(LeadWorkflow, in)
	}()
	if panicked {
		return in, false
	}
	lr.ended = env.Now()
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	var can *workflow.ContinueAsNewError
	switch {
	case err == nil:
		var out domain.LeadSnapshot
		if env.GetWorkflowResult(&out) == nil {
			lr.last = out
			lr.verifyClaims(out, "at the end")
		}
		lr.final(false)
	case errors.As(err, &can):
		// Everything answered before the run handed over.
		lr.final(false)
		var next LeadInput
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			lr.violate("failed", "continue-as-new input does not decode: %v", err)
			return in, false
		}
		return next, !lr.spun
	case errors.As(err, &canceled):
	default:
		lr.violate("failed", "the workflow failed: %v", err)
	}
	return in, false
}

func (lr *rndLeadRun) query() (domain.LeadSnapshot, bool) {
	v, err := lr.env.QueryWorkflow(QueryLead)
	if err != nil {
		return domain.LeadSnapshot{}, false
	}
	var s domain.LeadSnapshot
	if v.Get(&s) != nil {
		return s, false
	}
	return s, true
}

func (lr *rndLeadRun) runningDeadline() time.Time {
	v, err := lr.env.QueryWorkflow(QueryDeadlines)
	if err != nil {
		return time.Time{}
	}
	var d DeadlinesView
	if v.Get(&d) != nil || len(d.Deadlines) == 0 {
		return time.Time{}
	}
	return d.Deadlines[0].Due
}

// check runs the invariants that hold at any instant.
func (lr *rndLeadRun) check() {
	now := lr.env.Now()
	s, ok := lr.query()
	if !ok {
		return
	}
	lr.last = s
	lr.verifyClaims(s, "afterwards")
	// Nobody can act on an MQL or captured lead: it must move on at once.
	if s.State != lr.stuck {
		lr.stuck, lr.since = s.State, now
	} else if (s.State == domain.StateMQL || s.State == domain.StateCaptured) && now.Sub(lr.since) > time.Hour && !lr.spun {
		lr.violate("stranded", "the lead has been %s since %s: no rep can accept it and no manager can move it", s.State, rndStamp(lr.since))
		lr.since = now.Add(1000 * time.Hour)
	}
	for id, p := range lr.pending {
		if !p.answered && !p.reported && now.Sub(p.sent) > rndAnswerBound {
			p.reported = true
			lr.violate("unanswered", "update %s (%s) sent at %s has no answer after %s", p.name, id, rndStamp(p.sent), rndAnswerBound)
		}
	}
}

func (lr *rndLeadRun) verifyClaims(s domain.LeadSnapshot, when string) {
	if s.State == domain.StateErased || lr.erased {
		if hasPII(s) {
			lr.violate("erasure", "the workflow state holds personal data %s the erasure: name=%q company=%q country=%q email=%q",
				when, s.Name, s.Company, s.Country, s.Email)
		}
		lr.w.mu.Lock()
		row := lr.w.row
		lr.w.mu.Unlock()
		if lr.w.erased && hasPII(row) {
			lr.w.mu.Lock()
			lr.w.violate("erasure: life %d: the stored row holds personal data after the erasure: %+v", lr.w.life, row)
			lr.w.mu.Unlock()
		}
		return
	}
	for i, c := range lr.claims {
		if c.kind == "" || s.Cycle != c.cycle {
			continue
		}
		if lr.handing > 0 && (c.kind == "accept" || c.kind == "takeover" || c.kind == "hand") {
			continue // a manager is handing the lead on: the holder may change
		}
		bad := false
		switch c.kind {
		case "accept", "takeover", "hand":
			closed := s.State == domain.StateConverted || s.State == domain.StateDisqualified || s.State == domain.StateRecycled
			bad = !(s.State.Owned() || closed) || s.Owner.ID != c.rep
		case "close":
			bad = s.State != c.state
		case "erase":
			bad = s.State != domain.StateErased
		}
		if bad {
			lr.violate("yes-true", "%s answered yes for %s at %s, but %s the lead is %s held by %q", c.kind, c.rep, rndStamp(c.at), when, s.State, s.Owner.ID)
			lr.claims[i].kind = "" // once
		}
	}
}

// final checks what must hold when the run ends or the horizon is reached.
func (lr *rndLeadRun) final(horizon bool) {
	now := lr.env.Now()
	for id, p := range lr.pending {
		if !p.answered && !p.reported && (!horizon || now.Sub(p.sent) > rndAnswerBound) {
			p.reported = true
			lr.violate("unanswered", "update %s (%s) sent at %s was never answered (the run %s)", p.name, id, rndStamp(p.sent),
				map[bool]string{true: "was still going at the horizon", false: "ended"}[horizon])
		}
	}
}

// update sends one update and keeps its answer.
func (lr *rndLeadRun) update(name string, arg any, onYes func(v any)) {
	lr.updateThen(name, arg, onYes, nil)
}

// updateThen is update with a callback for any answer.
func (lr *rndLeadRun) updateThen(name string, arg any, onYes func(v any), answered func()) {
	lr.nUpd++
	id := fmt.Sprintf("%s-%d", name, lr.nUpd)
	p := &rndPending{name: name, sent: lr.env.Now()}
	lr.pending[id] = p
	lr.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) {
			p.answered = true
			lr.trace = append(lr.trace, fmt.Sprintf("%s refused %s", id, rndErrType(err)))
			if answered != nil {
				answered()
			}
		},
		OnComplete: func(v any, err error) {
			p.answered = true
			lr.trace = append(lr.trace, fmt.Sprintf("%s done %s", id, rndErrType(err)))
			if err == nil && onYes != nil {
				onYes(v)
			}
			if answered != nil {
				answered()
			}
		},
	}, arg)
}

func rndErrType(err error) string {
	if err == nil {
		return "yes"
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return "error"
}

func (lr *rndLeadRun) otherRep(r *rand.Rand, not string) string {
	ids := []string{"ghost", "max"}
	for _, x := range lr.w.reps {
		if x.ref.ID != not {
			ids = append(ids, x.ref.ID)
		}
	}
	return ids[r.IntN(len(ids))]
}

// act carries out one action, its choices drawn from the action's own seed.
func (lr *rndLeadRun) act(i int, a rndAction) {
	r := rand.New(rand.NewPCG(a.P, uint64(i)))
	s, ok := lr.query()
	if !ok {
		return
	}
	env, w, now := lr.env, lr.w, lr.env.Now()
	owner, attempt := s.Owner.ID, s.Attempt
	right := r.IntN(10) < 7
	rep := owner
	if !right {
		rep = lr.otherRep(r, owner)
	}
	switch a.Kind {
	case "touch", "touch-b", "touch-signal":
		t := Touch{ID: fmt.Sprintf("t-%d", i), Campaign: "webinar-q3", Email: rndEmail, Score: r.IntN(101), Source: "form"}
		if a.Kind == "touch-b" {
			t.Campaign = "ebook-q4"
		}
		if r.IntN(5) == 0 {
			t.ID = "req-1" // a retried first request
		}
		if r.IntN(2) == 0 {
			t.Name, t.Company, t.Country = "Dana Lee", "Acme "+strconv.Itoa(i), "DE"
		}
		if r.IntN(10) == 0 {
			t.Email = "someone@else.example"
		}
		if a.Kind == "touch-signal" {
			env.SignalWorkflow(SignalTouch, t)
			return
		}
		lr.update(UpdateIntake, t, nil)
	case "engage":
		types := []string{"page_view", "email_click", "webinar_attended", "demo_request"}
		id := fmt.Sprintf("ev-%d", r.IntN(4))
		env.SignalWorkflow(SignalEngagement, EngagementEvent{ID: id, Type: types[r.IntN(len(types))], Points: r.IntN(80) - 20, Source: "web", At: now})
	case "accept", "accept-late":
		in := AcceptInput{RepID: rep, Attempt: attempt}
		if a.Kind == "accept-late" {
			in.RepID = owner
		}
		if right && r.IntN(5) == 0 {
			in.Attempt = attempt - 1
		}
		lr.update(UpdateAccept, in, func(any) {
			lr.claims = append(lr.claims, rndClaim{cycle: s.Cycle, kind: "accept", rep: in.RepID, at: lr.env.Now()})
		})
	case "reject":
		reason := domain.RejectReasons[r.IntN(len(domain.RejectReasons))]
		if r.IntN(8) == 0 {
			reason = "meh"
		}
		lr.update(UpdateReject, RejectInput{RepID: rep, Attempt: attempt, Reason: reason}, nil)
	case "contact":
		lr.update(UpdateContact, ContactInput{RepID: rep, Channel: "call", Note: "n"}, nil)
	case "snooze":
		lr.update(UpdateSnooze, SnoozeInput{RepID: rep, Until: now.Add(rndDur(r, time.Hour, 20*time.Hour, 60*time.Hour, 100*time.Hour))}, nil)
	case "close":
		in := CloseInput{RepID: rep}
		var st domain.LeadState
		switch r.IntN(3) {
		case 0:
			in.Outcome, in.Reference, st = OutcomeConverted, "OPP-1", domain.StateConverted
		case 1:
			in.Outcome, in.Reason, st = OutcomeDisqualified, "bad-fit", domain.StateDisqualified
		default:
			in.Outcome, in.Reason, st = OutcomeRecycled, "not-ready", domain.StateRecycled
		}
		lr.update(UpdateClose, in, func(any) {
			lr.claims = append(lr.claims, rndClaim{cycle: s.Cycle, kind: "close", rep: in.RepID, state: st, at: lr.env.Now()})
		})
	case "reassign-away":
		// A manager's pick, and the holder's out-of-office a moment later,
		// while the pick is still being carried out.
		to := lr.otherRep(r, owner)
		lr.update(UpdateReassign, ReassignInput{ManagerID: "max", ToRep: to, Reason: "a better fit"}, func(v any) {
			if got, _ := v.(domain.LeadSnapshot); got.State != domain.StateErased && got.Owner.ID != to {
				lr.violate("yes-true", "reassign to %s by max answered yes, but the answer shows the lead %s held by %q", to, got.State, got.Owner.ID)
			}
		})
		env.RegisterDelayedCallback(func() {
			lr.update(UpdateAway, AwayInput{RepID: owner, Until: lr.env.Now().Add(8 * time.Hour)}, nil)
		}, time.Duration(r.IntN(120))*time.Second)
	case "reassign", "takeover":
		mgr := rndPick(r, "max", "max", "max", "sam", "ana", SystemDirectory)
		in := ReassignInput{ManagerID: mgr, Reason: "random schedule"}
		if a.Kind == "takeover" {
			in.ToRep, in.TakeOver = mgr, true
		} else {
			switch r.IntN(4) {
			case 0:
				in.ToRep = ""
			case 1:
				in.ToRep = "ghost"
			default:
				in.ToRep = lr.otherRep(r, owner)
			}
		}
		lr.update(UpdateReassign, in, func(v any) {
			got, _ := v.(domain.LeadSnapshot)
			switch {
			case in.TakeOver:
				lr.claims = append(lr.claims, rndClaim{cycle: s.Cycle, kind: "takeover", rep: in.ToRep, at: lr.env.Now()})
			case in.ToRep != "" && got.State != domain.StateErased && got.Owner.ID != in.ToRep:
				lr.violate("yes-true", "reassign to %s by %s answered yes, but the answer shows the lead %s held by %q", in.ToRep, in.ManagerID, got.State, got.Owner.ID)
			}
		})
	case "hand", "hand-self":
		mgr := rndPick(r, "max", "max", "max", "sam", "ana")
		in := HandInput{ManagerID: mgr, ToRep: lr.otherRep(r, owner), Attempt: attempt, Reason: "random schedule"}
		if a.Kind == "hand-self" {
			in.ToRep, in.TakeOver = mgr, true
		}
		if r.IntN(6) == 0 {
			in.Attempt = attempt - 1
		}
		lr.handing++
		lr.updateThen(UpdateHand, in, func(v any) {
			got, _ := v.(domain.LeadSnapshot)
			if got.State != domain.StateErased && got.Owner.ID != in.ToRep {
				lr.violate("yes-true", "hand to %s by %s answered yes, but the answer shows the lead %s held by %q", in.ToRep, in.ManagerID, got.State, got.Owner.ID)
			}
			// The manager's move supersedes the earlier holders' "yes".
			for j, c := range lr.claims {
				if c.cycle == s.Cycle && (c.kind == "accept" || c.kind == "takeover" || c.kind == "hand") {
					lr.claims[j].kind = ""
				}
			}
			lr.claims = append(lr.claims, rndClaim{cycle: s.Cycle, kind: "hand", rep: in.ToRep, at: lr.env.Now()})
		}, func() { lr.handing-- })
	case "extend-contact":
		in := ExtendContactInput{ManagerID: rndPick(r, "max", "max", "sam", "ana"), Attempt: attempt,
			By: rndDur(r, time.Second, 10*time.Minute, time.Hour, 3*time.Hour), Reason: "more time"}
		lr.update(UpdateExtendContact, in, nil)
	case "nudge":
		click := fmt.Sprintf("click-%d", i)
		if r.IntN(4) == 0 {
			click = "click-again" // the same click twice: one nudge
		}
		lr.update(UpdateNudge, NudgeInput{ManagerID: rndPick(r, "max", "max", "sam", "bea"), Attempt: attempt, ClickID: click, Note: "please call"}, nil)
	case "extend":
		lr.update(UpdateExtend, ExtendInput{ManagerID: "max", By: rndDur(r, 10*time.Minute, 30*time.Minute, time.Hour), Reason: "more time"}, nil)
	case "away":
		in := AwayInput{RepID: rep, Until: now.Add(rndDur(r, time.Hour, 8*time.Hour, 50*time.Hour))}
		lr.update(UpdateAway, in, func(v any) {
			got, _ := v.(domain.LeadSnapshot)
			if w.campaigns["webinar-q3"].Policy.OutOfOffice != domain.AwayPause && (got.State == domain.StateOffered || got.State == domain.StateEscalated) && got.Owner.ID == in.RepID {
				lr.violate("yes-true", "away of %s answered yes under a reassign policy, but the answer still offers the lead to them", in.RepID)
			}
		})
	case "deactivate", "activate":
		if len(w.reps) == 0 {
			return
		}
		x := w.reps[r.IntN(len(w.reps))]
		w.mu.Lock()
		x.active = a.Kind == "activate"
		w.mu.Unlock()
		if a.Kind == "deactivate" && x.ref.ID == owner && (s.State == domain.StateOffered || s.State == domain.StateEscalated) {
			lr.update(UpdateReassign, ReassignInput{ManagerID: SystemDirectory, Reason: "deactivated in the directory"}, nil)
		}
	case "erase":
		lr.update(UpdateErase, EraseInput{Actor: "admin:ops", Reason: domain.EraseReasons[r.IntN(2)]}, func(any) {
			lr.erased = true
			lr.claims = append(lr.claims, rndClaim{cycle: s.Cycle, kind: "erase", at: lr.env.Now()})
		})
		if r.IntN(2) == 0 {
			// The form the person filled in is retried while the purge runs.
			t := Touch{ID: fmt.Sprintf("t-%d-again", i), Campaign: "webinar-q3", Email: rndEmail, Name: "Dana Lee", Company: "Acme", Country: "DE", Score: 10, Phone: "+4930123456"}
			env.RegisterDelayedCallback(func() {
				if r.IntN(2) == 0 {
					env.SignalWorkflow(SignalTouch, t)
				} else {
					lr.update(UpdateIntake, t, nil)
				}
			}, time.Duration(1+r.IntN(90))*time.Second)
		}
	case "bounce":
		env.SignalWorkflow(SignalMailBounced, MailBounce{Kind: "offer", Email: s.Owner.Email, Attempt: attempt, Event: "bounce", Reason: "550"})
	case "mail-outage":
		w.mu.Lock()
		w.mailDown = now.Add(rndDur(r, 90*time.Second, 10*time.Minute, 45*time.Minute))
		w.mu.Unlock()
	case "mail-slow":
		w.mu.Lock()
		w.mailDelay = rndDur(r, 0, 30*time.Second, 2*time.Minute, 10*time.Minute)
		w.mu.Unlock()
	case "mail-refuse":
		to := rndPick(r, "ana@example.com", "bea@example.com", "max@example.com", "sam@example.com")
		w.mu.Lock()
		w.refuseTo[to] = true
		w.mu.Unlock()
		env.RegisterDelayedCallback(func() { w.mu.Lock(); delete(w.refuseTo, to); w.mu.Unlock() }, rndDur(r, 10*time.Minute, 3*time.Hour))
	case "store-slow":
		w.mu.Lock()
		w.slowStore = rndDur(r, 0, 100*time.Millisecond, time.Second)
		w.mu.Unlock()
	case "cap-change":
		// The rep closes or takes a lead elsewhere.
		if len(w.reps) == 0 {
			return
		}
		x := w.reps[r.IntN(len(w.reps))]
		w.mu.Lock()
		x.open = max(0, x.open+rndPick2(r, -1, 1))
		w.mu.Unlock()
	case "erase-slow":
		w.mu.Lock()
		w.eraseDelay = rndDur(r, 0, 30*time.Second, 3*time.Minute)
		w.mu.Unlock()
	case "campaign-ended":
		w.mu.Lock()
		c := w.campaigns["webinar-q3"]
		c.Status = "ended"
		w.campaigns["webinar-q3"] = c
		w.mu.Unlock()
	}
}

// rndCheckEvents checks one life's stored events: every SLA action at the
// instant the domain's deadline math gives, at most one holder, and every
// offer actually sent.
func rndCheckEvents(plan rndLeadPlan, w *rndWorld, life int) {
	revs := w.lifeEvents(life)
	evs := make([]domain.Event, len(revs))
	for i, e := range revs {
		evs[i] = e.ev
	}
	pol := plan.Policy
	bad := func(code, format string, args ...any) {
		w.mu.Lock()
		w.violate("%s: life %d: %s", code, life, fmt.Sprintf(format, args...))
		w.mu.Unlock()
	}
	cal := func(id string) *bizclock.Calendar {
		w.mu.Lock()
		r, _ := w.rep(id)
		w.mu.Unlock()
		c, err := pol.CalendarFor(r.TimeZone)
		if err != nil {
			c, _ = bizclock.AlwaysOpen("UTC")
		}
		return c
	}
	add := func(c *bizclock.Calendar, t time.Time, d time.Duration) time.Time {
		x, err := c.Add(t, d)
		if err != nil {
			return t.Add(d)
		}
		return x
	}
	parse := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	on := func(what string, got, want time.Time) {
		if got.Before(want) || got.Sub(want) > rndSLATol {
			late := got.Sub(want)
			bad("sla", "%s at %s, due %s (%+v off)", what, rndStamp(got), rndStamp(want), late)
		}
	}
	keyN := func(k string) int { n, _ := strconv.Atoi(k[strings.LastIndex(k, ":")+1:]); return n }
	var owner string
	var acceptStart, acceptDue, acceptedAt, contactStart, contactDue, contactedAt, cadStart, cadDue, escDue time.Time
	lapsed, escDriven := false, false
	// An absence during the cadence pauses it: the running touch's deadline
	// and every later one move by the paused business time.
	var cadShift time.Duration
	cadRunning := false
	holders := map[int]map[string]bool{}
	cycle := 0
	for j, e := range evs {
		switch e.Kind {
		case "offered":
			owner = e.Data["rep"]
			acceptStart = e.At
			acceptDue = add(cal(owner), e.At, time.Duration(pol.AcceptWithin))
			if got := parse(e.Data["accept_by"]); !got.Equal(acceptDue) {
				bad("sla", "offer at %s says accept by %s; the policy gives %s", rndStamp(e.At), rndStamp(got), rndStamp(acceptDue))
				acceptDue = got
			}
			lapsed, escDriven = false, false
		case "extended", "paused":
			to := parse(e.Data["to"])
			if e.Data["phase"] == "accept" {
				acceptDue = to
			} else {
				contactDue = to
				if !cadDue.IsZero() {
					cadDue = to
				}
				if cadRunning && e.Kind == "paused" {
					c := cal(owner)
					cadShift += c.Elapsed(parse(e.Data["from"]), to)
				}
			}
		case "snoozed":
			if e.Data["contact_by_was"] != "" {
				contactDue = parse(e.Data["until"])
			}
		case "reminded":
			phase := e.Data["phase"]
			i := keyN(e.Key)
			if i < 1 || i > len(pol.Reminders) {
				bad("sla", "reminder %s has no place in the policy", e.Key)
				continue
			}
			if acceptStart.IsZero() {
				continue // its offer was not stored (a key collision, reported as such)
			}
			start, due := acceptStart, acceptDue
			switch {
			case phase == "contact":
				start, due = contactStart, contactDue
			case strings.HasPrefix(phase, "cadence"):
				start, due = cadStart, cadDue
			}
			c := cal(owner)
			on(fmt.Sprintf("%s reminder %d", phase, i), e.At, add(c, start, time.Duration(float64(c.Elapsed(start, due))*pol.Reminders[i-1])))
		case "lapsed":
			if !acceptDue.IsZero() {
				on("lapse of offer "+e.Data["rep"], e.At, acceptDue)
			}
			lapsed = true
		case "reassigned", "rejected", "unreachable", "unroutable":
			lapsed, escDriven = false, false
		case "accepted":
			acceptedAt = e.At
			if at := revs[j].lead.AcceptedAt; !at.IsZero() {
				acceptedAt = at // a take-over is accepted as of its offer
			}
			who := e.Actor[strings.Index(e.Actor, ":")+1:]
			owner = who
			if holders[cycle] == nil {
				holders[cycle] = map[string]bool{}
			}
			holders[cycle][who] = true
			if len(holders[cycle]) > 1 {
				bad("holder", "a second rep accepted the lead at %s: %v", rndStamp(e.At), holders[cycle])
			}
		case "handed":
			// A manager handed the missed lead on: a fresh first-contact
			// clock for the new holder from now.
			owner = e.Data["to"]
			holders[cycle] = map[string]bool{owner: true}
			contactStart, contactDue = e.At, add(cal(owner), e.At, time.Duration(pol.FirstContactWithin))
			if got := parse(e.Data["contact_by"]); !got.Equal(contactDue) {
				bad("sla", "handed at %s with first contact due %s; the policy gives %s", rndStamp(e.At), rndStamp(got), rndStamp(contactDue))
				contactDue = got
			}
			lapsed, escDriven = false, false
		case "contact-due":
			cadShift, cadRunning = 0, false
			contactStart, contactDue = acceptedAt, add(cal(owner), acceptedAt, time.Duration(pol.FirstContactWithin))
			if got := parse(e.Data["contact_by"]); !got.Equal(contactDue) {
				bad("sla", "first contact due %s; the policy gives %s", rndStamp(got), rndStamp(contactDue))
				contactDue = got
			}
		case "contacted":
			if contactedAt.IsZero() {
				contactedAt = e.At
			}
		case "cadence-due":
			i, _ := strconv.Atoi(e.Data["touch"])
			k := pol.Cadence.Touches
			want := add(cal(owner), contactedAt, time.Duration(i-1)*time.Duration(pol.Cadence.Within)/time.Duration(k-1)+cadShift)
			cadRunning = true
			cadStart = contactedAt
			if i > 2 {
				cadStart = cadDue
			}
			cadDue = want
			if got := parse(e.Data["due"]); !got.Equal(want) {
				bad("sla", "cadence touch %d due %s; the policy gives %s", i, rndStamp(got), rndStamp(want))
				cadDue = got
			}
		case "breached":
			phase := e.Data["phase"]
			if phase == "contact" {
				on("first-contact breach", e.At, contactDue)
				lapsed = true
			} else {
				on(phase+" breach", e.At, cadDue)
			}
		case "escalated":
			phase, level := e.Data["phase"], 0
			level, _ = strconv.Atoi(e.Data["level"])
			window := time.Duration(pol.AcceptWithin)
			due := acceptDue
			if phase == "contact" {
				window, due = time.Duration(pol.FirstContactWithin), contactDue
			}
			if level <= 1 {
				escDriven = lapsed && !due.IsZero()
				escDue = e.At
				if escDriven {
					on(phase+" escalation level 1", e.At, due)
					escDue = due
				}
				lapsed = false
				continue
			}
			if escDriven {
				escDue = add(cal(owner), escDue, window)
				on(fmt.Sprintf("%s escalation level %d", phase, level), e.At, escDue)
			}
		case "cooling-down":
			cycle++
		}
	}
	// Every offer reaches its rep, unless refused, taken over or cut short.
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range evs {
		if e.Kind != "offered" {
			continue
		}
		n := keyN(e.Key)
		if as, ok := w.assigned[fmt.Sprintf("%d:%s:%d", life, rndLeadID, n)]; !ok || as.Rep.ID != e.Data["rep"] {
			w.violate("holder: life %d: offer %d at %s went to %q, but routing assigned %q for that attempt (caps, eligibility)",
				life, n, rndStamp(e.At), e.Data["rep"], as.Rep.ID)
		}
	}
	for _, e := range evs {
		if e.Kind != "offered" {
			continue
		}
		n := keyN(e.Key)
		excused := false
		for _, x := range evs {
			if x.At.Sub(e.At) >= 0 && x.At.Sub(e.At) < 3*time.Hour && (x.Kind == "erased" || x.Kind == "mail-rejected" || x.Kind == "unreachable") ||
				x.Kind == "accepted" && strings.HasSuffix(x.Key, fmt.Sprintf("accepted:%d", n)) && strings.HasPrefix(x.Actor, "manager:") {
				excused = true
			}
		}
		sent := false
		for _, m := range w.mails {
			if m.life == life && m.msg.Kind == "offer" && m.msg.Attempt == n && m.msg.To == e.Data["rep"]+"@example.com" && !m.msg.SentAt.Before(e.At) {
				sent = true
			}
		}
		if !sent && !excused && w.life == life && e.At.Add(3*time.Hour).Before(w.lastNow()) {
			w.violate("offer-sent: life %d: the lead was offered to %s at %s (attempt %d) but no offer mail went out", life, e.Data["rep"], rndStamp(e.At), n)
		}
	}
}

func (w *rndWorld) lastNow() time.Time { return w.now() }

// rndWorldTrace is the canonical record of what a run did, for the
// determinism check: events and messages in workflow order and time.
func rndWorldTrace(w *rndWorld) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.events {
		if !e.dup {
			out = append(out, fmt.Sprintf("L%d ev %d %s %s %s", e.life, e.ev.Seq, e.ev.Key, e.ev.Kind, rndStamp(e.ev.At)))
		}
	}
	for _, m := range w.mails {
		out = append(out, fmt.Sprintf("L%d mail %s %s", m.life, m.msg.Key, rndStamp(m.msg.SentAt)))
	}
	return out
}

// rndEnv is a test environment that logs only warnings and errors.
func rndEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	// The machine may be busy: a workflow task starved of CPU is not a
	// workflow that never yields (spins are caught by the progress check).
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	return env
}
