package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"go.temporal.io/sdk/workflow"
)

// errOfferUnreachable is notifyPhase's answer when SendGrid refused an offer
// for good: the offer loop takes the "rep unreachable" path.
var errOfferUnreachable = errors.New("the offer could not reach the rep")

// mailRejected handles a message SendGrid refused (a 4xx retrying cannot
// fix): the refusal is an event; an offer returns errOfferUnreachable, any other
// message lets the lead go on.
func (w *leadWorkflow) mailRejected(ctx workflow.Context, kind, phase string, to domain.PersonRef, n int, cause error) error {
	if err := w.record(ctx, "mail-rejected", fmt.Sprintf("mail-rejected:%s:%s:%d:%d:%s", kind, phase, w.st.Attempt, n, to.ID), "system:mail",
		rootMessage(cause), map[string]string{"message": kind, "to": to.ID}); err != nil {
		return err
	}
	if kind == mail.KindOffer {
		return errOfferUnreachable
	}
	return nil
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
	if in.Kind != mail.KindOffer || in.Attempt != w.st.Attempt || w.pending != nil ||
		(w.st.State != domain.StateOffered && w.st.State != domain.StateEscalated) || !strings.EqualFold(in.Email, w.st.Owner.Email) {
		return nil
	}
	reason := "the offer " + map[bool]string{true: "bounced", false: "was dropped"}[in.Event == "bounce"]
	if in.Reason != "" {
		reason += " (" + in.Reason + ")"
	}
	return w.unreachable(ctx, w.st.Owner, w.st.Attempt, reason)
}

// unreachable is the "rep unreachable" path: the lead goes to the next rep
// at once (the offer loop carries out the pending reassignment, or moves on
// by itself after a refused offer), with no notice to the unreachable
// address, and the manager is alerted.
func (w *leadWorkflow) unreachable(ctx workflow.Context, rep domain.PersonRef, attempt int, reason string) error {
	w.pending = &ReassignInput{ManagerID: SystemDirectory, Reason: "the rep is unreachable: " + reason}
	w.rejected[attempt] = true // no "reassigned" notice to an address that does not work
	if err := w.record(ctx, "unreachable", fmt.Sprintf("unreachable:%d", attempt), "system:mail", reason,
		map[string]string{"rep": rep.ID}); err != nil {
		return err
	}
	manager := w.manager
	if manager.ID == "" {
		if err := workflow.ExecuteActivity(actx(ctx), a.TeamManager, w.campaign.TeamID).Get(ctx, &manager); err != nil {
			return err
		}
	}
	if manager.ID == "" || manager.ID == rep.ID {
		return nil
	}
	return w.notifyUnreachable(ctx, manager, rep, attempt, reason)
}

func (w *leadWorkflow) notifyUnreachable(ctx workflow.Context, manager, rep domain.PersonRef, attempt int, reason string) error {
	err := workflow.ExecuteActivity(actx(ctx), a.Notify, activities.NotifyInput{
		Kind: mail.KindUnreachable, Phase: "accept", Seq: attempt, To: manager, Lead: w.st, Campaign: w.campaign,
		Rep: rep, Deadline: workflow.Now(ctx), Reason: reason,
	}).Get(ctx, nil)
	if err != nil && mail.IsRejected(err) {
		return w.mailRejected(ctx, mail.KindUnreachable, "accept", manager, attempt, err)
	}
	return err
}

// notifyReassigned tells the previous holder the lead moved on. A lead
// moved by hand or by an absence says why.
func (w *leadWorkflow) notifyReassigned(ctx workflow.Context, prev, next domain.PersonRef, now time.Time, moved *ReassignInput) error {
	reason := ""
	if moved != nil && moved.Reason != "" {
		reason = moved.Reason
		if moved.ManagerID != SystemDirectory {
			reason = "your manager moved it (" + moved.Reason + ")"
		}
	}
	err := workflow.ExecuteActivity(actx(ctx), a.Notify, activities.NotifyInput{
		Kind: mail.KindReassigned, Phase: "accept", To: prev, Lead: w.st, Campaign: w.campaign, Rep: prev, NextRep: next,
		Deadline: now, Reason: reason,
	}).Get(ctx, nil)
	if err != nil && mail.IsRejected(err) {
		return w.mailRejected(ctx, mail.KindReassigned, "accept", prev, 0, err)
	}
	return err
}
