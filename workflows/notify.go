package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Notices run beside the clocks: a message is sent in its own coroutine with
// its own bounded retry, and no deadline waits for it. A message SendGrid
// refuses for good, or one still not sent when its retries run out, becomes
// an event and an alert; an offer that cannot reach its rep moves the lead on
// at once.

// noticeRetryFor bounds a notice's retries in time, not in attempts: a
// SendGrid outage, Baton's own PostgreSQL away or restarting, workers dying
// are ridden out for this long, however many attempts they fail. (A bound of
// six attempts, used before, was spent in half a minute by a database
// restart — 1+2+4+8+16 s of backoff — and an offer was then declared
// undeliverable and its rep unreachable: found by the fault suite.) The run
// does not wait on it.
const noticeRetryFor = 2 * time.Hour

func nctx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: noticeRetryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
}

// notice sends one message about the lead as it is now, beside the clock.
func (w *leadWorkflow) notice(ctx workflow.Context, in activities.NotifyInput) {
	in.Lead, in.Campaign = w.Lead, w.Campaign
	w.sending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		err := workflow.ExecuteActivity(nctx(ctx), a.Notify, in).Get(ctx, nil)
		if err == nil || temporal.IsCanceledError(err) || ctx.Err() != nil {
			return
		}
		if err := w.noticeFailed(ctx, in, err); err != nil && ctx.Err() == nil {
			w.log.Error("notice failure not recorded", "kind", in.Kind, "to", in.To.ID, "error", err)
		}
	})
}

// noticeFailed records a message that could not be delivered and alerts: a
// refused or undeliverable offer takes the "rep unreachable" path (which
// tells the manager); any other message tells the manager (or, when the
// manager's own message failed, the sales leader). An alert that fails is
// only recorded.
func (w *leadWorkflow) noticeFailed(ctx workflow.Context, in activities.NotifyInput, cause error) error {
	kind := "mail-failed"
	why := fmt.Sprintf("not delivered within %s: %s", noticeRetryFor, rootMessage(cause))
	if isMailRejected(cause) {
		kind, why = "mail-rejected", rootMessage(cause)
	}
	w.log.Error("notice not delivered", "kind", in.Kind, "to", in.To.ID, "error", cause)
	key := fmt.Sprintf("%s:%s:%s:%d:%d:%s", kind, in.Kind, in.Phase, in.Lead.Attempt, in.Seq, in.To.ID)
	if in.Chain > 1 {
		key += fmt.Sprintf(":e%d", in.Chain)
	}
	if err := w.record(ctx, kind, key, "system:mail",
		why, map[string]string{"message": in.Kind, "to": in.To.ID}); err != nil {
		return err
	}
	if in.Kind == domain.KindOffer {
		return w.unreachable(ctx, in.To, in.Lead.Attempt, "the offer could not be delivered: "+why)
	}
	if in.Kind == domain.KindUnreachable || in.Kind == domain.KindLeader && in.Phase == "mail" {
		return nil // an alert about mail: recorded, not alerted again
	}
	to := w.Manager
	if to.ID == "" || to.ID == in.To.ID {
		to = w.Campaign.SalesLeader
	}
	if to.ID == "" || to.ID == in.To.ID {
		return nil
	}
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindUnreachable, Phase: "mail", Seq: in.Seq, To: to, Rep: in.To,
		Deadline: workflow.Now(ctx), Reason: fmt.Sprintf("the %s message to %s was not delivered (%s)", in.Kind, in.To.Name, why)})
	return nil
}

// isMailRejected reports whether a send failed for good (a refusal retrying
// cannot fix), as the mailers type it.
func isMailRejected(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == domain.ErrMailRejected
}

// rootMessage is the innermost error's text: SendGrid's status and reason.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// listenBounces receives SignalMailBounced for the whole run.
func (w *leadWorkflow) listenBounces(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalMailBounced)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var in MailBounce
			ch.Receive(ctx, &in)
			if err := w.mailBounced(ctx, in); err != nil {
				w.log.Error("bounced mail", "key", in.Key, "error", err)
			}
		}
	})
}

// mailBounced moves the lead on when the current offer bounced or was
// dropped; a bounce of anything else (an old offer, a notice) is only the
// lead event the gateway already wrote.
func (w *leadWorkflow) mailBounced(ctx workflow.Context, in MailBounce) error {
	if in.Kind != domain.KindOffer || !strings.EqualFold(in.Email, w.Lead.Owner.Email) {
		return nil
	}
	reason := "the offer " + map[bool]string{true: "bounced", false: "was dropped"}[in.Event == "bounce"]
	if in.Reason != "" {
		reason += " (" + in.Reason + ")"
	}
	return w.unreachable(ctx, w.Lead.Owner, in.Attempt, reason)
}

// unreachable is the "rep unreachable" path: while the offer of that attempt
// is still open, the lead goes to the next rep at once (the offer loop
// carries out the pending move), with no notice to the unreachable address,
// and the manager is alerted.
func (w *leadWorkflow) unreachable(ctx workflow.Context, rep domain.PersonRef, attempt int, reason string) error {
	if attempt != w.Lead.Attempt || w.pending != nil || !w.Lead.State.Open() || w.Lead.Owner.ID != rep.ID {
		return nil
	}
	if w.UnreachableAttempt == attempt {
		// Already found unreachable (a second bounce or drop of the same
		// offer): routing had nobody else, the manager was told; the same
		// fact again changes nothing.
		return nil
	}
	w.UnreachableAttempt = attempt
	w.pending = &ReassignInput{ManagerID: SystemDirectory, Reason: "the rep is unreachable: " + reason}
	w.Rejected[attempt] = true // no "reassigned" notice to an address that does not work
	if err := w.record(ctx, "unreachable", fmt.Sprintf("unreachable:%d", attempt), "system:mail", reason,
		map[string]string{"rep": rep.ID}); err != nil {
		return err
	}
	manager := w.Manager
	if manager.ID == "" {
		if err := w.exec(ctx, a.TeamManager, w.Campaign.TeamID).Get(ctx, &manager); err != nil {
			return err
		}
	}
	if manager.ID == "" || manager.ID == rep.ID {
		return nil
	}
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindUnreachable, Phase: "accept", Seq: attempt, To: manager, Rep: rep,
		Deadline: workflow.Now(ctx), Reason: reason})
	return nil
}

// noticeReassigned tells the previous holder the lead moved on, and why when
// it was moved by hand or by an absence.
func (w *leadWorkflow) noticeReassigned(ctx workflow.Context, prev, next domain.PersonRef, now time.Time, moved *ReassignInput) {
	reason := ""
	if moved != nil && moved.Reason != "" {
		reason = moved.Reason
		if moved.ManagerID != SystemDirectory {
			reason = "your manager moved it (" + moved.Reason + ")"
		}
	}
	w.notice(ctx, activities.NotifyInput{Kind: domain.KindReassigned, Phase: "accept", To: prev, Rep: prev, NextRep: next, Deadline: now, Reason: reason})
}
