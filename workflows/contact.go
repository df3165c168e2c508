package workflows

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The contact phase: the first-contact clock after acceptance, its reminders,
// breach and escalation; the owner's contact, snooze and close.

func (w *leadWorkflow) contactPhase(ctx workflow.Context) error {
	window := time.Duration(w.Policy.FirstContactWithin)
	if window <= 0 {
		return nil
	}
	// A manager may restart the clock after a miss (hand the lead on,
	// extend): the phase then starts over on the new clock.
	for {
		again, err := w.contactClock(ctx, window)
		if err != nil || !again {
			return err
		}
	}
}

// contactClock runs one first-contact clock to its end: the first contact,
// or the miss and its escalation chain. It reports whether a manager
// restarted the clock meanwhile (the phase goes on with the new one).
func (w *leadWorkflow) contactClock(ctx workflow.Context, window time.Duration) (bool, error) {
	holder := w.Lead.Owner
	cal := w.calendar(holder)
	if w.Lead.ContactBy.IsZero() { // not a resumed run
		w.Lead.ContactBy = addBusiness(cal, w.Lead.AcceptedAt, window)
		w.Lead.EscalationLevel, w.Reminded, w.Breached = 0, 0, false
		w.upsertSLA(ctx, w.Lead.ContactBy)
		if err := w.record(ctx, "contact-due", "contact-due", "system", "",
			map[string]string{"rep": holder.ID, "contact_by": stamp(w.Lead.ContactBy)}); err != nil {
			return false, err
		}
	}
	done := func() bool { return w.Lead.State != domain.StateAccepted || w.handing != nil || w.rearm }
	if w.Lead.EscalationLevel == 0 && !w.Breached { // a resumed run goes on where the last one stopped
		start := w.Lead.AcceptedAt
		if !w.ContactFrom.IsZero() {
			start = w.ContactFrom
		}
		ok, err := w.waitWindow(ctx, "contact", cal, start, &w.Lead.ContactBy, holder, done)
		if err != nil {
			return false, err
		}
		if ok {
			return w.contactRestart(ctx)
		}
		if err := w.record(ctx, "breached", w.clockKey("contact-breached"), "system", "no first contact logged by the deadline",
			map[string]string{"phase": "contact", "rep": holder.ID, "deadline": stamp(w.Lead.ContactBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return false, err
		}
		w.Breached = true
		if err := w.checkRepeatedMisses(ctx, "contact", holder, w.Lead.ContactBy); err != nil {
			return false, err
		}
	}
	if _, err := w.escalateChain(ctx, "contact", holder, w.Manager, w.Lead.ContactBy, fmt.Sprintf("%s missed the contact deadline", holder.Name)); err != nil {
		return false, err
	}
	return w.contactRestart(ctx)
}

// clockKey keys an event of the running first-contact clock: the first
// clock's keys are those of earlier releases, a restarted one's carry its number.
func (w *leadWorkflow) clockKey(key string) string {
	if w.ContactClock > 0 {
		return fmt.Sprintf("%s:r%d", key, w.ContactClock)
	}
	return key
}

func (w *leadWorkflow) validateOwner(rep string) error {
	switch {
	case w.closed():
		return stale("This lead is closed (%s).", w.Lead.State)
	case !w.Lead.State.Owned():
		return stale("This lead is %s; only an accepted lead can be worked.", w.Lead.State)
	case w.Lead.Owner.ID != rep:
		return stale("This lead is held by %s.", w.Lead.Owner.Name)
	case w.handing != nil:
		return stale("Your manager is handing this lead to someone else right now.")
	}
	return nil
}

func (w *leadWorkflow) validateContact(ctx workflow.Context, in ContactInput) error {
	if err := w.validateOwner(in.RepID); err != nil {
		return err
	}
	if !domain.ValidReason(in.Channel, Channels) {
		return temporal.NewApplicationError(fmt.Sprintf("channel %q is not one of %v", in.Channel, Channels), "InvalidInput")
	}
	if len(in.Note) > 1000 {
		return temporal.NewApplicationError("note is longer than 1000 characters", "InvalidInput")
	}
	return nil
}

func (w *leadWorkflow) contact(ctx workflow.Context, in ContactInput) (domain.LeadState, error) {
	w.Contacts++
	if w.Lead.State == domain.StateAccepted {
		w.Lead.ContactedAt = workflow.Now(ctx)
		w.setState(ctx, domain.StateContacted)
	}
	err := w.record(ctx, "contacted", fmt.Sprintf("contact:%d", w.Contacts), "rep:"+in.RepID, "",
		map[string]string{"channel": in.Channel, "note": in.Note})
	return w.Lead.State, err
}

func (w *leadWorkflow) validateClose(ctx workflow.Context, in CloseInput) error {
	if err := w.validateOwner(in.RepID); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), "InvalidInput")
	}
	switch in.Outcome {
	case OutcomeConverted:
		if in.Reference == "" || len(in.Reference) > 200 {
			return bad("a conversion needs the opportunity reference (1 to 200 characters)")
		}
	case OutcomeDisqualified:
		if !domain.ValidReason(in.Reason, domain.DisqualifyReasons) {
			return bad("reason %q is not one of %v", in.Reason, domain.DisqualifyReasons)
		}
	case OutcomeRecycled:
		if !domain.ValidReason(in.Reason, domain.RecycleReasons) {
			return bad("reason %q is not one of %v", in.Reason, domain.RecycleReasons)
		}
	default:
		return bad("outcome %q is not one of converted, disqualified, recycled", in.Outcome)
	}
	if len(in.Note) > 1000 {
		return bad("note is longer than 1000 characters")
	}
	if p := domain.TextProblem(in.Note); p != "" {
		return bad("note %s", p)
	}
	return nil
}

func (w *leadWorkflow) close(ctx workflow.Context, in CloseInput) (domain.LeadState, error) {
	state := map[string]domain.LeadState{OutcomeConverted: domain.StateConverted,
		OutcomeDisqualified: domain.StateDisqualified, OutcomeRecycled: domain.StateRecycled}[in.Outcome]
	w.Lead.ClosedAt = workflow.Now(ctx)
	w.Lead.Reason = in.Reason
	if in.Outcome == OutcomeConverted {
		w.Lead.Reason = in.Reference
	}
	w.setState(ctx, state)
	w.upsertSLA(ctx, time.Time{})
	var data map[string]string
	if in.Note != "" {
		data = map[string]string{"note": in.Note}
	}
	err := w.record(ctx, in.Outcome, "closed", "rep:"+in.RepID, w.Lead.Reason, data)
	return w.Lead.State, err
}

func (w *leadWorkflow) validateSnooze(ctx workflow.Context, in SnoozeInput) error {
	if err := w.validateOwner(in.RepID); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	max := time.Duration(w.Policy.SnoozeMax)
	switch {
	case max <= 0:
		return stale("This lead's SLA policy allows no snooze.")
	case !in.Until.After(now):
		return temporal.NewApplicationError("snooze until an instant in the future", "InvalidInput")
	case in.Until.Sub(now) > max:
		return temporal.NewApplicationError(fmt.Sprintf("a snooze may last at most %s", max), "InvalidInput")
	case len(in.Note) > 1000:
		return temporal.NewApplicationError("note is longer than 1000 characters", "InvalidInput")
	}
	return nil
}

// snooze records the prospect's request; before first contact it moves the
// first-contact deadline to the requested instant.
func (w *leadWorkflow) snooze(ctx workflow.Context, in SnoozeInput) (domain.LeadSnapshot, error) {
	w.Snoozes++
	data := map[string]string{"until": stamp(in.Until), "note": in.Note}
	if w.Lead.State == domain.StateAccepted && !w.Lead.ContactBy.IsZero() && w.Lead.EscalationLevel == 0 && in.Until.After(w.Lead.ContactBy) {
		data["contact_by_was"] = stamp(w.Lead.ContactBy)
		w.Lead.ContactBy = in.Until
		w.moved = true
		w.upsertSLA(ctx, in.Until)
	}
	err := w.record(ctx, "snoozed", fmt.Sprintf("snooze:%d", w.Snoozes), "rep:"+in.RepID, "prospect asked", data)
	return w.Lead, err
}
