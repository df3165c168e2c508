package workflows

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/workflow"
)

// The cadence phase: the follow-up touches after first contact, and the
// recycle back to nurture.

// cadencePhase runs the follow-up touches after first contact, each against
// its own deadline (kept in ContactBy: the next contact due). A missed touch
// is a breach and tells the manager; when the last deadline passes with the
// lead still open, it is recycled for no response. CadenceNext carries the
// progress across continue-as-new.
func (w *leadWorkflow) cadencePhase(ctx workflow.Context) error {
	c := w.Policy.Cadence
	if c.Touches < 2 {
		return nil
	}
	if err := w.wait(ctx, func() bool { return w.Lead.State != domain.StateAccepted }); err != nil {
		return err
	}
	if w.Lead.State != domain.StateContacted {
		return nil
	}
	holder := w.Lead.Owner
	cal := w.calendar(holder)
	first := w.Lead.ContactedAt
	// A touch is due on the policy's schedule from the first contact, moved
	// by the business time absences paused the cadence (CadenceShift).
	dueOf := func(i int) time.Time {
		if i <= 1 {
			return first
		}
		return addBusiness(cal, first, time.Duration(i-1)*time.Duration(c.Within)/time.Duration(c.Touches-1)+w.CadenceShift)
	}
	for i := max(2, w.CadenceNext); i <= c.Touches; i++ {
		phase := fmt.Sprintf("cadence-%d", i)
		if w.CadenceNext != i { // not a resumed wait
			// The window starts where the last one ended (its deadline as
			// paused), so a reminder is never due before its window opens.
			w.CadenceFrom = first
			if i > 2 {
				w.CadenceFrom = w.Lead.ContactBy
			}
			w.CadenceNext, w.Reminded = i, 0
			w.Lead.ContactBy = dueOf(i)
			w.upsertSLA(ctx, w.Lead.ContactBy)
			if err := w.record(ctx, "cadence-due", phase+"-due", "system", "",
				map[string]string{"touch": fmt.Sprint(i), "rep": holder.ID, "due": stamp(w.Lead.ContactBy)}); err != nil {
				return err
			}
		}
		n := i
		if w.CadenceFrom.IsZero() { // a run resumed from a release before CadenceFrom
			w.CadenceFrom = dueOf(i - 1)
		}
		ok, err := w.waitWindow(ctx, phase, cal, w.CadenceFrom, &w.Lead.ContactBy, holder, func() bool { return w.Contacts >= n || w.closed() })
		if err != nil || w.closed() {
			return err
		}
		if ok {
			continue
		}
		if err := w.record(ctx, "breached", phase+"-breached", "system", fmt.Sprintf("touch %d of %d not logged by the deadline", i, c.Touches),
			map[string]string{"phase": phase, "rep": holder.ID, "deadline": stamp(w.Lead.ContactBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return err
		}
		if err := w.checkRepeatedMisses(ctx, phase, holder, w.Lead.ContactBy); err != nil {
			return err
		}
		if w.Policy.OnMiss.Escalate && w.Manager.ID != "" {
			w.notice(ctx, activities.NotifyInput{Kind: domain.KindEscalation, Phase: phase, Seq: 1, To: w.Manager, Rep: holder, Deadline: w.Lead.ContactBy})
		}
	}
	if w.closed() {
		return nil
	}
	// The cadence ran out with no outcome: back to nurture, for no response.
	w.Lead.ClosedAt, w.Lead.Reason = workflow.Now(ctx), "no-response"
	w.setState(ctx, domain.StateRecycled)
	w.upsertSLA(ctx, time.Time{})
	return w.record(ctx, OutcomeRecycled, "closed", "system", "no-response",
		map[string]string{"after": fmt.Sprintf("%d touches", w.Contacts)})
}

// recycle rests the lead for the policy's cool-down, then continues as new:
// the next run starts in nurture with a fresh history, and the score must
// rise again (touches during the rest count). The state crosses as it is,
// with this cycle's sales fields reset.
func (w *leadWorkflow) recycle(ctx workflow.Context) error {
	until := workflow.Now(ctx).Add(time.Duration(w.Policy.RecycleCooldown))
	w.Lead.Score = 0
	if err := w.record(ctx, "cooling-down", "cooldown", "system", "recycled leads rest before nurture",
		map[string]string{"until": stamp(until)}); err != nil {
		return err
	}
	if err := workflow.Sleep(ctx, until.Sub(workflow.Now(ctx))); err != nil {
		return err
	}
	if err := workflow.Await(ctx, w.settled(ctx)); err != nil {
		return err
	}
	next := w.LeadRun
	l := &next.Lead
	l.State, l.Cycle = domain.StateCaptured, l.Cycle+1
	l.Owner, l.OfferedAt, l.AcceptBy, l.EscalatedAt, l.AcceptedAt = domain.PersonRef{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	l.EscalationLevel, l.ContactBy, l.ContactedAt, l.ClosedAt, l.Reason = 0, time.Time{}, time.Time{}, time.Time{}, ""
	next.Campaign, next.Policy, next.Roster = domain.CampaignInfo{}, domain.Policy{}, nil // the next cycle reads its campaign again
	next.Rejected, next.NextEscalation, next.Contacts, next.CadenceNext, next.Extended, next.Snoozes = nil, time.Time{}, 0, 0, false, 0
	next.CadenceShift, next.CadenceFrom = 0, time.Time{}
	next.UnroutableTold, next.ManagerTried, next.Reminded, next.Breached = false, false, 0, false
	next.Recorded, next.Loaded = l.Touches, true
	if n := len(next.SeenIDs); n > DedupeWindow {
		next.SeenIDs = append([]string(nil), next.SeenIDs[n-DedupeWindow:]...)
	}
	return continueAsNew(ctx, LeadWorkflow, LeadInput{LeadID: w.Lead.ID, MaxTouchesPerRun: w.in.MaxTouchesPerRun, Resume: &next})
}
