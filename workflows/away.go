package workflows

import (
	"fmt"
	"slices"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Out of office: the holder is away until an instant; the policy's
// out_of_office choice decides what the clock does.

// validateAway. The rule between an absence and a manager's move: the first
// one taken wins. While a manager's reassignment (or any other move) is
// pending, an out-of-office update is refused with the reason (the lead is
// leaving its holder anyway); while an absence's move is pending, a
// manager's reassignment is refused by validateReassign. Each answered
// update says where the lead actually went.
func (w *leadWorkflow) validateAway(ctx workflow.Context, in AwayInput) error {
	switch {
	case in.RepID == "" || in.RepID != w.Lead.Owner.ID:
		return stale("%s does not hold this lead.", in.RepID)
	case w.pending != nil:
		return stale("This lead is already being moved (%s); the absence changes nothing.", w.pending.Reason)
	case w.Lead.State != domain.StateOffered && w.Lead.State != domain.StateEscalated && !w.Lead.State.Owned():
		return stale("This lead is %s; no clock waits on its holder.", w.Lead.State)
	case !in.Until.After(workflow.Now(ctx)):
		return temporal.NewApplicationError("away until an instant in the future", "InvalidInput")
	case w.awayMoves() && w.Roster != nil && !slices.ContainsFunc(w.Roster, func(id string) bool { return id != in.RepID }):
		return stale("Nobody else on team %s can take this lead: it stays with you and its clock runs on. Ask your manager to move it.", w.Campaign.TeamID)
	}
	return nil
}

// awayMoves is true when an absence moves the lead on (an unaccepted lead
// under a policy that reassigns).
func (w *leadWorkflow) awayMoves() bool {
	unaccepted := w.Lead.State == domain.StateOffered || w.Lead.State == domain.StateEscalated
	return unaccepted && w.Policy.OutOfOffice != domain.AwayPause
}

// away applies the policy: an unaccepted lead is reassigned (or its deadline
// paused); an accepted lead's running contact deadline is paused.
func (w *leadWorkflow) away(ctx workflow.Context, in AwayInput) (domain.LeadSnapshot, error) {
	now := workflow.Now(ctx)
	if w.awayMoves() {
		w.pending = &ReassignInput{ManagerID: SystemDirectory, Reason: "the holder is out of office"}
		w.moveFailed = ""
		w.Moves++
		if err := w.record(ctx, "reassigned", fmt.Sprintf("away:%d:%d", w.Lead.Attempt, w.Moves), SystemDirectory, "the holder is out of office",
			map[string]string{"from": in.RepID, "until": stamp(in.Until)}); err != nil {
			return w.Lead, err
		}
		err := workflow.Await(ctx, func() bool { return w.pending == nil || w.erasing != nil })
		switch {
		case err != nil:
			return w.Lead, err
		case w.erasing != nil && w.pending != nil:
			return w.Lead, stale("This person's data is being erased on request; the lead was not moved.")
		case w.Lead.Owner.ID == in.RepID && w.Lead.State.Open():
			// Routing found nobody else: the answer says where the lead is.
			return w.Lead, stale("Nobody else on the team could take this lead: it stays with %s, %s, and the manager is told.",
				w.Lead.Owner.Name, w.Lead.State)
		}
		return w.Lead, nil
	}
	due, phase := &w.Lead.AcceptBy, "accept"
	if w.Lead.State.Owned() {
		due, phase = &w.Lead.ContactBy, "contact"
	}
	if due.IsZero() || !due.After(now) || w.closedShut && w.Lead.State == domain.StateOffered {
		return w.Lead, w.record(ctx, "away", fmt.Sprintf("away:%d:%s", w.Lead.Attempt, stamp(in.Until)), SystemDirectory,
			"the holder is out of office; no running deadline to pause", map[string]string{"until": stamp(in.Until)})
	}
	cal := w.calendar(w.Lead.Owner)
	old := *due
	paused := cal.Elapsed(now, in.Until)
	*due = addBusiness(cal, old, paused)
	if w.Lead.State == domain.StateContacted && w.CadenceNext > 0 {
		w.CadenceShift += paused // the later touches wait as long
	}
	w.moved = true
	w.upsertSLA(ctx, *due)
	return w.Lead, w.record(ctx, "paused", fmt.Sprintf("away:%d:%s", w.Lead.Attempt, stamp(in.Until)), SystemDirectory,
		"the holder is out of office", map[string]string{"phase": phase, "until": stamp(in.Until), "from": stamp(old), "to": stamp(*due)})
}
