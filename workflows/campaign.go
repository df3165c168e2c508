package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ca is only used for method names; the worker registers the real one.
var ca *activities.CampaignActivities

// CampaignWorkflow runs a campaign from draft to closed: the sales review
// (requests, reminders, escalation to the sales leader, approval by quorum,
// revisions), live at the start date, a weekly check of marketing's
// commitments with a digest to both teams, the end (by date or by hand) and
// the retrospective. Leads are not its children: they link to the campaign
// by id, and every number is read from PostgreSQL.
func CampaignWorkflow(ctx workflow.Context, in CampaignInput) (CampaignState, error) {
	w := &campaignWorkflow{in: in, log: workflow.GetLogger(ctx)}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	// An end by hand cancels the main loop wherever it is (a check, a
	// review, a continue-as-new drain), then ends the campaign here.
	runCtx, cancel := workflow.WithCancel(ctx)
	w.cancelRun = cancel
	err := w.run(runCtx)
	if w.end == nil || w.st.Phase == PhaseClosed {
		return w.st, err
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if !w.finished {
		if err := w.finish(dctx); err != nil {
			return w.st, err
		}
	}
	if w.st.Phase == PhaseEnded {
		if err := w.runEnded(dctx); err != nil {
			return w.st, err
		}
	}
	return w.st, workflow.Await(dctx, w.settled(dctx))
}

type campaignWorkflow struct {
	in       CampaignInput
	st       CampaignState
	audience activities.CampaignAudience
	log      log.Logger
	end      *CampaignEndInput
	checks   int // weekly checks in this run
	// ending: the end (by date or by hand) has begun; finished: it is recorded.
	ending, finished bool
	cancelRun        workflow.CancelFunc
	sending          int // messages on their way (send)
}

// settled: no handler runs and no message is on its way.
func (w *campaignWorkflow) settled(ctx workflow.Context) func() bool {
	return func() bool { return workflow.AllHandlersFinished(ctx) && w.sending == 0 }
}

// MaxWeeksKept bounds the weekly results the state keeps (and digests
// show): the last quarter. Week still counts every period checked.
const MaxWeeksKept = 13

func (w *campaignWorkflow) setup(ctx workflow.Context) error {
	if r := w.in.Resume; r != nil {
		w.st = *r
	}
	if err := workflow.SetQueryHandler(ctx, QueryCampaign, func() (CampaignView, error) { return w.view(ctx), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCampaignReview, w.review,
		workflow.UpdateHandlerOptions{Validator: w.validateReview}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCampaignRevise, w.revise,
		workflow.UpdateHandlerOptions{Validator: w.validateRevise}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCampaignEnd, w.endNow,
		workflow.UpdateHandlerOptions{Validator: w.validateEnd})
}

func (w *campaignWorkflow) view(ctx workflow.Context) CampaignView {
	v := CampaignView{ID: w.st.Spec.ID, Name: w.st.Spec.Name, Phase: w.st.Phase, Round: w.st.Round, Deadline: w.st.Deadline,
		Approvals: w.st.Approvals(), Quorum: w.st.Spec.Quorum(), Reviewers: w.st.Reviewers, Comments: w.st.Comments,
		Escalated: w.st.Escalated, StartsAt: w.st.Spec.StartsAt.Time, EndsAt: w.st.Spec.EndsAt.Time, LiveAt: w.st.LiveAt,
		EndedAt: w.st.EndedAt, Week: w.st.Week, Weeks: w.st.Weeks}
	if w.st.Phase == PhaseLive {
		v.NextCheck = w.nextCheck()
	}
	return v
}

func (w *campaignWorkflow) nextCheck() time.Time {
	return w.st.LiveAt.Add(time.Duration(w.st.Week+1) * w.st.Spec.CheckEvery())
}

func (w *campaignWorkflow) run(ctx workflow.Context) error {
	if w.st.Phase == "" {
		var plan activities.CampaignPlan
		if err := workflow.ExecuteActivity(actx(ctx), ca.LoadCampaignPlan, w.in.CampaignID).Get(ctx, &plan); err != nil {
			return err
		}
		w.st.Spec, w.st.Policy, w.st.Round, w.st.Phase = plan.Spec, plan.Policy, 1, PhaseDraft
		if err := w.event(ctx, "drafted", "drafted", "owner:"+w.st.Spec.Owner.Email, "", nil); err != nil {
			return err
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SACampaign.ValueSet(w.st.Spec.ID)); err != nil {
		w.log.Warn("upsert search attribute", "error", err)
	}
	if err := workflow.ExecuteActivity(actx(ctx), ca.LoadCampaignAudience, w.st.Spec).Get(ctx, &w.audience); err != nil {
		return err
	}
	for {
		var err error
		switch w.st.Phase {
		case PhaseDraft, PhaseReview:
			err = w.runReview(ctx)
		case PhaseApproved:
			err = w.runApproved(ctx)
		case PhaseLive:
			err = w.runLive(ctx)
		case PhaseEnded:
			err = w.runEnded(ctx)
		case PhaseClosed:
			return workflow.Await(ctx, w.settled(ctx))
		default:
			return fmt.Errorf("unknown campaign phase %q", w.st.Phase)
		}
		if err != nil {
			return err
		}
	}
}

// setPhase moves the workflow and the stored campaign (which intake reads).
func (w *campaignWorkflow) setPhase(ctx workflow.Context, phase string) error {
	w.st.Phase = phase
	return workflow.ExecuteActivity(actx(ctx), ca.SetCampaignStatus, activities.SetCampaignStatusInput{
		CampaignID: w.st.Spec.ID, Status: phase, At: workflow.Now(ctx)}).Get(ctx, nil)
}

// event records one step of the campaign in campaign_events.
func (w *campaignWorkflow) event(ctx workflow.Context, kind, key, actor, reason string, data map[string]string) error {
	w.st.Events++
	return workflow.ExecuteActivity(actx(ctx), ca.RecordCampaignEvent, activities.RecordCampaignEventInput{
		CampaignID: w.st.Spec.ID,
		Event: domain.CampaignEvent{Key: "campaign:" + w.st.Spec.ID + ":" + key, Kind: kind, Actor: actor, Reason: reason,
			Data: data, At: workflow.Now(ctx)},
	}).Get(ctx, nil)
}

func (w *campaignWorkflow) notice(kind string, to domain.PersonRef) domain.CampaignMessage {
	return domain.CampaignMessage{Kind: kind, To: to, Campaign: w.st.Spec, Policy: w.st.Policy, Round: w.st.Round,
		Deadline: w.st.Deadline, Reviewers: w.st.Reviewers, Comments: w.st.Comments, Approvals: w.st.Approvals(),
		Week: w.st.Week, Weeks: w.st.Weeks}
}

// send sends one message beside the campaign's clocks (as a lead's notices,
// notify.go): in its own coroutine, on a context an end by hand does not
// cancel, with a bounded retry. No check, deadline or end waits for it; the
// run drains the messages on their way before it ends or continues as new. A
// message refused for good, or out of retries, is a campaign event and an
// alert to the owner (or, when the owner's own message failed, the marketing
// leader). The error result is always nil (kept for the call sites' shape).
func (w *campaignWorkflow) send(ctx workflow.Context, n domain.CampaignMessage, seq int) error {
	if n.To.Email == "" {
		return nil // no such person in the directory (a campaign without a marketing leader)
	}
	w.sending++
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(dctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		err := workflow.ExecuteActivity(nctx(ctx), ca.SendCampaignMail, activities.CampaignMailInput{Notice: n, Seq: seq}).Get(ctx, nil)
		if err == nil {
			return
		}
		if err := w.mailFailed(ctx, n, seq, err); err != nil {
			w.log.Error("campaign mail failure not recorded", "kind", n.Kind, "to", n.To.ID, "error", err)
		}
	})
	return nil
}

// mailFailed records a campaign message that could not be delivered and
// alerts; an alert that fails is only recorded.
func (w *campaignWorkflow) mailFailed(ctx workflow.Context, n domain.CampaignMessage, seq int, cause error) error {
	kind := "mail-failed"
	why := fmt.Sprintf("not delivered within %s: %s", noticeRetryFor, rootMessage(cause))
	if isMailRejected(cause) {
		kind, why = "mail-rejected", rootMessage(cause)
	}
	w.log.Error("campaign message not delivered", "kind", n.Kind, "to", n.To.ID, "error", cause)
	if err := w.event(ctx, kind, kind+":"+activities.CampaignMailKey(n, seq), "system:mail", why,
		map[string]string{"message": n.Kind, "to": n.To.ID}); err != nil {
		return err
	}
	if n.Kind == domain.KindCampaignMailFailed {
		return nil
	}
	to := w.owner()
	if to.Email == n.To.Email {
		to = w.audience.MarketingLeader
	}
	if to.Email == "" || to.Email == n.To.Email {
		return nil
	}
	alert := w.notice(domain.KindCampaignMailFailed, to)
	alert.Round, alert.Week = n.Round, n.Week
	alert.Failed = fmt.Sprintf("the %s message to %s (%s)", n.Kind, orDefault(n.To.Name, n.To.Email), why)
	return w.send(ctx, alert, seq)
}

func (w *campaignWorkflow) owner() domain.PersonRef {
	o := w.st.Spec.Owner
	return domain.PersonRef{ID: o.ID, Name: o.Name, Email: o.Email, TimeZone: o.TimeZone}
}

func ref(p domain.Person) domain.PersonRef {
	return domain.PersonRef{ID: p.ID, Name: p.Name, Email: p.Email, TimeZone: p.TimeZone}
}

// ---- Sales review ----

func (w *campaignWorkflow) startRound(ctx workflow.Context) error {
	w.st.Reviewers = nil
	for _, r := range w.st.Spec.Reviewers {
		w.st.Reviewers = append(w.st.Reviewers, domain.ReviewerStatus{Reviewer: ref(r)})
	}
	w.st.Escalated = false
	w.st.Deadline = workflow.Now(ctx).Add(w.st.Spec.ReviewDeadline())
	if err := w.setPhase(ctx, PhaseReview); err != nil {
		return err
	}
	names := make([]string, len(w.st.Reviewers))
	for i, r := range w.st.Reviewers {
		names[i] = r.Reviewer.ID
	}
	if err := w.event(ctx, "review-requested", fmt.Sprintf("review:%d", w.st.Round), "system", "",
		map[string]string{"round": fmt.Sprint(w.st.Round), "reviewers": strings.Join(names, ","),
			"deadline": stamp(w.st.Deadline), "quorum": fmt.Sprint(w.st.Spec.Quorum())}); err != nil {
		return err
	}
	for _, r := range w.st.Reviewers {
		if err := w.send(ctx, w.notice(domain.KindCampaignReview, r.Reviewer), 0); err != nil {
			return err
		}
	}
	return nil
}

func (w *campaignWorkflow) runReview(ctx workflow.Context) error {
	if len(w.st.Spec.Reviewers) == 0 {
		if err := w.event(ctx, "approved", "approved:0", "system", "no sales reviewers named", nil); err != nil {
			return err
		}
		return w.setPhase(ctx, PhaseApproved)
	}
	if w.st.Phase == PhaseDraft || len(w.st.Reviewers) == 0 {
		if err := w.startRound(ctx); err != nil {
			return err
		}
	}
	round := w.st.Round
	quorum := w.st.Spec.Quorum()
	done := func() bool { return w.st.Round != round || w.end != nil || w.st.Approvals() >= quorum }
	// Reminders at fractions of the review window, to the silent reviewers.
	window := w.st.Spec.ReviewDeadline()
	started := w.st.Deadline.Add(-window)
	for i, f := range slices.Sorted(slices.Values(w.st.Spec.ReviewReminders())) {
		at := started.Add(time.Duration(f * float64(window)))
		if ok, err := w.waitUntil(ctx, at, done); err != nil || ok {
			if err != nil {
				return err
			}
			break
		}
		if !workflow.Now(ctx).Before(w.st.Deadline) {
			break // a resumed run past its deadline: escalate instead
		}
		for _, r := range w.st.Reviewers {
			if r.Verdict == "" {
				if err := w.send(ctx, w.notice(domain.KindCampaignReminder, r.Reviewer), i+1); err != nil {
					return err
				}
			}
		}
	}
	ok, err := w.waitUntil(ctx, w.st.Deadline, done)
	if err != nil {
		return err
	}
	if !ok && !w.st.Escalated && slices.ContainsFunc(w.st.Reviewers, func(r domain.ReviewerStatus) bool { return r.Verdict == "" }) {
		w.st.Escalated = true
		// The notice is of this round as the deadline found it, built before
		// anything yields: a revision landing while the event is written
		// starts the next round, it does not change what was escalated.
		n := w.notice(domain.KindCampaignEscalation, w.audience.SalesLeader)
		if err := w.event(ctx, "review-escalated", fmt.Sprintf("review-escalated:%d", round), "system",
			"reviewers silent past the review deadline", map[string]string{"to": w.audience.SalesLeader.ID,
				"silent": n.Silent(), "deadline": stamp(n.Deadline)}); err != nil {
			return err
		}
		if err := w.send(ctx, n, 0); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, done); err != nil {
		return err
	}
	switch {
	case w.end != nil:
		return w.finish(ctx)
	case w.st.Round != round:
		return w.startRound(ctx) // revised: ask again
	}
	// Approved from here on, before anything yields: a revision arriving
	// while the approval is recorded is refused by its validator.
	w.st.Phase = PhaseApproved
	if err := w.event(ctx, "approved", fmt.Sprintf("approved:%d", round), "system",
		fmt.Sprintf("%d of %d reviewer(s) approved; quorum %d", w.st.Approvals(), len(w.st.Reviewers), quorum), nil); err != nil {
		return err
	}
	return w.setPhase(ctx, PhaseApproved)
}

// waitUntil waits for cond or the instant; it reports whether cond held.
func (w *campaignWorkflow) waitUntil(ctx workflow.Context, at time.Time, cond func() bool) (bool, error) {
	d := at.Sub(workflow.Now(ctx))
	if d <= 0 {
		return cond(), nil
	}
	return workflow.AwaitWithTimeout(ctx, d, cond)
}

func (w *campaignWorkflow) validateReview(ctx workflow.Context, in CampaignReviewInput) error {
	i := slices.IndexFunc(w.st.Reviewers, func(r domain.ReviewerStatus) bool { return r.Reviewer.ID == in.ReviewerID })
	switch {
	case w.st.Phase != PhaseReview:
		return stale("This plan is not in review any more (it is %s).", w.st.Phase)
	case in.Round != w.st.Round:
		return stale("This plan was revised since this request (it is on revision %d now); answer the newest request.", w.st.Round)
	case i < 0:
		return stale("You are not a reviewer of this plan.")
	case w.st.Reviewers[i].Verdict != "":
		return stale("You already answered this revision (%s).", verdictWords(w.st.Reviewers[i].Verdict))
	case in.Verdict != VerdictApprove && in.Verdict != VerdictChanges:
		return temporal.NewApplicationError(fmt.Sprintf("verdict %q is not approve or changes", in.Verdict), "InvalidInput")
	case in.Verdict == VerdictChanges && strings.TrimSpace(in.Comment) == "":
		return temporal.NewApplicationError("say what should change: a comment is required", "InvalidInput")
	case len(in.Comment) > 2000:
		return temporal.NewApplicationError("comment is longer than 2000 characters", "InvalidInput")
	}
	return nil
}

func verdictWords(v string) string {
	if v == VerdictApprove {
		return "approved"
	}
	return "asked for changes"
}

func (w *campaignWorkflow) review(ctx workflow.Context, in CampaignReviewInput) (CampaignView, error) {
	i := slices.IndexFunc(w.st.Reviewers, func(r domain.ReviewerStatus) bool { return r.Reviewer.ID == in.ReviewerID })
	w.st.Reviewers[i].Verdict = in.Verdict
	who := w.st.Reviewers[i].Reviewer
	kind := "review-approved"
	if in.Verdict == VerdictChanges {
		kind = "changes-requested"
		w.st.Comments = append(w.st.Comments, domain.ReviewComment{Round: in.Round, Reviewer: who.Name, Comment: strings.TrimSpace(in.Comment),
			At: workflow.Now(ctx)})
	}
	if err := w.event(ctx, kind, fmt.Sprintf("verdict:%d:%s", in.Round, who.ID), "reviewer:"+who.ID, strings.TrimSpace(in.Comment),
		map[string]string{"round": fmt.Sprint(in.Round)}); err != nil {
		return w.view(ctx), err
	}
	if in.Verdict == VerdictChanges {
		if err := w.send(ctx, w.notice(domain.KindCampaignChanges, w.owner()), len(w.st.Comments)); err != nil {
			return w.view(ctx), err
		}
	}
	return w.view(ctx), nil
}

func (w *campaignWorkflow) validateRevise(ctx workflow.Context, in CampaignReviseInput) error {
	switch {
	case w.st.Phase != PhaseDraft && w.st.Phase != PhaseReview:
		return stale("This plan was already %s; only a draft or a plan in review can be revised.", w.st.Phase)
	case in.Spec.ID != w.st.Spec.ID:
		return temporal.NewApplicationError(fmt.Sprintf("the revision is of campaign %q, not %q", in.Spec.ID, w.st.Spec.ID), "InvalidInput")
	}
	c := in.Spec
	// net/mail's address parser only logs when its debug flag is on: a
	// pure function of the input, whatever workflowcheck infers.
	err := c.Validate() //workflowcheck:ignore
	if err != nil {
		return temporal.NewApplicationError(err.Error(), "InvalidInput")
	}
	return nil
}

func (w *campaignWorkflow) revise(ctx workflow.Context, in CampaignReviseInput) (CampaignView, error) {
	c := in.Spec
	_ = c.Validate() //workflowcheck:ignore (normalises, as the validator checked; see validateRevise)
	if err := workflow.ExecuteActivity(actx(ctx), ca.SaveCampaignSpec, c).Get(ctx, nil); err != nil {
		return w.view(ctx), err
	}
	w.st.Spec = c
	w.st.Round++
	w.st.Reviewers = nil // the loop starts the new round
	err := w.event(ctx, "revised", fmt.Sprintf("revised:%d", w.st.Round), orDefault(in.Actor, "owner"), "", map[string]string{"round": fmt.Sprint(w.st.Round)})
	return w.view(ctx), err
}

func (w *campaignWorkflow) validateEnd(ctx workflow.Context, in CampaignEndInput) error {
	switch {
	case w.end != nil || w.ending || w.st.Phase == PhaseEnded || w.st.Phase == PhaseClosed:
		return stale("This campaign has already ended.")
	case in.Actor == "":
		return temporal.NewApplicationError("ending a campaign needs the actor", "InvalidInput")
	}
	return nil
}

func (w *campaignWorkflow) endNow(ctx workflow.Context, in CampaignEndInput) (CampaignView, error) {
	w.end = &in
	if !w.ending {
		w.cancelRun()
	}
	err := workflow.Await(ctx, func() bool { return w.st.Phase == PhaseEnded || w.st.Phase == PhaseClosed })
	return w.view(ctx), err
}

// ---- Approved → Live ----

func (w *campaignWorkflow) runApproved(ctx workflow.Context) error {
	if !w.st.Spec.StartsAt.IsZero() {
		ended, err := w.waitUntil(ctx, w.st.Spec.StartsAt.Time, func() bool { return w.end != nil })
		if err != nil {
			return err
		}
		if ended {
			return w.finish(ctx)
		}
	}
	w.st.LiveAt = workflow.Now(ctx)
	if err := w.setPhase(ctx, PhaseLive); err != nil {
		return err
	}
	return w.event(ctx, "live", "live", "system", "", map[string]string{"starts_at": stamp(w.st.Spec.StartsAt.Time)})
}

// ---- Live: the weekly check and digest ----

func (w *campaignWorkflow) runLive(ctx workflow.Context) error {
	maxChecks := w.in.MaxChecksPerRun
	if maxChecks <= 0 {
		maxChecks = DefaultMaxChecksPerRun
	}
	for {
		next := w.nextCheck()
		wake := next
		endsAt := w.st.Spec.EndsAt.Time
		if !endsAt.IsZero() && endsAt.Before(wake) {
			wake = endsAt
		}
		if _, err := w.waitUntil(ctx, wake, func() bool { return w.end != nil }); err != nil {
			return err
		}
		if w.end != nil {
			return w.finish(ctx)
		}
		now := workflow.Now(ctx)
		if !now.Before(next) {
			if err := w.check(ctx, next); err != nil {
				return err
			}
		}
		if !endsAt.IsZero() && !now.Before(endsAt) {
			return w.finish(ctx)
		}
		if w.checks >= maxChecks || workflow.GetInfo(ctx).GetContinueAsNewSuggested() || newBuildIsCurrent(ctx) {
			// An end's handler waits for the end: it does not hold the drain.
			if err := workflow.Await(ctx, func() bool { return w.settled(ctx)() || w.end != nil }); err != nil {
				return err
			}
			if w.end != nil { // an end arrived while draining
				return w.finish(ctx)
			}
			st := w.st
			return continueAsNew(ctx, CampaignWorkflow, CampaignInput{CampaignID: w.in.CampaignID,
				Resume: &st, MaxChecksPerRun: w.in.MaxChecksPerRun})
		}
	}
}

// check runs one period's commitment check and digest.
func (w *campaignWorkflow) check(ctx workflow.Context, to time.Time) error {
	w.checks++
	w.st.Week++
	week := w.st.Week
	from := to.Add(-w.st.Spec.CheckEvery())
	target := w.st.Spec.Commitments.MQLsPerWeek
	var period, toDate domain.CampaignStats
	if err := workflow.ExecuteActivity(actx(ctx), ca.CampaignNumbers, activities.CampaignNumbersInput{
		CampaignID: w.st.Spec.ID, From: from, To: to, Target: target}).Get(ctx, &period); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(actx(ctx), ca.CampaignNumbers, activities.CampaignNumbersInput{
		CampaignID: w.st.Spec.ID, From: w.st.LiveAt, To: to, Target: target * week}).Get(ctx, &toDate); err != nil {
		return err
	}
	short := domain.Shortfall(w.st.Spec.Commitments, period)
	w.st.Weeks = append(w.st.Weeks, domain.PeriodResult{Week: week, From: from, MQLs: period.MQLs, Target: target, Shortfall: short})
	if n := len(w.st.Weeks); n > MaxWeeksKept {
		w.st.Weeks = append([]domain.PeriodResult(nil), w.st.Weeks[n-MaxWeeksKept:]...)
	}
	n := w.notice("", domain.PersonRef{})
	n.Week, n.Period, n.ToDate, n.Shortfall, n.Weeks = week, period, toDate, short, w.st.Weeks
	if len(short) > 0 {
		// A marketing-side breach, escalated to the marketing leader.
		if err := w.event(ctx, "marketing-breach", fmt.Sprintf("breach:w%d", week), "system", strings.Join(short, "; "),
			map[string]string{"week": fmt.Sprint(week), "mqls": fmt.Sprint(period.MQLs), "target": fmt.Sprint(target),
				"acceptance_rate": fmt.Sprintf("%.4f", period.AcceptanceRate), "to": w.audience.MarketingLeader.ID}); err != nil {
			return err
		}
		for _, to := range []domain.PersonRef{w.owner(), w.audience.MarketingLeader} {
			n.Kind, n.To = domain.KindCampaignShortfall, to
			if err := w.send(ctx, n, 0); err != nil {
				return err
			}
		}
	}
	if err := w.event(ctx, "digest", fmt.Sprintf("digest:w%d", week), "system", "", map[string]string{
		"week": fmt.Sprint(week), "mqls": fmt.Sprint(period.MQLs), "accepted": fmt.Sprint(period.Accepted),
		"rejected": fmt.Sprint(period.Rejected), "converted": fmt.Sprint(period.Converted)}); err != nil {
		return err
	}
	for _, to := range w.audience.BothTeams {
		n.Kind, n.To = domain.KindCampaignDigest, to
		if err := w.send(ctx, n, 0); err != nil {
			return err
		}
	}
	return nil
}

// ---- Ended → Retrospective → Closed ----

func (w *campaignWorkflow) finish(ctx workflow.Context) error {
	w.ending = true
	w.st.EndedAt = workflow.Now(ctx)
	actor, reason := "system", "end date reached"
	if w.end != nil {
		actor, reason = w.end.Actor, orDefault(w.end.Reason, "ended by hand")
	}
	w.st.EndedBy = actor
	if err := w.setPhase(ctx, PhaseEnded); err != nil {
		return err
	}
	if err := w.event(ctx, "ended", "ended", actor, reason, map[string]string{"phase_before": w.phaseBefore()}); err != nil {
		return err
	}
	w.finished = true
	return nil
}

func (w *campaignWorkflow) phaseBefore() string {
	if w.st.LiveAt.IsZero() {
		return "never live"
	}
	return "live"
}

func (w *campaignWorkflow) runEnded(ctx workflow.Context) error {
	if !w.st.LiveAt.IsZero() {
		var toDate domain.CampaignStats
		if err := workflow.ExecuteActivity(actx(ctx), ca.CampaignNumbers, activities.CampaignNumbersInput{
			CampaignID: w.st.Spec.ID, From: w.st.LiveAt, To: w.st.EndedAt,
			Target: w.st.Spec.Commitments.MQLsPerWeek * max(w.st.Week, 1)}).Get(ctx, &toDate); err != nil {
			return err
		}
		n := w.notice("", domain.PersonRef{})
		n.ToDate = toDate
		for _, to := range w.audience.BothTeams {
			n.Kind, n.To = domain.KindCampaignRetro, to
			if err := w.send(ctx, n, 0); err != nil {
				return err
			}
		}
		if err := w.event(ctx, "retrospective", "retrospective", "system", "", map[string]string{
			"mqls": fmt.Sprint(toDate.MQLs), "converted": fmt.Sprint(toDate.Converted), "weeks": fmt.Sprint(w.st.Week)}); err != nil {
			return err
		}
	}
	if err := w.setPhase(ctx, PhaseClosed); err != nil {
		return err
	}
	return w.event(ctx, "closed", "closed", "system", "", nil)
}
