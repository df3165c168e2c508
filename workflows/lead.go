package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// a is only used for method values; the worker registers the real one.
var a *activities.Activities

// LeadWorkflow runs one lead from capture to its outcome: qualification
// (nurture until the campaign's rule holds), routing, the offer under the SLA
// policy (offer.go), first contact (contact.go), the follow-up cadence
// (cadence.go), with manager actions (manager.go), out of office (away.go)
// and notices that run beside the clocks (notify.go).
func LeadWorkflow(ctx workflow.Context, in LeadInput) (domain.LeadSnapshot, error) {
	w := &leadWorkflow{in: in, log: workflow.GetLogger(ctx)}
	// An erasure cancels the run wherever it waits, then purges. The cancel
	// exists before any handler does: an erase Update that came with the
	// lead's first workflow task (the lead was erased before a worker ran
	// it) may run before the run starts, and then finds it cancelled.
	runCtx, cancel := workflow.WithCancel(ctx)
	w.cancelRun = cancel
	if err := w.setup(ctx); err != nil {
		return w.Lead, err
	}
	err := w.run(runCtx)
	if w.erasing != nil {
		return w.Lead, w.finishErase(ctx)
	}
	if errors.Is(err, errLongRun) {
		return w.Lead, w.continueAsNew(ctx)
	}
	return w.Lead, err
}

// LeadRun is the whole state of a lead's workflow: one struct, carried as it
// is into the next run (continue-as-new) in LeadInput.Resume.
type LeadRun struct {
	Lead     domain.LeadSnapshot
	Campaign domain.CampaignInfo // loaded once per cycle
	Policy   domain.Policy
	Manager  domain.PersonRef
	// Roster is who routing can assign on the campaign's team (active reps
	// and the manager), as the last assignment saw it: a manager's pick
	// outside it is refused by the reassign validator.
	Roster []string
	// SeenIDs are the touch ids (and "ev:"+engagement ids) already taken.
	// The dedupe window: every id of this run, and the last DedupeWindow ids
	// of earlier runs (continue-as-new keeps only those).
	SeenIDs  []string
	FirstID  string
	Recorded int  // touches written to the store
	Loaded   bool // an earlier life of this lead id was looked for (new life keys)

	Rejected       map[int]bool // attempts the offered rep declined
	NextEscalation time.Time
	Escalations    int // escalation chains started: keys the escalation events
	Moves          int // reassignments asked: keys the move events
	Snoozes        int
	Contacts       int
	CadenceNext    int // the follow-up touch the cadence waits for
	// CadenceShift is the business time absences paused the cadence by: the
	// running touch's deadline and every later one move by it. CadenceFrom is
	// where the running touch's window (its reminders) starts.
	CadenceShift   time.Duration
	CadenceFrom    time.Time
	Extended       bool
	UnroutableTold bool
	ManagerTried   bool // the nobody-eligible policy sent the lead to the manager once
	// UnreachableAttempt is the last offer attempt found unreachable (its
	// offer bounced, was dropped or refused): the path runs once per attempt.
	UnreachableAttempt int
	// Reminded counts the reminders already sent in the running window, and
	// Breached says the first-contact window was missed: a run resumed in an
	// owned phase (continue-as-new) goes on from there, never sends them twice.
	Reminded int
	Breached bool
	Recent   []EventSummary
	// A first-contact clock a manager restarted after a miss (issue 16): the
	// running window starts at ContactFrom (zero: the acceptance), and
	// ContactClock counts the restarts, so the new clock's events and mails
	// have keys of their own.
	ContactFrom  time.Time
	ContactClock int
	// Nudges counts the managers' nudges (keys their events and mails);
	// NudgeIDs are the clicks already taken (a repeated click nudges once);
	// NudgedHolder counts those sent to each holder, by offer attempt.
	Nudges       int
	NudgeIDs     []string
	NudgedHolder map[int]int
}

// DedupeWindow is how many touch and engagement ids a lead remembers across
// continue-as-new. Within a run every id is remembered; a source retrying an
// id older than the last DedupeWindow of an earlier run makes a new touch.
const DedupeWindow = 200

type leadWorkflow struct {
	LeadRun
	in  LeadInput
	log log.Logger

	pending     *ReassignInput // a move not yet carried out
	handing     *HandInput     // a hand-over of an accepted lead not yet carried out
	handFailed  string         // why the last hand-over could not be carried out
	rearm       bool           // a manager restarted the first-contact clock: the phase starts over
	leaving     bool           // the run is continuing as new: no hand-over waits on the main coroutine
	moveFailed  string         // why the last move could not go where it was asked
	erasing     *EraseInput
	erased      bool // the purge is done
	cancelRun   workflow.CancelFunc
	moved       bool // the running deadline moved; the wait must re-arm
	closedShut  bool // the running accept window closed (the timer won): no accept, no extension
	inputs      int  // touches and engagement events taken by this run
	owned       bool // the run is in an owned phase, where it may continue as new
	touches     workflow.ReceiveChannel
	touching    int // signalled touches being recorded
	engaging    int // engagement events being recorded
	applying    int // touches applied to the lead and being recorded (update or signal)
	sending     int // notices on their way
	engagements workflow.ReceiveChannel
	ranLocal    bool // a local activity ran since the last timer was armed: workflow.Now may lag the wall clock
}

// errLongRun unwinds the run to continue as new (see longRun).
var errLongRun = errors.New("the run's history is long: continue as new")

func (w *leadWorkflow) maxInputs() int {
	if w.in.MaxTouchesPerRun > 0 {
		return w.in.MaxTouchesPerRun
	}
	return DefaultMaxTouchesPerRun
}

// longRun is true when this run should hand over to a fresh one: it took its
// bound of touches and engagement events, the server suggests it, or a new
// build is current (the next run starts on it: docs/releases.md).
func (w *leadWorkflow) longRun(ctx workflow.Context) bool {
	return w.inputs >= w.maxInputs() || workflow.GetInfo(ctx).GetContinueAsNewSuggested() ||
		newBuildIsCurrent(ctx)
}

// wait waits for cond; in an owned phase a long run interrupts it with
// errLongRun.
func (w *leadWorkflow) wait(ctx workflow.Context, cond func() bool) error {
	if err := workflow.Await(ctx, func() bool { return cond() || w.owned && w.longRun(ctx) }); err != nil {
		return err
	}
	if cond() {
		return nil
	}
	return errLongRun
}

// continueAsNew drains handlers and notices, then carries the whole state
// into the next run. An erasure arriving meanwhile wins.
func (w *leadWorkflow) continueAsNew(ctx workflow.Context) error {
	w.leaving = true
	if err := workflow.Await(ctx, func() bool { return w.settled(ctx)() || w.erasing != nil }); err != nil {
		return err
	}
	if w.erasing != nil {
		return w.finishErase(ctx)
	}
	next := w.LeadRun
	if n := len(next.SeenIDs); n > DedupeWindow {
		next.SeenIDs = append([]string(nil), next.SeenIDs[n-DedupeWindow:]...)
	}
	next.Recorded = next.Lead.Touches
	next.Loaded = true
	return continueAsNew(ctx, LeadWorkflow, LeadInput{LeadID: w.Lead.ID, MaxTouchesPerRun: w.in.MaxTouchesPerRun, Resume: &next})
}

func (w *leadWorkflow) validateErase(ctx workflow.Context, in EraseInput) error {
	switch {
	case w.erased:
		return stale("This lead's data was already erased.")
	case w.erasing != nil:
		return stale("This lead's data is already being erased.")
	case !domain.ValidReason(in.Reason, domain.EraseReasons):
		return temporal.NewApplicationError(fmt.Sprintf("reason %q is not one of %v", in.Reason, domain.EraseReasons), "InvalidInput")
	case in.Actor == "":
		return temporal.NewApplicationError("an erasure needs the actor who asked", "InvalidInput")
	}
	return nil
}

func (w *leadWorkflow) erase(ctx workflow.Context, in EraseInput) (domain.LeadState, error) {
	w.erasing = &in
	w.cancelRun()
	err := workflow.Await(ctx, func() bool { return w.erased })
	return w.Lead.State, err
}

// finishErase blanks the personal fields, records the erased snapshot (the
// newest version, so no older write in flight can bring data back: the store
// keeps only a newer snapshot) and then purges the rest; the workflow ends.
// From the erasure request on, touches and engagement events are refused or
// dropped, so nothing restores the data.
func (w *leadWorkflow) finishErase(ctx workflow.Context) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	w.pending = nil // a reassignment waiting on the cancelled run ends with it
	if err := w.loadPrior(ctx); err != nil {
		return err
	}
	w.Lead.Email, w.Lead.Name, w.Lead.Company, w.Lead.Country, w.Lead.Reason = domain.ErasedEmail(w.Lead.ID), "", "", "", ""
	w.Lead.Region, w.Lead.Industry, w.Lead.CompanySize, w.Lead.Phone = "", "", "", ""
	w.setState(ctx, domain.StateErased)
	if err := w.record(ctx, "erased", "erased", w.erasing.Actor, w.erasing.Reason, nil); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(actx(ctx), a.Erase, w.Lead.ID).Get(ctx, nil); err != nil {
		return err
	}
	w.erased = true
	return workflow.Await(ctx, w.settled(ctx))
}

// signalledTouches takes touches sent as signals, one at a time, exactly as
// the intake update does (the same dedupe by touch ID).
func (w *leadWorkflow) signalledTouches(ctx workflow.Context) {
	for {
		var t Touch
		w.touches.Receive(ctx, &t)
		if err := w.validateIntake(ctx, t); err != nil {
			w.log.Warn("touch signal refused", "error", err)
			continue
		}
		w.touching++
		if _, err := w.intake(ctx, t); err != nil {
			w.log.Error("touch signal not recorded", "touch", t.ID, "error", err)
		}
		w.touching--
	}
}

// settled is true when no handler runs, no signalled touch or engagement
// event waits and no notice is on its way: the run may end or continue as new
// without dropping anything.
func (w *leadWorkflow) settled(ctx workflow.Context) func() bool {
	return func() bool {
		return workflow.AllHandlersFinished(ctx) && w.touching == 0 && w.engaging == 0 && w.sending == 0 &&
			(w.touches == nil || w.touches.Len() == 0) && (w.engagements == nil || w.engagements.Len() == 0)
	}
}

func (w *leadWorkflow) setup(ctx workflow.Context) error {
	w.Lead = domain.LeadSnapshot{ID: w.in.LeadID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, State: domain.StateCaptured}
	if r := w.in.Resume; r != nil {
		w.LeadRun = *r
		w.Loaded = true
		if w.Recorded == 0 {
			w.Recorded = w.Lead.Touches
		}
	}
	if w.Rejected == nil {
		w.Rejected = map[int]bool{}
	}
	// Before the handlers exist: the SDK delivers a buffered update as soon as
	// its handler is registered, and it must find the input's touch applied.
	if w.in.First != nil && w.in.Resume == nil {
		w.applyTouch(ctx, *w.in.First)
	}
	w.listenEngagement(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryLead, func() (domain.LeadSnapshot, error) { return w.Lead, nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryDeadlines, func() (DeadlinesView, error) { return w.deadlines(ctx), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateIntake, w.intake,
		workflow.UpdateHandlerOptions{Validator: w.validateIntake}); err != nil {
		return err
	}
	w.touches = workflow.GetSignalChannel(ctx, SignalTouch)
	workflow.Go(ctx, w.signalledTouches)
	w.listenBounces(ctx)
	handlers := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateAccept, w.accept, w.validateAccept},
		{UpdateReject, w.reject, w.validateReject},
		{UpdateContact, w.contact, w.validateContact},
		{UpdateReassign, w.reassign, w.validateReassign},
		{UpdateExtend, w.extend, w.validateExtend},
		{UpdateAway, w.away, w.validateAway},
		{UpdateSnooze, w.snooze, w.validateSnooze},
		{UpdateErase, w.erase, w.validateErase},
		{UpdateClose, w.close, w.validateClose},
		{UpdateHand, w.hand, w.validateHand},
		{UpdateExtendContact, w.extendContact, w.validateExtendContact},
		{UpdateNudge, w.nudge, w.validateNudge},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler,
			workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return err
		}
	}
	return nil
}

func actx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second, // a killed worker's activity is retried after this
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
}

// localRetryFor bounds the retries of a short database step: as long as an
// outage may last; a lead still stuck after it is for `starter lead recover`.
const localRetryFor = 7 * 24 * time.Hour

// exec runs a short database step as a local activity: no task-queue round
// trip (about twice the handoff rate, docs/engine.md); retried like the others and
// idempotent by its business key, so a worker dying mid-task only repeats it.
func (w *leadWorkflow) exec(ctx workflow.Context, activity any, args ...any) workflow.Future {
	w.ranLocal = true
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		// Without it the SDK ends the retries at StartToCloseTimeout (10s): a
		// database refusing or away for longer failed the lead workflow.
		ScheduleToCloseTimeout: localRetryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
	return workflow.ExecuteLocalActivity(lctx, activity, args...)
}

// loadPrior looks, once per lead id chain, for a life of this lead id that
// ended before this one started (a person back after their closed run left
// Temporal's retention). The new life goes on from the stored version and
// attempt, in a cycle numbered above every cycle the earlier lives used (the
// stored version + 1: each cycle records at least one event), so its event,
// assignment and mail ledger keys cannot collide with theirs.
func (w *leadWorkflow) loadPrior(ctx workflow.Context) error {
	if w.Loaded {
		return nil
	}
	var prior activities.PriorLife
	if err := w.exec(ctx, a.PriorLife, w.Lead.ID, workflow.GetInfo(ctx).WorkflowStartTime).Get(ctx, &prior); err != nil {
		return err
	}
	if prior.Found {
		w.Lead.Version, w.Lead.Attempt, w.Lead.Cycle = prior.Version, prior.Attempt, int(prior.Version)+1
	}
	w.Loaded = true
	return nil
}

// record bumps the snapshot version and writes the snapshot with one event.
func (w *leadWorkflow) record(ctx workflow.Context, kind, key, actor, reason string, data map[string]string) error {
	if err := workflow.Await(ctx, func() bool { return w.Loaded }); err != nil {
		return err
	}
	w.Lead.Version++
	if w.Lead.Cycle > 0 { // a lead back from recycle (or a new life) writes its steps again
		key = fmt.Sprintf("c%d:%s", w.Lead.Cycle, key)
	}
	w.Recent = append(w.Recent, EventSummary{Kind: kind, Actor: actor, Reason: reason, At: workflow.Now(ctx)})
	if len(w.Recent) > 10 {
		w.Recent = w.Recent[len(w.Recent)-10:]
	}
	ev := domain.Event{Key: w.Lead.ID + ":" + key, Seq: w.Lead.Version, Kind: kind, Actor: actor, Reason: reason, Data: data, At: workflow.Now(ctx)}
	err := w.exec(ctx, a.Record, activities.RecordInput{Lead: w.Lead, Event: ev}).Get(ctx, nil)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == activities.ErrDataRefused {
		// PostgreSQL refused this event's data for good: the lead goes on (the
		// next record writes the newer snapshot) rather than fail over one row.
		w.log.Error("event refused by the database; the lead goes on", "key", ev.Key, "error", err)
		return nil
	}
	return err
}

func (w *leadWorkflow) setState(ctx workflow.Context, s domain.LeadState) {
	w.Lead.State = s
	if err := workflow.UpsertTypedSearchAttributes(ctx, SALeadState.ValueSet(string(s))); err != nil {
		w.log.Warn("upsert search attribute", "error", err)
	}
}

func (w *leadWorkflow) validateIntake(ctx workflow.Context, t Touch) error {
	switch {
	case w.erasing != nil || w.Lead.State == domain.StateErased:
		return stale("This person's data was erased on request; the lead takes no more touches.")
	case t.Email == "" || t.Campaign == "":
		return fmt.Errorf("a touch needs an email and a campaign")
	case w.Lead.Email != "" && t.Email != w.Lead.Email:
		return fmt.Errorf("touch for %s sent to the lead of %s", t.Email, w.Lead.Email)
	}
	return nil
}

// intake takes a touch. A touch from another campaign than the lead's is
// recorded with its campaign (the campaign's counts and digests credit it);
// the lead's policy and team stay those of the campaign that created this
// cycle of the lead, so an offer already running keeps its clock.
func (w *leadWorkflow) intake(ctx workflow.Context, t Touch) (IntakeResult, error) {
	if t.ID != "" {
		for _, id := range w.SeenIDs {
			if id == t.ID { // a retried request, or the first touch already taken from the input
				// An erasure may cancel the first touch's record: then it
				// never comes, and waiting for it would keep the workflow
				// from ending (the purge waits for every handler).
				err := workflow.Await(ctx, func() bool { return w.Recorded >= 1 || w.erasing != nil })
				return IntakeResult{LeadID: w.Lead.ID, New: w.Lead.Touches == 1 && id == w.FirstID, State: w.Lead.State, Touches: w.Lead.Touches}, err
			}
		}
	}
	w.inputs++
	w.applying++
	defer func() { w.applying-- }()
	first := w.applyTouch(ctx, t)
	res := IntakeResult{LeadID: w.Lead.ID, New: first, State: w.Lead.State, Touches: w.Lead.Touches}
	return res, w.recordTouch(ctx, t, first)
}

// applyTouch changes state for a touch without blocking; it reports whether
// it was the lead's first.
func (w *leadWorkflow) applyTouch(ctx workflow.Context, t Touch) bool {
	if t.ID != "" {
		w.SeenIDs = append(w.SeenIDs, t.ID)
	}
	first := w.Lead.Touches == 0
	w.Lead.Touches++
	if first {
		w.FirstID = t.ID
		w.Lead.Email, w.Lead.CampaignID = t.Email, t.Campaign
		if err := workflow.UpsertTypedSearchAttributes(ctx, SACampaign.ValueSet(t.Campaign)); err != nil {
			w.log.Warn("upsert search attribute", "error", err)
		}
	}
	// A later touch fills gaps and can only raise the score.
	w.Lead.Name, w.Lead.Company, w.Lead.Country = orDefault(t.Name, w.Lead.Name), orDefault(t.Company, w.Lead.Company), orDefault(t.Country, w.Lead.Country)
	w.Lead.Region, w.Lead.Industry, w.Lead.CompanySize = orDefault(t.Region, w.Lead.Region), orDefault(t.Industry, w.Lead.Industry), orDefault(t.CompanySize, w.Lead.CompanySize)
	w.Lead.Phone = orDefault(t.Phone, w.Lead.Phone)
	if t.Score > w.Lead.Score {
		w.Lead.Score = t.Score
	}
	return first
}

func (w *leadWorkflow) recordTouch(ctx workflow.Context, t Touch, first bool) error {
	kind := "touch"
	if first {
		kind = "captured"
	}
	data := map[string]string{"campaign": t.Campaign, "score": fmt.Sprint(t.Score)}
	if t.Source != "" {
		data["source"] = t.Source
	}
	if t.Campaign != w.Lead.CampaignID {
		data["lead_campaign"] = w.Lead.CampaignID
	}
	err := w.record(ctx, kind, fmt.Sprintf("touch:%d", w.Lead.Touches), "source:"+orDefault(t.Source, "api"), "", data)
	if err == nil {
		w.Recorded++
	}
	return err
}

func (w *leadWorkflow) run(ctx workflow.Context) error {
	if err := w.loadPrior(ctx); err != nil {
		return err
	}
	// The first touch comes in the input and, with Update-with-Start, as an
	// update carrying the same touch ID.
	if w.in.First != nil && w.in.Resume == nil {
		if err := w.recordTouch(ctx, *w.in.First, true); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return w.Lead.Touches > 0 }); err != nil {
		return err
	}
	if w.Campaign.ID == "" { // once per cycle: a resumed run keeps its campaign and policy
		if err := w.exec(ctx, a.LoadCampaign, w.Lead.CampaignID).Get(ctx, &w.Campaign); err != nil {
			return err
		}
		w.Policy = w.Campaign.EffectivePolicy()
		w.Lead.Policy = w.Policy.Name
	}
	switch w.Lead.State {
	case domain.StateCaptured, domain.StateNurturing:
		if err := w.nurture(ctx); err != nil {
			return err
		}
	}
	return w.lifecycle(ctx)
}

// nurture keeps the lead below the bar until the campaign's qualification rule
// holds. A lead can nurture for months, one history event group per touch:
// it continues as new when the server suggests it or the run has taken its
// bound of touches, with the state carried and handlers drained first.
func (w *leadWorkflow) nurture(ctx workflow.Context) error {
	qualifies := func() (bool, string) { return domain.Qualifies(w.Campaign, w.Lead) }
	qualified := func() bool { ok, _ := qualifies(); return ok }
	if ok, why := qualifies(); !ok {
		if w.Lead.State != domain.StateNurturing {
			w.setState(ctx, domain.StateNurturing)
			if err := w.record(ctx, "nurturing", "nurturing", "system", why, nil); err != nil {
				return err
			}
		}
		if err := workflow.Await(ctx, func() bool { return qualified() || w.longRun(ctx) }); err != nil {
			return err
		}
		if !qualified() {
			return errLongRun
		}
	}
	// The touch or engagement that raised the score is stored first: whoever
	// reads the lead as MQL or offered also reads the event that made it so.
	if err := workflow.Await(ctx, func() bool { return w.engaging == 0 && w.applying == 0 }); err != nil {
		return err
	}
	w.setState(ctx, domain.StateMQL)
	return w.record(ctx, "mql", "mql", "system", fmt.Sprintf("score %d meets %d", w.Lead.Score, w.Campaign.MinScore), nil)
}

// lifecycle is the lead's life under its SLA policy: offers on business-time
// deadlines with reminders, reassignment, a two-level escalation chain, the
// first-contact clock, the cadence and the outcome. A run resumed in an owned
// phase (continue-as-new) picks up where the last one stopped.
func (w *leadWorkflow) lifecycle(ctx workflow.Context) error {
	if !w.Lead.State.Owned() && !w.closed() {
		if err := w.offerPhase(ctx); err != nil {
			return err
		}
	}
	w.owned = true
	if w.Lead.State == domain.StateAccepted {
		if err := w.contactPhase(ctx); err != nil {
			return err
		}
	}
	if err := w.cadencePhase(ctx); err != nil {
		return err
	}
	if err := w.wait(ctx, w.closed); err != nil {
		return err
	}
	w.owned = false
	if w.Lead.State == domain.StateRecycled && w.Policy.RecycleCooldown > 0 {
		return w.recycle(ctx)
	}
	return workflow.Await(ctx, w.settled(ctx))
}

// deadlines lists the clocks running now, for QueryDeadlines.
func (w *leadWorkflow) deadlines(ctx workflow.Context) DeadlinesView {
	v := DeadlinesView{State: w.Lead.State, Owner: w.Lead.Owner, EscalationLevel: w.Lead.EscalationLevel, Policy: w.Lead.Policy,
		Events: int(w.Lead.Version), Recent: append([]EventSummary(nil), w.Recent...)}
	now := workflow.Now(ctx)
	add := func(name string, due time.Time) {
		if !due.IsZero() {
			v.Deadlines = append(v.Deadlines, Deadline{Name: name, Due: due, Left: due.Sub(now)})
		}
	}
	switch w.Lead.State {
	case domain.StateOffered:
		add("accept", w.Lead.AcceptBy)
	case domain.StateEscalated:
		add("escalation", w.NextEscalation)
	case domain.StateAccepted:
		if w.Lead.EscalationLevel > 0 {
			add("escalation", w.NextEscalation)
		} else {
			add("first-contact", w.Lead.ContactBy)
		}
	}
	return v
}

// upsertSLA keeps the owner, due time and escalation level searchable.
func (w *leadWorkflow) upsertSLA(ctx workflow.Context, due time.Time) {
	updates := []temporal.SearchAttributeUpdate{SAOwner.ValueSet(w.Lead.Owner.ID), SAEscalation.ValueSet(int64(w.Lead.EscalationLevel))}
	if due.IsZero() {
		updates = append(updates, SASLADueAt.ValueUnset())
	} else {
		updates = append(updates, SASLADueAt.ValueSet(due.UTC()))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		w.log.Warn("upsert search attributes", "error", err)
	}
}

func (w *leadWorkflow) closed() bool {
	s := w.Lead.State
	return s == domain.StateConverted || s == domain.StateDisqualified || s == domain.StateRecycled
}

// calendar is the business calendar of the clock waiting on rep.
func (w *leadWorkflow) calendar(rep domain.PersonRef) *domain.Calendar {
	cal, err := w.Policy.ClockFor(rep.TimeZone)
	if err != nil {
		w.log.Error("calendar", "rep", rep.ID, "error", err)
	}
	return cal
}

func addBusiness(cal *domain.Calendar, t time.Time, d time.Duration) time.Time {
	return domain.AddBusiness(cal, t, d)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func stale(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrStaleAction)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
