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

// Manager actions: reassign (to a named rep, back to routing, or take over),
// extend once; and what the policy does when nobody is eligible, and when a
// rep keeps missing deadlines.

func (w *leadWorkflow) validateManager(id string) error {
	if id == "" || (id != w.Manager.ID && id != w.Campaign.SalesLeader.ID && id != SystemDirectory) {
		return stale("Only the team's manager or the sales leader can do this.")
	}
	return nil
}

func (w *leadWorkflow) validateReassign(ctx workflow.Context, in ReassignInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	switch {
	case w.Lead.State != domain.StateOffered && w.Lead.State != domain.StateEscalated && w.Lead.State != domain.StateUnroutable:
		return stale("This lead is %s; only an offered, escalated or unroutable lead can be reassigned.", w.Lead.State)
	case w.pending != nil:
		return stale("A reassignment of this lead is already under way.")
	case in.ToRep != "" && in.ToRep == w.Lead.Owner.ID:
		return stale("%s already holds this lead.", w.Lead.Owner.Name)
	case in.TakeOver && (in.ManagerID == SystemDirectory || in.ToRep != in.ManagerID):
		return temporal.NewApplicationError("a take-over gives the lead to the manager who asks", "InvalidInput")
	case in.ToRep != "" && !slices.Contains(w.Roster, in.ToRep):
		return stale("%s is not an active rep of team %s: routing cannot assign the lead to them. Pick someone on the team, or send it back to routing.",
			in.ToRep, w.Campaign.TeamID)
	case in.Reason == "" || len(in.Reason) > 500:
		return temporal.NewApplicationError("a reassignment needs a reason (1 to 500 characters)", "InvalidInput")
	}
	return nil
}

// reassign hands the lead to the offer loop and answers once the new offer
// is out, with its state; a pick that could not be assigned after all is an
// error that says where the lead went instead.
func (w *leadWorkflow) reassign(ctx workflow.Context, in ReassignInput) (domain.LeadSnapshot, error) {
	from := w.Lead.Owner
	w.pending = &in
	w.moveFailed = ""
	w.Moves++
	data := map[string]string{"from": from.ID, "to": in.ToRep}
	actor := "manager:" + in.ManagerID
	if in.ManagerID == SystemDirectory {
		actor = SystemDirectory
	}
	if err := w.record(ctx, "reassigned", fmt.Sprintf("reassigned:%d:%d", w.Lead.Attempt, w.Moves), actor, in.Reason, data); err != nil {
		return w.Lead, err
	}
	// An erasure ends the run and clears the pending move: the answer says so
	// (the erasure's purge waits for every handler, this one included).
	err := workflow.Await(ctx, func() bool {
		return w.erasing != nil || w.pending == nil && (!in.TakeOver || w.Lead.State.Owned() || w.moveFailed != "")
	})
	if err == nil && w.erasing != nil && (in.TakeOver && !w.Lead.State.Owned() || w.pending != nil) {
		return w.Lead, stale("This person's data is being erased on request; the lead was not moved.")
	}
	if err == nil && w.moveFailed != "" {
		return w.Lead, stale("%s; it is now %s (%s).", w.moveFailed, w.Lead.State, orDefault(w.Lead.Owner.Name, "nobody"))
	}
	return w.Lead, err
}

func (w *leadWorkflow) validateExtend(ctx workflow.Context, in ExtendInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	window := time.Duration(w.Policy.AcceptWithin)
	if w.Lead.State == domain.StateAccepted {
		window = time.Duration(w.Policy.FirstContactWithin)
	}
	switch {
	case w.Extended:
		return stale("This lead's deadline was already extended once.")
	case w.Lead.State == domain.StateOffered && (w.closedShut || !workflow.Now(ctx).Before(w.Lead.AcceptBy)):
		return stale("This lead's acceptance window already closed; reassign it or take it over instead.")
	case !(w.Lead.State == domain.StateOffered || w.Lead.State == domain.StateAccepted && !w.Lead.ContactBy.IsZero() && w.Lead.EscalationLevel == 0):
		return stale("This lead has no running deadline to extend (it is %s).", w.Lead.State)
	case in.By < time.Second || in.By > window:
		return temporal.NewApplicationError(fmt.Sprintf("an extension must be between 1s and the window, %s", window), "InvalidInput")
	case in.Reason == "" || len(in.Reason) > 500:
		return temporal.NewApplicationError("an extension needs a reason (1 to 500 characters)", "InvalidInput")
	}
	return nil
}

func (w *leadWorkflow) extend(ctx workflow.Context, in ExtendInput) (domain.LeadSnapshot, error) {
	due, phase := &w.Lead.AcceptBy, "accept"
	if w.Lead.State == domain.StateAccepted {
		due, phase = &w.Lead.ContactBy, "contact"
	}
	old := *due
	*due = addBusiness(w.calendar(w.Lead.Owner), old, in.By)
	w.Extended, w.moved = true, true
	w.upsertSLA(ctx, *due)
	err := w.record(ctx, "extended", "extended", "manager:"+in.ManagerID, in.Reason,
		map[string]string{"phase": phase, "from": stamp(old), "to": stamp(*due)})
	return w.Lead, err
}

// checkRepeatedMisses alerts the sales leader when the rep who just missed
// has missed at least the policy's number of deadlines within its window.
func (w *leadWorkflow) checkRepeatedMisses(ctx workflow.Context, phase string, rep domain.PersonRef, deadline time.Time) error {
	la := w.Policy.LeaderAlert
	if la.Misses <= 0 || w.Campaign.SalesLeader.ID == "" {
		return nil
	}
	var n int
	since := workflow.Now(ctx).Add(-time.Duration(la.Within))
	if err := w.exec(ctx, a.RepMisses, rep.ID, since).Get(ctx, &n); err != nil {
		return err
	}
	if n < la.Misses {
		return nil
	}
	key := fmt.Sprintf("leader-alert:%s:%d", phase, w.Lead.Attempt)
	if phase == "contact" {
		key = w.clockKey(key)
	}
	if err := w.record(ctx, "leader-alerted", key, "system",
		fmt.Sprintf("%s missed %d deadlines within %s", rep.Name, n, time.Duration(la.Within)),
		map[string]string{"rep": rep.ID, "misses": fmt.Sprint(n), "to": w.Campaign.SalesLeader.ID}); err != nil {
		return err
	}
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindLeader, Phase: phase, Seq: n, To: w.Campaign.SalesLeader, Rep: rep, Deadline: deadline})
	return nil
}

// nobodyEligible follows the policy when no rep can take the lead: hand the
// lead to the manager (once), or tell the manager now and wait for a retry of
// routing (a timer) or the manager's own move.
func (w *leadWorkflow) nobodyEligible(ctx workflow.Context) error {
	if w.Manager.ID == "" {
		if err := w.exec(ctx, a.TeamManager, w.Campaign.TeamID).Get(ctx, &w.Manager); err != nil {
			return err
		}
	}
	if w.Policy.NobodyEligible == domain.NobodyManager && w.Manager.ID != "" && !w.ManagerTried {
		w.ManagerTried = true
		w.pending = &ReassignInput{ManagerID: SystemDirectory, ToRep: w.Manager.ID, Reason: "nobody in the team is eligible"}
		return nil
	}
	if !w.UnroutableTold && w.Manager.ID != "" {
		w.UnroutableTold = true
		w.notice(ctx, activities.NotifyInput{Kind: domain.KindEscalation, Phase: "routing", Seq: 1, To: w.Manager, Rep: domain.PersonRef{Name: "Routing"},
			Deadline: workflow.Now(ctx)})
	}
	retry := time.Duration(w.Policy.RoutingRetry)
	if retry <= 0 {
		retry = domain.DefaultRoutingRetry
	}
	_, err := workflow.AwaitWithTimeout(ctx, retry, func() bool { return w.pending != nil })
	return err
}
