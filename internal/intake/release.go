package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// ReleaseResult says what happened to a deactivated rep's open offers.
type ReleaseResult struct {
	Released int      // sent back to routing
	Skipped  []string // leads whose workflow refused (e.g. not waiting for an offer any more), with why
}

// ReleaseOffers sends every lead offered to one of the reps back to routing,
// as the directory's own reassignment: a deactivated rep gets no new leads
// and keeps none they have not accepted. progress, when not nil, is called
// after each lead.
func ReleaseOffers(ctx context.Context, tc client.Client, st *store.Store, repIDs []string, reason string, progress func(done, total int)) (ReleaseResult, error) {
	var res ReleaseResult
	offers, err := st.OpenOffersOf(ctx, repIDs)
	if err != nil {
		return res, fmt.Errorf("list open offers: %w", err)
	}
	for i, o := range offers {
		if err := res.tell(ctx, tc, o, workflows.UpdateReassign, workflows.ReassignInput{ManagerID: workflows.SystemDirectory, Reason: reason}); err != nil {
			return res, err
		}
		if progress != nil {
			progress(i+1, len(offers))
		}
	}
	return res, nil
}

// MarkAway records a rep's out-of-office period and, when it has begun, tells
// every lead the rep holds, so each clock follows its policy (reassign or
// pause). It returns how many leads were told.
func MarkAway(ctx context.Context, tc client.Client, st *store.Store, repID string, from, until time.Time, reason string) (ReleaseResult, error) {
	var res ReleaseResult
	if !until.After(from) {
		return res, errors.New("the period must end after it starts")
	}
	if err := st.SetAway(ctx, repID, from, until, reason); err != nil {
		return res, err
	}
	if time.Now().Before(from) {
		return res, nil // routing skips the rep once the period begins; the worker's away sweep tells held leads then
	}
	// Told here, so the worker's away sweep does not tell them again.
	if err := st.MarkAwayAnnounced(ctx, repID, from); err != nil {
		return res, err
	}
	held, err := st.LeadsHeldBy(ctx, []string{repID}, "Offered", "Escalated", "Accepted", "Contacted")
	if err != nil {
		return res, err
	}
	for _, o := range held {
		if err := res.tell(ctx, tc, o, workflows.UpdateAway, workflows.AwayInput{RepID: repID, Until: until}); err != nil {
			st.UnclaimAway(context.WithoutCancel(ctx), repID, from) //nolint:errcheck // the sweep retries if this worked
			return res, err
		}
	}
	return res, nil
}

// tell sends one update to a lead's workflow and counts the outcome: done,
// refused by the workflow's validator (skipped, with why), or an error.
func (res *ReleaseResult) tell(ctx context.Context, tc client.Client, o store.OpenOffer, update string, arg any) error {
	uctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := tclient.Update(uctx, tc, client.UpdateWorkflowOptions{WorkflowID: o.WorkflowID, UpdateName: update,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}, nil)
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		res.Released++
	case errors.As(err, &ae):
		res.Skipped = append(res.Skipped, o.LeadID+": "+ae.Message())
	default:
		return fmt.Errorf("%s lead %s: %w", update, o.LeadID, err)
	}
	return nil
}
