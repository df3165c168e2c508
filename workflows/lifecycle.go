package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/bizclock"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// lifecycle is the lead's life under its SLA policy:
// offers on business-time deadlines with reminders, reassignment, a two-level
// escalation chain, the first-contact clock, and the outcome.
func (w *leadWorkflow) lifecycle(ctx workflow.Context) error {
	w.pol = w.campaign.EffectivePolicy()
	w.st.Policy = w.pol.Name
	if err := w.offerPhase(ctx); err != nil {
		return err
	}
	if !w.st.State.Owned() {
		return workflow.Await(ctx, w.settled(ctx))
	}
	if err := w.contactPhase(ctx); err != nil {
		return err
	}
	if err := w.cadencePhase(ctx); err != nil {
		return err
	}
	if err := workflow.Await(ctx, w.closed); err != nil {
		return err
	}
	if w.st.State == domain.StateRecycled && w.pol.RecycleCooldown > 0 {
		return w.recycle(ctx)
	}
	return workflow.Await(ctx, w.settled(ctx))
}

// recycle rests the lead for the policy's cool-down, then continues as new:
// the next run starts in nurture with a fresh history, and the score must
// rise again (touches during the rest count).
func (w *leadWorkflow) recycle(ctx workflow.Context) error {
	until := workflow.Now(ctx).Add(time.Duration(w.pol.RecycleCooldown))
	w.st.Score = 0
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
	next := domain.LeadSnapshot{ID: w.st.ID, WorkflowID: w.st.WorkflowID, Email: w.st.Email, Name: w.st.Name,
		Company: w.st.Company, Country: w.st.Country, Score: w.st.Score, CampaignID: w.st.CampaignID,
		State: domain.StateCaptured, Attempt: w.st.Attempt, Touches: w.st.Touches, Version: w.st.Version,
		Policy: w.st.Policy, Cycle: w.st.Cycle + 1, Region: w.st.Region, Industry: w.st.Industry, CompanySize: w.st.CompanySize}
	return workflow.NewContinueAsNewError(ctx, LeadWorkflow, LeadInput{LeadID: w.st.ID, Resume: &Resume{Lead: next, SeenIDs: w.seenIDs}})
}

// deadlines lists the clocks running now, for QueryDeadlines.
func (w *leadWorkflow) deadlines(ctx workflow.Context) DeadlinesView {
	v := DeadlinesView{State: w.st.State, Owner: w.st.Owner, EscalationLevel: w.st.EscalationLevel, Policy: w.st.Policy,
		Events: int(w.st.Version), Recent: append([]EventSummary(nil), w.recent...)}
	now := workflow.Now(ctx)
	add := func(name string, due time.Time) {
		if !due.IsZero() {
			v.Deadlines = append(v.Deadlines, Deadline{Name: name, Due: due, Left: due.Sub(now)})
		}
	}
	switch w.st.State {
	case domain.StateOffered:
		add("accept", w.st.AcceptBy)
	case domain.StateEscalated:
		add("escalation", w.nextEscalation)
	case domain.StateAccepted:
		if w.st.EscalationLevel > 0 {
			add("escalation", w.nextEscalation)
		} else {
			add("first-contact", w.st.ContactBy)
		}
	}
	return v
}

// upsertSLA keeps the owner, due time and escalation level searchable.
func (w *leadWorkflow) upsertSLA(ctx workflow.Context, due time.Time) {
	updates := []temporal.SearchAttributeUpdate{SAOwner.ValueSet(w.st.Owner.ID), SAEscalation.ValueSet(int64(w.st.EscalationLevel))}
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
	s := w.st.State
	return s == domain.StateConverted || s == domain.StateDisqualified || s == domain.StateRecycled
}

// calendar is the business calendar of the clock waiting on rep.
func (w *leadWorkflow) calendar(rep domain.PersonRef) *bizclock.Calendar {
	cal, err := w.pol.CalendarFor(rep.TimeZone)
	if err != nil {
		// The policy was validated when imported; a rep's zone was validated
		// when the directory was. Fall back to the clock around the clock in UTC.
		w.log.Error("calendar", "rep", rep.ID, "error", err)
		cal, _ = bizclock.AlwaysOpen("UTC")
	}
	return cal
}

func addBusiness(cal *bizclock.Calendar, t time.Time, d time.Duration) time.Time {
	r, err := cal.Add(t, d)
	if err != nil {
		return t.Add(d) // a calendar with no open time: count wall time rather than never
	}
	return r
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// waitWindow waits until done() or the deadline *due, sending a reminder at
// each of the policy's fractions of the window from start to *due. The
// deadline can move (an extension, a snooze): reminders and the final timer
// are then re-armed against the new one. It reports whether done() won.
func (w *leadWorkflow) waitWindow(ctx workflow.Context, phase string, cal *bizclock.Calendar, start time.Time, due *time.Time,
	holder domain.PersonRef, done func() bool) (bool, error) {
	wake := func() bool { return done() || w.moved }
	// sleepUntil waits for at(), re-arming when the deadline moves; it
	// reports whether done() won.
	sleepUntil := func(at func() time.Time) (bool, error) {
		for {
			d := at().Sub(workflow.Now(ctx))
			if d <= 0 {
				return done(), nil
			}
			if _, err := workflow.AwaitWithTimeout(ctx, d, wake); err != nil {
				return false, err
			}
			if w.moved {
				w.moved = false
				continue
			}
			return done(), nil
		}
	}
	for i, f := range w.pol.Reminders {
		reminderAt := func() time.Time { return addBusiness(cal, start, time.Duration(float64(cal.Elapsed(start, *due))*f)) }
		if ok, err := sleepUntil(reminderAt); err != nil || ok {
			return ok, err
		}
		if err := w.record(ctx, "reminded", fmt.Sprintf("%s-reminder:%d:%d", phase, w.st.Attempt, i+1), "system", "",
			map[string]string{"phase": phase, "rep": holder.ID, "due": stamp(reminderAt()), "fired": stamp(workflow.Now(ctx)), "deadline": stamp(*due)}); err != nil {
			return false, err
		}
		if err := w.notifyPhase(ctx, mail.KindReminder, phase, holder, holder, domain.PersonRef{}, *due, i+1); err != nil {
			return false, err
		}
	}
	return sleepUntil(func() time.Time { return *due })
}

func (w *leadWorkflow) offerPhase(ctx workflow.Context) error {
	var had []string
	var prev domain.PersonRef
	reassigns := 0
	// Attempts go on across cycles: (lead, attempt) keys the assignment.
	for attempt := w.st.Attempt + 1; ; attempt++ {
		var res activities.AssignResult
		to := ""
		if w.pending != nil {
			to = w.pending.ToRep
		}
		err := w.exec(ctx, "Assign", activities.AssignInput{
			LeadID: w.st.ID, Attempt: attempt, TeamID: w.campaign.TeamID, Exclude: had, To: to,
		}).Get(ctx, &res)
		if err != nil {
			return err
		}
		if res.NoEligibleRep {
			if prev.ID == "" {
				w.st.Attempt = attempt - 1
				if w.st.State != domain.StateUnroutable {
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
			w.st.Attempt = attempt - 1
			w.pending = nil
			if again, err := w.escalateChain(ctx, "accept", prev, w.manager); err != nil || !again {
				return err
			}
			continue
		}
		takeOver := w.pending != nil && w.pending.TakeOver
		moved := w.pending
		w.pending = nil
		w.st.EscalationLevel = 0
		as := res.Assignment
		w.manager = as.Manager
		cal := w.calendar(as.Rep)
		now := workflow.Now(ctx)
		window := time.Duration(w.pol.AcceptWithin)
		w.st.Owner, w.st.Attempt = as.Rep, attempt
		w.st.OfferedAt, w.st.AcceptBy = now, addBusiness(cal, now, window)
		w.setState(ctx, domain.StateOffered)
		w.upsertSLA(ctx, w.st.AcceptBy)
		if err := w.record(ctx, "offered", fmt.Sprintf("offered:%d", attempt), "system", "",
			map[string]string{"rep": as.Rep.ID, "accept_by": stamp(w.st.AcceptBy), "calendar": cal.Location().String()}); err != nil {
			return err
		}
		if prev.ID != "" && !w.rejected[attempt-1] {
			if err := w.notifyReassigned(ctx, prev, as.Rep, now, moved); err != nil {
				return err
			}
		}
		if takeOver { // the manager took the lead themselves: accepted as of now
			w.st.AcceptedAt = now
			w.setState(ctx, domain.StateAccepted)
			return w.record(ctx, "accepted", fmt.Sprintf("accepted:%d", attempt), "manager:"+as.Rep.ID, "took over", nil)
		}
		if err := w.notifyPhase(ctx, mail.KindOffer, "accept", as.Rep, as.Rep, domain.PersonRef{}, w.st.AcceptBy, 0); err != nil {
			if !errors.Is(err, errOfferUnreachable) {
				return err
			}
			// SendGrid refused the offer for good: the rep is unreachable.
			if err := w.unreachable(ctx, as.Rep, attempt, "SendGrid refused the offer"); err != nil {
				return err
			}
			had = append(had, as.Rep.ID)
			prev = as.Rep
			continue
		}
		done := func() bool { return w.accepted() || w.rejected[attempt] || w.pending != nil }
		ok, err := w.waitWindow(ctx, "accept", cal, now, &w.st.AcceptBy, as.Rep, done)
		if err != nil {
			return err
		}
		had = append(had, as.Rep.ID)
		prev = as.Rep
		if ok && w.accepted() {
			return nil
		}
		if ok { // rejected, or moved by a manager: straight to the next rep; not a miss
			continue
		}
		if err := w.record(ctx, "lapsed", fmt.Sprintf("lapsed:%d", attempt), "system", "acceptance window closed without an answer",
			map[string]string{"rep": as.Rep.ID, "deadline": stamp(w.st.AcceptBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return err
		}
		if err := w.checkRepeatedMisses(ctx, "accept", as.Rep, w.st.AcceptBy); err != nil {
			return err
		}
		if reassigns < w.pol.OnMiss.Reassign {
			reassigns++
			continue
		}
		if again, err := w.escalateChain(ctx, "accept", as.Rep, as.Manager); err != nil || !again {
			return err
		}
	}
}

// escalateChain climbs rep → manager → sales leader, one level per missed
// window, until the lead is accepted (or, in the contact phase, contacted).
// It reports whether a manager moved the lead, so the offers go on.
func (w *leadWorkflow) escalateChain(ctx workflow.Context, phase string, holder, manager domain.PersonRef) (bool, error) {
	done := func() bool { return w.accepted() || w.pending != nil }
	if phase == "contact" {
		done = func() bool { return w.st.State != domain.StateAccepted }
	}
	moved := func(err error) (bool, error) { return err == nil && w.pending != nil, err }
	if !w.pol.OnMiss.Escalate {
		return moved(workflow.Await(ctx, done))
	}
	chain := []domain.PersonRef{manager, w.campaign.SalesLeader}
	cal := w.calendar(holder)
	window := time.Duration(w.pol.AcceptWithin)
	if phase == "contact" {
		window = time.Duration(w.pol.FirstContactWithin)
	}
	due := w.st.AcceptBy
	if phase == "contact" {
		due = w.st.ContactBy
	}
	for level, to := range chain {
		if to.ID == "" {
			continue
		}
		now := workflow.Now(ctx)
		w.st.EscalationLevel = level + 1
		if level == 0 {
			w.st.EscalatedAt = now
		}
		if phase == "accept" {
			w.setState(ctx, domain.StateEscalated)
		}
		deadline := w.st.AcceptBy
		if phase == "contact" {
			deadline = w.st.ContactBy
		}
		if err := w.record(ctx, "escalated", fmt.Sprintf("%s-escalated:%d:%d", phase, w.st.Attempt, level+1), "system",
			fmt.Sprintf("%s missed the %s deadline", holder.Name, phase),
			map[string]string{"phase": phase, "level": fmt.Sprint(level + 1), "to": to.ID, "deadline": stamp(deadline),
				"due": stamp(due), "fired": stamp(now)}); err != nil {
			return false, err
		}
		if err := w.notifyPhase(ctx, mail.KindEscalation, phase, to, holder, domain.PersonRef{}, deadline, level+1); err != nil {
			return false, err
		}
		if level == len(chain)-1 {
			w.nextEscalation = time.Time{}
			w.upsertSLA(ctx, time.Time{})
			break
		}
		due = addBusiness(cal, now, window)
		w.nextEscalation = due
		w.upsertSLA(ctx, due)
		ok, err := workflow.AwaitWithTimeout(ctx, due.Sub(now), done)
		if err != nil || ok {
			return moved(err)
		}
	}
	return moved(workflow.Await(ctx, done))
}

func (w *leadWorkflow) contactPhase(ctx workflow.Context) error {
	window := time.Duration(w.pol.FirstContactWithin)
	if window <= 0 {
		return nil
	}
	holder := w.st.Owner
	cal := w.calendar(holder)
	start := w.st.AcceptedAt
	w.st.ContactBy = addBusiness(cal, start, window)
	w.st.EscalationLevel = 0
	w.upsertSLA(ctx, w.st.ContactBy)
	if err := w.record(ctx, "contact-due", "contact-due", "system", "",
		map[string]string{"rep": holder.ID, "contact_by": stamp(w.st.ContactBy)}); err != nil {
		return err
	}
	done := func() bool { return w.st.State != domain.StateAccepted }
	ok, err := w.waitWindow(ctx, "contact", cal, start, &w.st.ContactBy, holder, done)
	if err != nil || ok {
		return err
	}
	if err := w.record(ctx, "breached", "contact-breached", "system", "no first contact logged by the deadline",
		map[string]string{"phase": "contact", "rep": holder.ID, "deadline": stamp(w.st.ContactBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
		return err
	}
	if err := w.checkRepeatedMisses(ctx, "contact", holder, w.st.ContactBy); err != nil {
		return err
	}
	_, err = w.escalateChain(ctx, "contact", holder, w.manager)
	return err
}

func (w *leadWorkflow) notifyPhase(ctx workflow.Context, kind, phase string, to, rep, next domain.PersonRef, deadline time.Time, n int) error {
	err := workflow.ExecuteActivity(actx(ctx), a.Notify, activities.NotifyInput{
		Kind: kind, Phase: phase, Seq: n, To: to, Lead: w.st, Campaign: w.campaign, Rep: rep, NextRep: next, Deadline: deadline,
	}).Get(ctx, nil)
	if err != nil && mail.IsRejected(err) {
		return w.mailRejected(ctx, kind, phase, to, n, err)
	}
	return err
}

// --- rep actions of the lifecycle engine ---

func stale(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrStaleAction)
}

func (w *leadWorkflow) validateReject(ctx workflow.Context, in RejectInput) error {
	if err := w.validateAccept(ctx, AcceptInput{RepID: in.RepID, Attempt: in.Attempt}); err != nil {
		return err
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
	w.rejected[in.Attempt] = true
	w.setState(ctx, domain.StateMQL)
	err := w.record(ctx, "rejected", fmt.Sprintf("rejected:%d", in.Attempt), "rep:"+in.RepID, in.Reason,
		map[string]string{"note": in.Note})
	return w.st.State, err
}

func (w *leadWorkflow) validateOwner(rep string) error {
	switch {
	case w.closed():
		return stale("This lead is closed (%s).", w.st.State)
	case !w.st.State.Owned():
		return stale("This lead is %s; only an accepted lead can be worked.", w.st.State)
	case w.st.Owner.ID != rep:
		return stale("This lead is held by %s.", w.st.Owner.Name)
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
	w.contacts++
	if w.st.State == domain.StateAccepted {
		w.st.ContactedAt = workflow.Now(ctx)
		w.setState(ctx, domain.StateContacted)
	}
	err := w.record(ctx, "contacted", fmt.Sprintf("contact:%d", w.contacts), "rep:"+in.RepID, "",
		map[string]string{"channel": in.Channel, "note": in.Note})
	return w.st.State, err
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
	return nil
}

func (w *leadWorkflow) close(ctx workflow.Context, in CloseInput) (domain.LeadState, error) {
	state := map[string]domain.LeadState{OutcomeConverted: domain.StateConverted,
		OutcomeDisqualified: domain.StateDisqualified, OutcomeRecycled: domain.StateRecycled}[in.Outcome]
	w.st.ClosedAt = workflow.Now(ctx)
	w.st.Reason = in.Reason
	if in.Outcome == OutcomeConverted {
		w.st.Reason = in.Reference
	}
	w.setState(ctx, state)
	w.upsertSLA(ctx, time.Time{})
	err := w.record(ctx, in.Outcome, "closed", "rep:"+in.RepID, w.st.Reason, nil)
	return w.st.State, err
}

// --- manager actions ---

func (w *leadWorkflow) validateManager(id string) error {
	if id == "" || (id != w.manager.ID && id != w.campaign.SalesLeader.ID && id != SystemDirectory) {
		return stale("Only the team's manager or the sales leader can do this.")
	}
	return nil
}

func (w *leadWorkflow) validateReassign(ctx workflow.Context, in ReassignInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	switch {
	case w.st.State != domain.StateOffered && w.st.State != domain.StateEscalated && w.st.State != domain.StateUnroutable:
		return stale("This lead is %s; only an offered, escalated or unroutable lead can be reassigned.", w.st.State)
	case w.pending != nil:
		return stale("A reassignment of this lead is already under way.")
	case in.ToRep != "" && in.ToRep == w.st.Owner.ID:
		return stale("%s already holds this lead.", w.st.Owner.Name)
	case in.TakeOver && (in.ManagerID == SystemDirectory || in.ToRep != in.ManagerID):
		return temporal.NewApplicationError("a take-over gives the lead to the manager who asks", "InvalidInput")
	case in.Reason == "" || len(in.Reason) > 500:
		return temporal.NewApplicationError("a reassignment needs a reason (1 to 500 characters)", "InvalidInput")
	}
	return nil
}

// reassign hands the lead to the offer loop and answers once the new offer
// is out, with its state.
func (w *leadWorkflow) reassign(ctx workflow.Context, in ReassignInput) (domain.LeadSnapshot, error) {
	from := w.st.Owner
	w.pending = &in
	data := map[string]string{"from": from.ID, "to": in.ToRep}
	actor := "manager:" + in.ManagerID
	if in.ManagerID == SystemDirectory {
		actor = SystemDirectory
	}
	if err := w.record(ctx, "reassigned", fmt.Sprintf("reassigned:%d", w.st.Attempt), actor, in.Reason, data); err != nil {
		return w.st, err
	}
	err := workflow.Await(ctx, func() bool { return w.pending == nil && (!in.TakeOver || w.accepted() || w.st.State.Owned()) })
	return w.st, err
}

func (w *leadWorkflow) validateExtend(ctx workflow.Context, in ExtendInput) error {
	if err := w.validateManager(in.ManagerID); err != nil {
		return err
	}
	window := time.Duration(w.pol.AcceptWithin)
	if w.st.State == domain.StateAccepted {
		window = time.Duration(w.pol.FirstContactWithin)
	}
	switch {
	case w.extended:
		return stale("This lead's deadline was already extended once.")
	case !(w.st.State == domain.StateOffered || w.st.State == domain.StateAccepted && !w.st.ContactBy.IsZero() && w.st.EscalationLevel == 0):
		return stale("This lead has no running deadline to extend (it is %s).", w.st.State)
	case in.By < time.Second || in.By > window:
		return temporal.NewApplicationError(fmt.Sprintf("an extension must be between 1s and the window, %s", window), "InvalidInput")
	case in.Reason == "" || len(in.Reason) > 500:
		return temporal.NewApplicationError("an extension needs a reason (1 to 500 characters)", "InvalidInput")
	}
	return nil
}

func (w *leadWorkflow) extend(ctx workflow.Context, in ExtendInput) (domain.LeadSnapshot, error) {
	due, phase := &w.st.AcceptBy, "accept"
	if w.st.State == domain.StateAccepted {
		due, phase = &w.st.ContactBy, "contact"
	}
	old := *due
	*due = addBusiness(w.calendar(w.st.Owner), old, in.By)
	w.extended, w.moved = true, true
	w.upsertSLA(ctx, *due)
	err := w.record(ctx, "extended", "extended", "manager:"+in.ManagerID, in.Reason,
		map[string]string{"phase": phase, "from": stamp(old), "to": stamp(*due)})
	return w.st, err
}

// checkRepeatedMisses alerts the sales leader when the rep who just missed
// has missed at least the policy's number of deadlines within its window.
func (w *leadWorkflow) checkRepeatedMisses(ctx workflow.Context, phase string, rep domain.PersonRef, deadline time.Time) error {
	la := w.pol.LeaderAlert
	if la.Misses <= 0 || w.campaign.SalesLeader.ID == "" {
		return nil
	}
	var n int
	since := workflow.Now(ctx).Add(-time.Duration(la.Within))
	if err := w.exec(ctx, "RepMisses", rep.ID, since).Get(ctx, &n); err != nil {
		return err
	}
	if n < la.Misses {
		return nil
	}
	if err := w.record(ctx, "leader-alerted", fmt.Sprintf("leader-alert:%s:%d", phase, w.st.Attempt), "system",
		fmt.Sprintf("%s missed %d deadlines within %s", rep.Name, n, time.Duration(la.Within)),
		map[string]string{"rep": rep.ID, "misses": fmt.Sprint(n), "to": w.campaign.SalesLeader.ID}); err != nil {
		return err
	}
	return w.notifyPhase(ctx, mail.KindLeader, phase, w.campaign.SalesLeader, rep, domain.PersonRef{}, deadline, n)
}

// --- snooze ---

func (w *leadWorkflow) validateSnooze(ctx workflow.Context, in SnoozeInput) error {
	if err := w.validateOwner(in.RepID); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	max := time.Duration(w.pol.SnoozeMax)
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
	w.snoozes++
	data := map[string]string{"until": stamp(in.Until), "note": in.Note}
	if w.st.State == domain.StateAccepted && !w.st.ContactBy.IsZero() && w.st.EscalationLevel == 0 && in.Until.After(w.st.ContactBy) {
		data["contact_by_was"] = stamp(w.st.ContactBy)
		w.st.ContactBy = in.Until
		w.moved = true
		w.upsertSLA(ctx, in.Until)
	}
	err := w.record(ctx, "snoozed", fmt.Sprintf("snooze:%d", w.snoozes), "rep:"+in.RepID, "prospect asked", data)
	return w.st, err
}

// cadencePhase runs the follow-up touches after first contact, each against
// its own deadline (kept in ContactBy: the next contact due). A missed touch
// is a breach and tells the manager; when the last deadline passes with the
// lead still open, it is recycled for no response.
func (w *leadWorkflow) cadencePhase(ctx workflow.Context) error {
	c := w.pol.Cadence
	if c.Touches < 2 {
		return nil
	}
	if err := workflow.Await(ctx, func() bool { return w.st.State != domain.StateAccepted }); err != nil {
		return err
	}
	if w.st.State != domain.StateContacted {
		return nil
	}
	holder := w.st.Owner
	cal := w.calendar(holder)
	first := w.st.ContactedAt
	prev := first
	for i := 2; i <= c.Touches; i++ {
		w.st.ContactBy = addBusiness(cal, first, time.Duration(i-1)*time.Duration(c.Within)/time.Duration(c.Touches-1))
		w.upsertSLA(ctx, w.st.ContactBy)
		phase := fmt.Sprintf("cadence-%d", i)
		if err := w.record(ctx, "cadence-due", phase+"-due", "system", "",
			map[string]string{"touch": fmt.Sprint(i), "rep": holder.ID, "due": stamp(w.st.ContactBy)}); err != nil {
			return err
		}
		n := i
		ok, err := w.waitWindow(ctx, phase, cal, prev, &w.st.ContactBy, holder, func() bool { return w.contacts >= n || w.closed() })
		if err != nil || w.closed() {
			return err
		}
		prev = w.st.ContactBy
		if ok {
			continue
		}
		if err := w.record(ctx, "breached", phase+"-breached", "system", fmt.Sprintf("touch %d of %d not logged by the deadline", i, c.Touches),
			map[string]string{"phase": phase, "rep": holder.ID, "deadline": stamp(w.st.ContactBy), "fired": stamp(workflow.Now(ctx))}); err != nil {
			return err
		}
		if err := w.checkRepeatedMisses(ctx, phase, holder, w.st.ContactBy); err != nil {
			return err
		}
		if w.pol.OnMiss.Escalate && w.manager.ID != "" {
			if err := w.notifyPhase(ctx, mail.KindEscalation, phase, w.manager, holder, domain.PersonRef{}, w.st.ContactBy, 1); err != nil {
				return err
			}
		}
	}
	if w.closed() {
		return nil
	}
	// The cadence ran out with no outcome: back to nurture, for no response.
	w.st.ClosedAt, w.st.Reason = workflow.Now(ctx), "no-response"
	w.setState(ctx, domain.StateRecycled)
	w.upsertSLA(ctx, time.Time{})
	return w.record(ctx, OutcomeRecycled, "closed", "system", "no-response",
		map[string]string{"after": fmt.Sprintf("%d touches", w.contacts)})
}

// nobodyEligible follows the policy when no rep can take the lead: tell the
// manager now and wait for a retry of routing (or the manager's own move), or
// hand the next attempt to the manager.
func (w *leadWorkflow) nobodyEligible(ctx workflow.Context) error {
	if w.manager.ID == "" {
		if err := w.exec(ctx, "TeamManager", w.campaign.TeamID).Get(ctx, &w.manager); err != nil {
			return err
		}
	}
	if w.pol.NobodyEligible == domain.NobodyManager && w.manager.ID != "" {
		w.pending = &ReassignInput{ManagerID: SystemDirectory, ToRep: w.manager.ID, Reason: "nobody in the team is eligible"}
		return nil
	}
	if !w.unroutableTold && w.manager.ID != "" {
		w.unroutableTold = true
		if err := w.notifyPhase(ctx, mail.KindEscalation, "routing", w.manager, domain.PersonRef{Name: "Routing"}, domain.PersonRef{}, workflow.Now(ctx), 1); err != nil {
			return err
		}
	}
	retry := time.Duration(w.pol.RoutingRetry)
	if retry <= 0 {
		retry = domain.DefaultRoutingRetry
	}
	_, err := workflow.AwaitWithTimeout(ctx, retry, func() bool { return w.pending != nil })
	return err
}

// --- out of office ---

func (w *leadWorkflow) validateAway(ctx workflow.Context, in AwayInput) error {
	switch {
	case in.RepID == "" || in.RepID != w.st.Owner.ID:
		return stale("%s does not hold this lead.", in.RepID)
	case w.st.State != domain.StateOffered && w.st.State != domain.StateEscalated && !w.st.State.Owned():
		return stale("This lead is %s; no clock waits on its holder.", w.st.State)
	case !in.Until.After(workflow.Now(ctx)):
		return temporal.NewApplicationError("away until an instant in the future", "InvalidInput")
	}
	return nil
}

// away applies the policy: an unaccepted lead is reassigned (or its deadline
// paused); an accepted lead's running contact deadline is paused.
func (w *leadWorkflow) away(ctx workflow.Context, in AwayInput) (domain.LeadSnapshot, error) {
	now := workflow.Now(ctx)
	unaccepted := w.st.State == domain.StateOffered || w.st.State == domain.StateEscalated
	if unaccepted && w.pol.OutOfOffice != domain.AwayPause {
		w.pending = &ReassignInput{ManagerID: SystemDirectory, Reason: "the holder is out of office"}
		if err := w.record(ctx, "reassigned", fmt.Sprintf("away:%d", w.st.Attempt), SystemDirectory, "the holder is out of office",
			map[string]string{"from": in.RepID, "until": stamp(in.Until)}); err != nil {
			return w.st, err
		}
		err := workflow.Await(ctx, func() bool { return w.pending == nil })
		return w.st, err
	}
	due, phase := &w.st.AcceptBy, "accept"
	if w.st.State.Owned() {
		due, phase = &w.st.ContactBy, "contact"
	}
	if due.IsZero() || !due.After(now) {
		return w.st, w.record(ctx, "away", fmt.Sprintf("away:%d:%s", w.st.Attempt, stamp(in.Until)), SystemDirectory,
			"the holder is out of office; no running deadline to pause", map[string]string{"until": stamp(in.Until)})
	}
	cal := w.calendar(w.st.Owner)
	old := *due
	*due = addBusiness(cal, old, cal.Elapsed(now, in.Until))
	w.moved = true
	w.upsertSLA(ctx, *due)
	return w.st, w.record(ctx, "paused", fmt.Sprintf("away:%d:%s", w.st.Attempt, stamp(in.Until)), SystemDirectory,
		"the holder is out of office", map[string]string{"phase": phase, "until": stamp(in.Until), "from": stamp(old), "to": stamp(*due)})
}
