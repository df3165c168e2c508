package workflows

import (
	"fmt"
	"slices"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// A manager's actions on a missed lead (issue 16): an accepted lead whose
// first contact was missed can be handed to a named rep or taken over (a
// fresh first-contact clock either way), or its deadline extended once; the
// holder of an escalated lead can be nudged. The hand-over runs in the main
// coroutine (contactRestart), between two clocks; the others change the
// clock from their handler, which wakes the phase.

func invalid(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), "InvalidInput")
}

// checkText refuses a reason or note that is empty (when required), too
// long, or holds control characters.
func checkText(field, s string, required bool, limit int) error {
	switch {
	case required && s == "":
		return invalid("a %s is required (1 to %d characters)", field, limit)
	case len(s) > limit:
		return invalid("the %s is longer than %d characters", field, limit)
	}
	if p := domain.TextProblem(s); p != "" {
		return invalid("the %s %s", field, p)
	}
	return nil
}

// validateMissed is what every action on a missed first contact checks: a
// person (not the directory) who may manage the lead, a lead still waiting
// on its holder's first contact after the deadline, and the holder the
// manager saw.
func (w *leadWorkflow) validateMissed(ctx workflow.Context, manager string, attempt int) error {
	if err := w.validateManager(manager); err != nil {
		return err
	}
	at := func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }
	switch {
	case manager == SystemDirectory:
		return invalid("this action is a person's, not the directory's")
	case w.erasing != nil || w.Lead.State == domain.StateErased:
		return stale("This person's data is being erased on request; the lead takes no more actions.")
	case w.Lead.State == domain.StateContacted:
		return stale("%s logged a first contact at %s; nothing is overdue.", w.Lead.Owner.Name, at(w.Lead.ContactedAt))
	case w.closed():
		return stale("This lead is closed (%s).", w.Lead.State)
	case w.Lead.State != domain.StateAccepted:
		return stale("This lead is %s; this action is for an accepted lead whose first contact was missed.", w.Lead.State)
	case attempt != w.Lead.Attempt:
		return stale("This lead was handed to %s since; nothing was changed.", w.Lead.Owner.Name)
	case w.handing != nil:
		return stale("A hand-over of this lead is already under way.")
	case w.leaving:
		return stale("Baton is moving this lead to a fresh run right now; nothing was changed. Please try again.")
	case !w.Breached:
		return stale("%s's first-contact deadline is %s; it has not passed.", w.Lead.Owner.Name, at(w.Lead.ContactBy))
	}
	return nil
}

func (w *leadWorkflow) validateHand(ctx workflow.Context, in HandInput) error {
	if err := w.validateMissed(ctx, in.ManagerID, in.Attempt); err != nil {
		return err
	}
	switch {
	case in.TakeOver && in.ToRep != in.ManagerID:
		return invalid("a take-over gives the lead to the manager who asks")
	case in.TakeOver && in.ManagerID != w.Manager.ID:
		return stale("Only the team's manager, %s, can take this lead over; hand it to a rep instead.", orDefault(w.Manager.Name, "nobody"))
	case in.ToRep == "":
		return invalid("choose the rep to hand the lead to")
	case in.ToRep == w.Lead.Owner.ID:
		return stale("%s already holds this lead.", w.Lead.Owner.Name)
	case !in.TakeOver && !slices.Contains(w.Roster, in.ToRep):
		return stale("%s is not an active rep of team %s: the lead cannot be handed to them. Pick someone on the team.", in.ToRep, w.Campaign.TeamID)
	}
	return checkText("reason", in.Reason, true, 500)
}

// hand asks the main coroutine to carry the hand-over out between two
// clocks, and answers once it is done (or could not be).
func (w *leadWorkflow) hand(ctx workflow.Context, in HandInput) (domain.LeadSnapshot, error) {
	w.handing, w.handFailed = &in, ""
	err := workflow.Await(ctx, func() bool { return w.handing == nil || w.erasing != nil || w.leaving })
	switch {
	case err != nil:
	case w.handing != nil && w.leaving:
		w.handing = nil
		return w.Lead, stale("Baton was moving this lead to a fresh run just then; nothing was changed. Please try again.")
	case w.handing != nil:
		w.handing = nil
		return w.Lead, stale("This person's data is being erased on request; the lead was not moved.")
	case w.handFailed != "":
		return w.Lead, stale("%s", w.handFailed)
	}
	return w.Lead, err
}

// contactRestart runs after a clock ended: it carries out a pending
// hand-over, and reports whether a new clock starts (handed, or extended).
func (w *leadWorkflow) contactRestart(ctx workflow.Context) (bool, error) {
	if w.rearm {
		w.rearm = false
		return w.Lead.State == domain.StateAccepted, nil
	}
	if w.handing == nil {
		return false, nil
	}
	in := *w.handing
	if w.Lead.State != domain.StateAccepted { // the rep's contact won the race
		w.handFailed = fmt.Sprintf("%s logged a contact first; the lead stays with them", w.Lead.Owner.Name)
		w.handing = nil
		return false, nil
	}
	attempt := w.Lead.Attempt + 1
	var res activities.AssignResult
	if err := w.exec(ctx, a.Assign, activities.AssignInput{LeadID: w.Lead.ID, Attempt: attempt, TeamID: w.Campaign.TeamID, To: in.ToRep}).Get(ctx, &res); err != nil {
		return false, err
	}
	if res.Roster != nil {
		w.Roster = res.Roster
	}
	if res.NoEligibleRep {
		// The pick left the team after the validator looked: nothing moved.
		w.handFailed = fmt.Sprintf("%s could not be assigned (%s); the lead stays with %s", in.ToRep, res.Reason, w.Lead.Owner.Name)
		w.handing = nil
		return true, nil // the old clock goes on where it stood (mid-chain)
	}
	prev := w.Lead.Owner
	as := res.Assignment
	now := workflow.Now(ctx)
	cal := w.calendar(as.Rep)
	w.Manager = as.Manager
	w.Lead.Owner, w.Lead.Attempt = as.Rep, attempt
	w.ContactClock++
	w.ContactFrom = now
	w.Lead.ContactBy = addBusiness(cal, now, time.Duration(w.Policy.FirstContactWithin))
	w.Lead.EscalationLevel, w.NextEscalation, w.Reminded, w.Breached = 0, time.Time{}, 0, false
	w.upsertSLA(ctx, w.Lead.ContactBy)
	data := map[string]string{"from": prev.ID, "to": as.Rep.ID, "contact_by": stamp(w.Lead.ContactBy)}
	if in.TakeOver {
		data["takeover"] = "true"
	}
	if err := w.record(ctx, "handed", fmt.Sprintf("handed:%d", attempt), "manager:"+in.ManagerID, in.Reason, data); err != nil {
		return false, err
	}
	if !in.TakeOver {
		w.notice(ctx, activities.NotifyInput{Kind: domain.KindHanded, Phase: "contact", To: as.Rep, Rep: as.Rep, Deadline: w.Lead.ContactBy,
			Reason: in.Reason, From: w.personOf(in.ManagerID)})
	}
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindReassigned, Phase: "contact", To: prev, Rep: prev, NextRep: as.Rep, Deadline: now,
		Reason: "your manager moved it after the first-contact deadline passed (" + in.Reason + ")"})
	w.handing = nil // answered once the hand-over is recorded
	return true, nil
}

// personOf is the manager or the sales leader named by id.
func (w *leadWorkflow) personOf(id string) domain.PersonRef {
	if id == w.Campaign.SalesLeader.ID {
		return w.Campaign.SalesLeader
	}
	if id == w.Manager.ID {
		return w.Manager
	}
	return domain.PersonRef{ID: id, Name: id}
}

func (w *leadWorkflow) validateExtendContact(ctx workflow.Context, in ExtendContactInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	if w.Extended && w.Lead.State == domain.StateAccepted {
		return stale("This lead's deadline was already extended once.")
	}
	if err := w.validateMissed(ctx, in.ManagerID, in.Attempt); err != nil {
		return err
	}
	window := time.Duration(w.Policy.FirstContactWithin)
	switch {
	case in.By < time.Second || in.By > window:
		return invalid("an extension must be between 1s and the policy's first-contact window, %s", window)
	}
	return checkText("reason", in.Reason, true, 500)
}

// extendContact restarts the first-contact clock: due By of business time
// from now, the escalation stopped. No reminders on it (the holder was just
// escalated on); a miss of it escalates again from the manager.
func (w *leadWorkflow) extendContact(ctx workflow.Context, in ExtendContactInput) (domain.LeadSnapshot, error) {
	now := workflow.Now(ctx)
	old := w.Lead.ContactBy
	w.ContactClock++
	w.ContactFrom = now
	w.Lead.ContactBy = addBusiness(w.calendar(w.Lead.Owner), now, in.By)
	w.Lead.EscalationLevel, w.NextEscalation, w.Breached = 0, time.Time{}, false
	w.Reminded = len(w.Policy.Reminders)
	w.Extended, w.rearm = true, true
	w.upsertSLA(ctx, w.Lead.ContactBy)
	err := w.record(ctx, "extended", "extended", "manager:"+in.ManagerID, in.Reason,
		map[string]string{"phase": "contact", "from": stamp(old), "to": stamp(w.Lead.ContactBy), "after_miss": "true"})
	return w.Lead, err
}

func (w *leadWorkflow) validateNudge(ctx workflow.Context, in NudgeInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	if in.ManagerID == SystemDirectory {
		return invalid("a nudge is a person's, not the directory's")
	}
	if in.ClickID == "" || len(in.ClickID) > 100 {
		return invalid("a nudge needs its click id (1 to 100 characters)")
	}
	if slices.Contains(w.NudgeIDs, in.ClickID) {
		return nil // the same click again: answered, nothing sent
	}
	if w.Lead.State == domain.StateEscalated {
		switch {
		case w.erasing != nil:
			return stale("This person's data is being erased on request; the lead takes no more actions.")
		case w.pending != nil:
			return stale("A manager is moving this lead to someone else right now.")
		case in.Attempt != w.Lead.Attempt:
			return stale("This lead went to %s since; nothing was sent.", w.Lead.Owner.Name)
		}
	} else if err := w.validateMissed(ctx, in.ManagerID, in.Attempt); err != nil {
		return err
	}
	if n := w.NudgedHolder[w.Lead.Attempt]; n >= MaxNudges {
		return stale("%s was already nudged %d times about this lead; hand it on or take it over.", w.Lead.Owner.Name, n)
	}
	return checkText("note", in.Note, false, 500)
}

// nudge mails the holder on the manager's behalf, once per click.
func (w *leadWorkflow) nudge(ctx workflow.Context, in NudgeInput) (domain.LeadSnapshot, error) {
	if slices.Contains(w.NudgeIDs, in.ClickID) {
		return w.Lead, nil
	}
	w.NudgeIDs = append(w.NudgeIDs, in.ClickID)
	if n := len(w.NudgeIDs); n > DedupeWindow {
		w.NudgeIDs = append([]string(nil), w.NudgeIDs[n-DedupeWindow:]...)
	}
	if w.NudgedHolder == nil {
		w.NudgedHolder = map[int]int{}
	}
	w.NudgedHolder[w.Lead.Attempt]++
	w.Nudges++
	phase, due := "contact", w.Lead.ContactBy
	if w.Lead.State == domain.StateEscalated {
		phase, due = "accept", w.Lead.AcceptBy
	}
	holder := w.Lead.Owner
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindNudge, Phase: phase, Seq: w.Nudges, To: holder, Rep: holder, Deadline: due,
		Reason: in.Note, From: w.personOf(in.ManagerID)})
	data := map[string]string{"rep": holder.ID, "phase": phase, "click": in.ClickID}
	if in.Note != "" {
		data["note"] = in.Note // a note, so an erasure strips it
	}
	err := w.record(ctx, "nudged", fmt.Sprintf("nudged:%d", w.Nudges), "manager:"+in.ManagerID, "", data)
	return w.Lead, err
}
