package workflows

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The offer phase: routing, the offer and its acceptance window with
// reminders, reassignment on a miss, and the escalation chain. The notices
// (offer, reminders, "reassigned", escalations) run beside the clock
// (notify.go): no deadline here waits on mail.

func (w *leadWorkflow) offerPhase(ctx workflow.Context) error {
	var had []string
	var prev domain.PersonRef
	reassigns := 0
	// Attempts go on across cycles and lives: (lead, attempt) keys the assignment.
	for attempt := w.Lead.Attempt + 1; ; attempt++ {
		moved := w.pending
		to := ""
		if moved != nil {
			to = moved.ToRep
		}
		var res activities.AssignResult
		if err := w.exec(ctx, a.Assign, activities.AssignInput{
			LeadID: w.Lead.ID, Attempt: attempt, TeamID: w.Campaign.TeamID, Exclude: had, To: to,
		}).Get(ctx, &res); err != nil {
			return err
		}
		if res.Roster != nil {
			w.Roster = res.Roster
		}
		if res.NoEligibleRep && to != "" {
			// The pick left the team after the validator looked: the move goes
			// to routing instead, and its answer says so. The next turn asks
			// the rotation (no pick), so this cannot repeat.
			w.moveFailed = fmt.Sprintf("%s could not be assigned (%s); the lead went back to routing", to, res.Reason)
			if err := w.record(ctx, "reassign-failed", fmt.Sprintf("reassign-failed:%d", w.Moves), "system", w.moveFailed,
				map[string]string{"to": to}); err != nil {
				return err
			}
			next := *moved
			next.ToRep, next.TakeOver = "", false
			w.pending = &next
			attempt--
			continue
		}
		if res.NoEligibleRep {
			w.Lead.Attempt = attempt - 1
			if prev.ID == "" {
				w.pending = nil
				if w.Lead.State != domain.StateUnroutable {
					w.setState(ctx, domain.StateUnroutable)
					if err := w.record(ctx, "unroutable", fmt.Sprintf("unroutable:%d", attempt), "system", res.Reason, nil); err != nil {
						return err
					}
				}
				if err := w.nobodyEligible(ctx); err != nil {
					return err
				}
				attempt-- // the loop's next turn retries this attempt
				continue
			}
			// Nobody left to reassign to: the last holder keeps it, escalated.
			reason, from := fmt.Sprintf("%s missed the accept deadline and nobody else in the team is eligible", w.Lead.Owner.Name), w.Lead.AcceptBy
			switch { // not a miss: the chain starts now, and says why
			case moved != nil:
				reason, from = fmt.Sprintf("the lead was to move (%s) but nobody else in the team is eligible", moved.Reason), workflow.Now(ctx)
			case w.Rejected[w.Lead.Attempt]:
				reason, from = fmt.Sprintf("%s declined and nobody else in the team is eligible", w.Lead.Owner.Name), workflow.Now(ctx)
			}
			w.pending = nil
			w.Lead.EscalationLevel, w.NextEscalation = 0, time.Time{}
			if !w.Lead.State.Open() || moved != nil {
				// Declined, or to move (an absence, an unreachable rep, a
				// manager), with nobody else to take it: the lead waits on the
				// manager (reassign, take over) or the holder's accept; never in
				// a state nobody can act on (an escalated lead cannot be
				// declined). Under a policy that does not escalate, the manager
				// is still told, once per such turn (its own chain number).
				w.setState(ctx, domain.StateEscalated)
				if !w.Policy.OnMiss.Escalate && w.Manager.ID != "" {
					w.Escalations++
					why := "declined, and nobody else in the team is eligible"
					if moved != nil {
						why = fmt.Sprintf("to move (%s), and nobody else in the team is eligible", moved.Reason)
					}
					w.notice(ctx, activities.NotifyInput{Kind: domain.KindEscalation, Phase: "accept", Seq: 1, To: w.Manager, Rep: w.Lead.Owner,
						Deadline: workflow.Now(ctx), Reason: why, Chain: w.Escalations})
				}
			}
			if again, err := w.escalateChain(ctx, "accept", w.Lead.Owner, w.Manager, from, reason); err != nil || !again {
				return err
			}
			continue
		}
		takeOver := moved != nil && moved.TakeOver
		w.pending = nil
		w.closedShut = false
		w.Lead.EscalationLevel = 0
		w.NextEscalation = time.Time{}
		as := res.Assignment
		w.Manager = as.Manager
		cal := w.calendar(as.Rep)
		now := workflow.Now(ctx)
		w.Lead.Owner, w.Lead.Attempt = as.Rep, attempt
		w.Lead.OfferedAt, w.Lead.AcceptBy = now, addBusiness(cal, now, time.Duration(w.Policy.AcceptWithin))
		if takeOver { // the manager took the lead themselves: accepted as of now
			w.Lead.AcceptedAt = now
			w.setState(ctx, domain.StateAccepted)
			w.upsertSLA(ctx, time.Time{})
		} else {
			w.setState(ctx, domain.StateOffered)
			w.upsertSLA(ctx, w.Lead.AcceptBy)
			// The new rep's offer first; the notice to the previous holder beside it.
			w.notice(ctx, activities.NotifyInput{Kind: domain.KindOffer, Phase: "accept", To: as.Rep, Rep: as.Rep, Deadline: w.Lead.AcceptBy})
		}
		if prev.ID != "" && !w.Rejected[attempt-1] {
			w.noticeReassigned(ctx, prev, as.Rep, now, moved)
		}
		if err := w.record(ctx, "offered", fmt.Sprintf("offered:%d", attempt), "system", "",
			map[string]string{"rep": as.Rep.ID, "accept_by": stamp(w.Lead.AcceptBy), "calendar": cal.Location().String()}); err != nil {
			return err
		}
		if takeOver {
			return w.record(ctx, "accepted", fmt.Sprintf("accepted:%d", attempt), "manager:"+as.Rep.ID, "took over", nil)
		}
		done := func() bool { return w.accepted() || w.Rejected[attempt] || w.pending != nil }
		w.Reminded = 0
		ok, err := w.waitWindow(ctx, "accept", cal, now, &w.Lead.AcceptBy, as.Rep, done)
		if err != nil {
			return err
		}
		had = append(had, as.Rep.ID)
		prev = as.Rep
		if ok && w.accepted() {
			return nil
		}
		if ok { // rejected, or moved: straight to the next rep; not a miss
			continue
		}
		// The window closed: from here on no accept and no extension of it.
		w.closedShut = true
		if err := w.record(ctx, "lapsed", fmt.Sprintf("lapsed:%d", attempt), "system", "acceptance window closed without an answer",
			map[string]string{"rep": as.Rep.ID, "deadline": stamp(w.Lead.AcceptBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return err
		}
		if err := w.checkRepeatedMisses(ctx, "accept", as.Rep, w.Lead.AcceptBy); err != nil {
			return err
		}
		if w.pending != nil { // a manager or an absence moved it meanwhile
			continue
		}
		if reassigns < w.Policy.OnMiss.Reassign {
			reassigns++
			continue
		}
		if again, err := w.escalateChain(ctx, "accept", as.Rep, as.Manager, w.Lead.AcceptBy, fmt.Sprintf("%s missed the accept deadline", as.Rep.Name)); err != nil || !again {
			return err
		}
	}
}

// sleepUntil waits for done() or the instant at(), re-arming when the
// deadline moves; it reports whether done() won.
func (w *leadWorkflow) sleepUntil(ctx workflow.Context, at func() time.Time, done func() bool) (bool, error) {
	wake := func() bool { return done() || w.moved || w.owned && w.longRun(ctx) }
	for {
		if done() {
			return true, nil
		}
		d := at().Sub(w.timerNow(ctx))
		if d <= 0 { // by the worker's clock; the instant is the server's
			if d = at().Sub(workflow.Now(ctx)); d <= 0 {
				return done(), nil
			}
		}
		woke, err := workflow.AwaitWithTimeout(ctx, d, wake)
		if err != nil {
			return false, err
		}
		if w.moved {
			w.moved = false
			continue
		}
		if !done() && w.owned && w.longRun(ctx) && at().After(workflow.Now(ctx)) {
			return false, errLongRun
		}
		if !woke && !done() && at().After(workflow.Now(ctx)) {
			continue // the timer fired before the instant (a worker clock ahead of the server's): wait out the rest
		}
		return done(), nil
	}
}

// timerNow is the instant a timer armed now starts from. Temporal starts a
// timer when the workflow task that armed it completes, but workflow.Now is
// the task's start, and local activities in the task (a record, a routing
// step) keep it open for tens to hundreds of milliseconds under load: an
// offer's first reminder, armed in the offer's task, fired that much late
// (reminder lateness p99 570 ms against 58 ms for breaches in make bench).
// After a local activity the wall clock is read once, as a side effect (one
// marker in the history), and never taken below workflow.Now; sleepUntil
// waits out any rest if a worker clock ahead of the server's fires it early.
func (w *leadWorkflow) timerNow(ctx workflow.Context) time.Time {
	now := workflow.Now(ctx)
	if !w.ranLocal {
		return now
	}
	w.ranLocal = false
	var wall time.Time
	if err := workflow.SideEffect(ctx, func(ctx workflow.Context) any { return wallClock(ctx) }).Get(&wall); err != nil || wall.Before(now) {
		return now
	}
	return wall
}

// wallClock is the worker's clock, read only inside a side effect (a test
// sets it ahead of the server's).
var wallClock = func(workflow.Context) time.Time { return time.Now() }

// waitWindow waits until done() or the deadline *due, sending a reminder at
// each of the policy's fractions of the window from start to *due. The
// deadline can move (an extension, a snooze, an absence): reminders and the
// final timer are then re-armed against the new one. It reports whether
// done() won.
func (w *leadWorkflow) waitWindow(ctx workflow.Context, phase string, cal *domain.Calendar, start time.Time, due *time.Time,
	holder domain.PersonRef, done func() bool) (bool, error) {
	for i, f := range w.Policy.Reminders {
		if i < w.Reminded { // sent before this run resumed the window
			continue
		}
		reminderAt := func() time.Time { return addBusiness(cal, start, time.Duration(float64(cal.Elapsed(start, *due))*f)) }
		if ok, err := w.sleepUntil(ctx, reminderAt, done); err != nil || ok {
			return ok, err
		}
		if err := w.record(ctx, "reminded", fmt.Sprintf("%s-reminder:%d:%d", phase, w.Lead.Attempt, i+1), "system", "",
			map[string]string{"phase": phase, "rep": holder.ID, "due": stamp(reminderAt()), "fired": stamp(workflow.Now(ctx)), "deadline": stamp(*due)}); err != nil {
			return false, err
		}
		w.Reminded = i + 1
		w.notice(ctx, activities.NotifyInput{Kind: domain.KindReminder, Phase: phase, Seq: i + 1, To: holder, Rep: holder, Deadline: *due})
	}
	return w.sleepUntil(ctx, func() time.Time { return *due }, done)
}

// escalateChain climbs rep → manager → sales leader, one level per missed
// window, until the lead is accepted (or, in the contact phase, contacted).
// Level 1 is due at first (the missed deadline), every next level one window after
// the previous level's due instant (never after the side effects that
// followed it). A run resumed mid-chain goes on from the level it reached.
// It reports whether a manager moved the lead, so the offers go on.
func (w *leadWorkflow) escalateChain(ctx workflow.Context, phase string, holder, manager domain.PersonRef, first time.Time, reason string) (bool, error) {
	done := func() bool { return w.accepted() || w.pending != nil }
	if phase == "contact" {
		done = func() bool { return w.Lead.State != domain.StateAccepted || w.handing != nil || w.rearm }
	}
	moved := func(err error) (bool, error) { return err == nil && w.pending != nil, err }
	if !w.Policy.OnMiss.Escalate {
		return moved(w.wait(ctx, done))
	}
	chain := []domain.PersonRef{manager, w.Campaign.SalesLeader}
	cal := w.calendar(holder)
	window := time.Duration(w.Policy.AcceptWithin)
	deadline := w.Lead.AcceptBy
	if phase == "contact" {
		window, deadline = time.Duration(w.Policy.FirstContactWithin), w.Lead.ContactBy
	}
	from, due := 0, first
	if w.Lead.EscalationLevel > 0 { // resumed mid-chain
		if w.NextEscalation.IsZero() {
			return moved(w.wait(ctx, done))
		}
		from, due = w.Lead.EscalationLevel, w.NextEscalation
	} else {
		w.Escalations++
	}
	for level := from; level < len(chain); level++ {
		to := chain[level]
		if to.ID == "" {
			continue
		}
		if ok, err := w.sleepUntil(ctx, func() time.Time { return due }, done); err != nil || ok {
			return moved(err)
		}
		w.Lead.EscalationLevel = level + 1
		if level == 0 || w.Lead.EscalatedAt.IsZero() {
			w.Lead.EscalatedAt = workflow.Now(ctx)
		}
		if phase == "accept" {
			w.setState(ctx, domain.StateEscalated)
		}
		next := addBusiness(cal, due, window)
		w.NextEscalation = next
		if level == len(chain)-1 {
			w.NextEscalation = time.Time{}
		}
		w.upsertSLA(ctx, w.NextEscalation)
		if err := w.record(ctx, "escalated", fmt.Sprintf("%s-escalated:%d:%d:%d", phase, w.Lead.Attempt, w.Escalations, level+1), "system",
			reason, map[string]string{"phase": phase, "level": fmt.Sprint(level + 1), "to": to.ID, "deadline": stamp(deadline),
				"due": stamp(due), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return false, err
		}
		w.notice(ctx, activities.NotifyInput{Kind: domain.KindEscalation, Phase: phase, Seq: level + 1, To: to, Rep: holder, Deadline: deadline,
			Chain: w.Escalations})
		due = next
	}
	return moved(w.wait(ctx, done))
}

func (w *leadWorkflow) accepted() bool { return w.Lead.State == domain.StateAccepted }

// validateAccept decides on workflow time. An offered lead's window closes at
// its deadline: a click after it is refused with the instant it closed (the
// lead goes to the next rep or up the chain). Once escalated, the holder may
// still accept until the lead moves. An accept answered "yes" therefore means
// the rep holds the lead: nothing moves an accepted lead back to routing.
func (w *leadWorkflow) validateAccept(ctx workflow.Context, in AcceptInput) error {
	at := func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 MST") }
	switch {
	case w.Lead.State.Owned() && w.Lead.Owner.ID == in.RepID:
		return stale("You already accepted this lead at %s.", at(w.Lead.AcceptedAt))
	case w.Lead.State.Owned():
		return stale("This lead was accepted by %s at %s.", w.Lead.Owner.Name, at(w.Lead.AcceptedAt))
	case !w.Lead.State.Open():
		return stale("This lead is not offered to anyone right now (it is %s).", w.Lead.State)
	case w.pending != nil:
		return stale("A manager is moving this lead to someone else right now.")
	case w.Lead.Owner.ID != in.RepID || w.Lead.Attempt != in.Attempt:
		return stale("This lead was reassigned to %s at %s, after your acceptance window closed.", w.Lead.Owner.Name, at(w.Lead.OfferedAt))
	case w.Lead.State == domain.StateOffered && (w.closedShut || !workflow.Now(ctx).Before(w.Lead.AcceptBy)):
		return stale("Your acceptance window closed at %s; the lead is going to the next rep or to your manager.", at(w.Lead.AcceptBy))
	}
	return nil
}

func (w *leadWorkflow) accept(ctx workflow.Context, in AcceptInput) (AcceptResult, error) {
	now := workflow.Now(ctx)
	late := now.After(w.Lead.AcceptBy)
	w.Lead.AcceptedAt = now
	w.setState(ctx, domain.StateAccepted)
	reason := ""
	if late {
		reason = "accepted after the deadline, while escalated"
	}
	err := w.record(ctx, "accepted", fmt.Sprintf("accepted:%d", w.Lead.Attempt), "rep:"+in.RepID, reason,
		map[string]string{"accept_by": stamp(w.Lead.AcceptBy)})
	return AcceptResult{State: w.Lead.State, AcceptedAt: now}, err
}

// validateReject: the offered rep may decline while the window runs. An
// escalated lead cannot be declined: the manager has been told it waits on
// this rep, and only the manager moves it now (reassign, take over) — or the
// rep accepts. So no decline leaves a lead nobody can act on.
func (w *leadWorkflow) validateReject(ctx workflow.Context, in RejectInput) error {
	if err := w.validateAccept(ctx, AcceptInput{RepID: in.RepID, Attempt: in.Attempt}); err != nil {
		return err
	}
	if w.Lead.State == domain.StateEscalated {
		return stale("This lead is escalated to %s: it can no longer be declined. Accept it, or ask your manager to move it.", w.Manager.Name)
	}
	if !domain.ValidReason(in.Reason, domain.RejectReasons) {
		return temporal.NewApplicationError(fmt.Sprintf("reason %q is not one of %v", in.Reason, domain.RejectReasons), "InvalidInput")
	}
	if len(in.Note) > 1000 {
		return temporal.NewApplicationError("note is longer than 1000 characters", "InvalidInput")
	}
	return nil
}

func (w *leadWorkflow) reject(ctx workflow.Context, in RejectInput) (domain.LeadState, error) {
	w.Rejected[in.Attempt] = true
	w.setState(ctx, domain.StateMQL)
	err := w.record(ctx, "rejected", fmt.Sprintf("rejected:%d", in.Attempt), "rep:"+in.RepID, in.Reason,
		map[string]string{"note": in.Note})
	return w.Lead.State, err
}
