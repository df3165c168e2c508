package workflows

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// a is only used for method names; the worker registers the real one.
var a *activities.Activities

// LeadWorkflow runs one lead from capture to acceptance: qualification,
// routing, an offer with an acceptance deadline, one reassignment, then
// escalation to the team's manager.
func LeadWorkflow(ctx workflow.Context, in LeadInput) (domain.LeadSnapshot, error) {
	w := &leadWorkflow{in: in, log: workflow.GetLogger(ctx)}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	// An erasure cancels the run wherever it waits, then purges.
	runCtx, cancel := workflow.WithCancel(ctx)
	w.cancelRun = cancel
	err := w.run(runCtx)
	if w.erasing != nil {
		return w.st, w.finishErase(ctx)
	}
	return w.st, err
}

func (w *leadWorkflow) validateErase(ctx workflow.Context, in EraseInput) error {
	switch {
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
	err := workflow.Await(ctx, func() bool { return w.st.State == domain.StateErased })
	return w.st.State, err
}

// finishErase records the erasure (with the personal fields already blank in
// the snapshot) and purges the rest; the workflow then ends.
func (w *leadWorkflow) finishErase(ctx workflow.Context) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	w.pending = nil // a reassignment waiting on the cancelled run ends with it
	w.st.Email, w.st.Name, w.st.Company, w.st.Country, w.st.Reason = "", "", "", "", ""
	w.st.Region, w.st.Industry, w.st.CompanySize = "", "", ""
	w.setState(ctx, domain.StateErased)
	if err := workflow.ExecuteActivity(actx(ctx), a.Erase, w.st.ID).Get(ctx, nil); err != nil {
		return err
	}
	w.st.Email = domain.ErasedEmail(w.st.ID)
	if err := w.record(ctx, "erased", "erased", w.erasing.Actor, w.erasing.Reason, nil); err != nil {
		return err
	}
	return workflow.Await(ctx, w.settled(ctx))
}

type leadWorkflow struct {
	in       LeadInput
	st       domain.LeadSnapshot
	campaign domain.CampaignInfo
	seenIDs  []string
	firstID  string
	recorded int // touches written to the store
	log      log.Logger

	// Lifecycle state.
	pol            domain.Policy
	manager        domain.PersonRef
	rejected       map[int]bool // attempts the offered rep declined
	nextEscalation time.Time
	pending        *ReassignInput // a manager's reassignment not yet carried out
	erasing        *EraseInput
	snoozes        int
	unroutableTold bool
	recent         []EventSummary // the last events, for QueryDeadlines
	cancelRun      workflow.CancelFunc
	extended       bool // the one extension was used
	moved          bool // the running deadline moved; the wait must re-arm
	contacts       int
	touches        workflow.ReceiveChannel
	touching       int // signalled touches being recorded
	engaging       int // engagement events being recorded
	engagements    workflow.ReceiveChannel
}

// signalledTouches takes touches sent as signals, one at a time, exactly as
// the intake update does (the same dedupe by touch ID).
func (w *leadWorkflow) signalledTouches(ctx workflow.Context) {
	for {
		var t Touch
		w.touches.Receive(ctx, &t)
		if w.erasing != nil || w.st.State == domain.StateErased {
			continue // a touch after an erasure request brings nothing back
		}
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

// settled is true when no handler runs and no signalled touch or engagement
// event waits: the run may end or continue as new without dropping anything.
func (w *leadWorkflow) settled(ctx workflow.Context) func() bool {
	return func() bool {
		return workflow.AllHandlersFinished(ctx) && w.touching == 0 && w.engaging == 0 &&
			(w.touches == nil || w.touches.Len() == 0) && (w.engagements == nil || w.engagements.Len() == 0)
	}
}

func (w *leadWorkflow) setup(ctx workflow.Context) error {
	w.st = domain.LeadSnapshot{ID: w.in.LeadID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, State: domain.StateCaptured}
	if r := w.in.Resume; r != nil {
		w.st, w.seenIDs, w.recorded = r.Lead, r.SeenIDs, r.Lead.Touches
	}
	// Before the handlers exist: the SDK delivers a buffered update as soon as
	// its handler is registered, and it must find the input's touch applied.
	if w.in.First != nil {
		w.applyTouch(ctx, *w.in.First)
	}
	w.listenEngagement(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryLead, func() (domain.LeadSnapshot, error) { return w.st, nil }); err != nil {
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
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAccept, w.accept,
		workflow.UpdateHandlerOptions{Validator: w.validateAccept}); err != nil {
		return err
	}
	w.rejected = map[int]bool{}
	w.listenBounces(ctx)
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReject, w.reject,
		workflow.UpdateHandlerOptions{Validator: w.validateReject}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateContact, w.contact,
		workflow.UpdateHandlerOptions{Validator: w.validateContact}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReassign, w.reassign,
		workflow.UpdateHandlerOptions{Validator: w.validateReassign}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtend, w.extend,
		workflow.UpdateHandlerOptions{Validator: w.validateExtend}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAway, w.away,
		workflow.UpdateHandlerOptions{Validator: w.validateAway}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSnooze, w.snooze,
		workflow.UpdateHandlerOptions{Validator: w.validateSnooze}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateErase, w.erase,
		workflow.UpdateHandlerOptions{Validator: w.validateErase}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateClose, w.close,
		workflow.UpdateHandlerOptions{Validator: w.validateClose})
}

func actx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second, // a killed worker's activity is retried after this
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
}

// exec runs a short database step as a local activity: no task-queue round
// trip (about twice the handoff rate, ENGINE.md); retried like the others and
// idempotent by its business key, so a worker dying mid-task only repeats it.
func (w *leadWorkflow) exec(ctx workflow.Context, name string, args ...any) workflow.Future {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
	return workflow.ExecuteLocalActivity(lctx, name, args...)
}

// record bumps the snapshot version and writes the snapshot with one event.
func (w *leadWorkflow) record(ctx workflow.Context, kind, key, actor, reason string, data map[string]string) error {
	w.st.Version++
	if w.st.Cycle > 0 { // a lead back from recycle writes its steps again
		key = fmt.Sprintf("c%d:%s", w.st.Cycle, key)
	}
	w.recent = append(w.recent, EventSummary{Kind: kind, Actor: actor, Reason: reason, At: workflow.Now(ctx)})
	if len(w.recent) > 10 {
		w.recent = w.recent[len(w.recent)-10:]
	}
	ev := domain.Event{Key: w.st.ID + ":" + key, Seq: w.st.Version, Kind: kind, Actor: actor, Reason: reason, Data: data, At: workflow.Now(ctx)}
	return w.exec(ctx, "Record", activities.RecordInput{Lead: w.st, Event: ev}).Get(ctx, nil)
}

func (w *leadWorkflow) setState(ctx workflow.Context, s domain.LeadState) {
	w.st.State = s
	if err := workflow.UpsertTypedSearchAttributes(ctx, SALeadState.ValueSet(string(s))); err != nil {
		w.log.Warn("upsert search attribute", "error", err)
	}
}

func (w *leadWorkflow) validateIntake(ctx workflow.Context, t Touch) error {
	if t.Email == "" || t.Campaign == "" {
		return fmt.Errorf("a touch needs an email and a campaign")
	}
	if w.st.Email != "" && t.Email != w.st.Email {
		return fmt.Errorf("touch for %s sent to the lead of %s", t.Email, w.st.Email)
	}
	return nil
}

func (w *leadWorkflow) intake(ctx workflow.Context, t Touch) (IntakeResult, error) {
	if t.ID != "" {
		for _, id := range w.seenIDs {
			if id == t.ID { // a retried request, or the first touch already taken from the input
				err := workflow.Await(ctx, func() bool { return w.recorded >= 1 })
				return IntakeResult{LeadID: w.st.ID, New: w.st.Touches == 1 && id == w.firstID, State: w.st.State, Touches: w.st.Touches}, err
			}
		}
	}
	first := w.applyTouch(ctx, t)
	res := IntakeResult{LeadID: w.st.ID, New: first, State: w.st.State, Touches: w.st.Touches}
	return res, w.recordTouch(ctx, t, first)
}

// applyTouch changes state for a touch without blocking; it reports whether
// it was the lead's first.
func (w *leadWorkflow) applyTouch(ctx workflow.Context, t Touch) bool {
	if t.ID != "" {
		w.seenIDs = append(w.seenIDs, t.ID)
	}
	first := w.st.Touches == 0
	w.st.Touches++
	if first {
		w.firstID = t.ID
		w.st.Email, w.st.CampaignID = t.Email, t.Campaign
		if err := workflow.UpsertTypedSearchAttributes(ctx, SACampaign.ValueSet(t.Campaign)); err != nil {
			w.log.Warn("upsert search attribute", "error", err)
		}
	}
	// A later touch fills gaps and can only raise the score.
	if t.Name != "" {
		w.st.Name = t.Name
	}
	if t.Company != "" {
		w.st.Company = t.Company
	}
	if t.Country != "" {
		w.st.Country = t.Country
	}
	// Routing fields.
	w.st.Region, w.st.Industry, w.st.CompanySize = orDefault(t.Region, w.st.Region), orDefault(t.Industry, w.st.Industry), orDefault(t.CompanySize, w.st.CompanySize)
	if t.Score > w.st.Score {
		w.st.Score = t.Score
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
	err := w.record(ctx, kind, fmt.Sprintf("touch:%d", w.st.Touches), "source:"+orDefault(t.Source, "api"), "", data)
	if err == nil {
		w.recorded++
	}
	return err
}

func (w *leadWorkflow) validateAccept(ctx workflow.Context, in AcceptInput) error {
	at := func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }
	switch {
	case w.st.State.Owned() && w.st.Owner.ID == in.RepID:
		return stale("You already accepted this lead at %s.", at(w.st.AcceptedAt))
	case w.st.State.Owned():
		return stale("This lead was accepted by %s at %s.", w.st.Owner.Name, at(w.st.AcceptedAt))
	case !w.st.State.Open():
		return stale("This lead is not offered to anyone right now (it is %s).", w.st.State)
	case w.pending != nil:
		return stale("A manager is moving this lead to someone else right now.")
	case w.st.Owner.ID != in.RepID || w.st.Attempt != in.Attempt:
		return stale("This lead was reassigned to %s at %s, after your acceptance window closed.", w.st.Owner.Name, at(w.st.OfferedAt))
	}
	return nil
}

func (w *leadWorkflow) accept(ctx workflow.Context, in AcceptInput) (AcceptResult, error) {
	now := workflow.Now(ctx)
	late := now.After(w.st.AcceptBy)
	w.st.AcceptedAt = now
	w.setState(ctx, domain.StateAccepted)
	reason := ""
	if late {
		reason = "accepted after the deadline, while escalated"
	}
	err := w.record(ctx, "accepted", fmt.Sprintf("accepted:%d", w.st.Attempt), "rep:"+in.RepID, reason,
		map[string]string{"accept_by": w.st.AcceptBy.UTC().Format(time.RFC3339)})
	return AcceptResult{State: w.st.State, AcceptedAt: now}, err
}

func (w *leadWorkflow) accepted() bool { return w.st.State == domain.StateAccepted }

func (w *leadWorkflow) run(ctx workflow.Context) error {
	// The first touch comes in the input and, with Update-with-Start, as an
	// update carrying the same touch ID.
	if w.in.First != nil {
		if err := w.recordTouch(ctx, *w.in.First, true); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return w.st.Touches > 0 }); err != nil {
		return err
	}
	if err := w.exec(ctx, "LoadCampaign", w.st.CampaignID).Get(ctx, &w.campaign); err != nil {
		return err
	}
	qualifies := func() (bool, string) { return domain.Qualifies(w.campaign, w.st) }
	qualified := func() bool { ok, _ := qualifies(); return ok }
	if ok, why := qualifies(); !ok {
		w.setState(ctx, domain.StateNurturing)
		if err := w.record(ctx, "nurturing", "nurturing", "system", why, nil); err != nil {
			return err
		}
		// A lead can nurture for months, one history event group per touch:
		// continue as new when the server suggests it or the run has taken
		// many touches, with the state carried and handlers drained first.
		maxTouches := w.in.MaxTouchesPerRun
		if maxTouches <= 0 {
			maxTouches = DefaultMaxTouchesPerRun
		}
		startTouches := w.st.Touches
		long := func() bool {
			return w.st.Touches-startTouches >= maxTouches || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}
		if err := workflow.Await(ctx, func() bool { return qualified() || long() }); err != nil {
			return err
		}
		if !qualified() {
			if err := workflow.Await(ctx, w.settled(ctx)); err != nil {
				return err
			}
			seen := w.seenIDs
			if len(seen) > 100 {
				seen = seen[len(seen)-100:]
			}
			return workflow.NewContinueAsNewError(ctx, LeadWorkflow, LeadInput{LeadID: w.st.ID, MaxTouchesPerRun: w.in.MaxTouchesPerRun,
				Resume: &Resume{Lead: w.st, SeenIDs: seen}})
		}
	}
	w.setState(ctx, domain.StateMQL)
	if err := w.record(ctx, "mql", "mql", "system", fmt.Sprintf("score %d meets %d", w.st.Score, w.campaign.MinScore), nil); err != nil {
		return err
	}
	return w.lifecycle(ctx)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
