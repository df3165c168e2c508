package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

type asyncKey struct{}

// WithRespondAsync marks a submission whose source asked for the answer as
// soon as the lead is safe (`Prefer: respond-async`), not once it is processed.
func WithRespondAsync(ctx context.Context) context.Context {
	return context.WithValue(ctx, asyncKey{}, true)
}

// RespondAsync reports whether ctx carries WithRespondAsync.
func RespondAsync(ctx context.Context) bool {
	v, _ := ctx.Value(asyncKey{}).(bool)
	return v
}

// signalTouch delivers the touch with Signal-with-Start: the answer comes when
// Temporal has persisted it, without waiting for a worker. The workflow
// dedupes by touch ID exactly as for the intake update, and the first touch
// also rides in the start input. The answer cannot say whether the person
// was new; it says pending.
func (s *Service) signalTouch(ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string) (Result, error) {
	if done, res, err := s.signalWithStart(ctx, ctx, id, req, touch, idemKey); done {
		return res, err
	}
	return Result{LeadID: id, Pending: true, State: domain.StateCaptured}, nil
}

// lateTouch records a touch of a lead whose workflow has ended (accepted and
// done): it stays one lead, and the touch is kept as an event.
func (s *Service) lateTouch(ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string) (Result, error) {
	key := idemKey
	if key == "" {
		key = touch.At.Format(time.RFC3339Nano)
	}
	state, err := s.Store.AppendEvent(ctx, id, domain.Event{Key: id + ":late-touch:" + key, Kind: "touch", Actor: "source:" + orDefault(req.Source, "api"),
		Reason: "arrived after the lead's workflow ended", Data: map[string]string{"campaign": req.Campaign}, At: touch.At})
	if err != nil {
		return Result{}, fmt.Errorf("record touch on closed lead %s: %w", id, err)
	}
	return Result{LeadID: id, Duplicate: true, State: domain.LeadState(state)}, nil
}

// startTouch delivers the touch with Signal-with-Start, as signalTouch does,
// and answers new or duplicate at once: Temporal's answer says whether this
// call started the lead's workflow (tclient.StartProbe), which is atomic per
// workflow id, so of two first submissions of one person exactly one is new.
// The answer comes when Temporal has persisted the touch, so the lead can
// never be lost, without waiting for a worker (the workflow records it in
// its first task). A duplicate's state and touches are what PostgreSQL holds
// (this touch may not be counted yet). A client that cannot tell started
// from signalled (not made by tclient.Dial) asks the workflow, as before.
func (s *Service) startTouch(ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string) (Result, error) {
	pctx, probe := tclient.WithStartProbe(ctx)
	if done, res, err := s.signalWithStart(pctx, ctx, id, req, touch, idemKey); done {
		return res, err
	}
	started, ok := probe.Started()
	if !ok { // the same touch again, by update: deduped by its id, answered by the workflow
		return s.deliver(ctx, id, req, touch, idemKey, workflows.LeadInput{LeadID: id, First: &touch},
			enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
	}
	if started {
		return Result{LeadID: id, New: true, State: domain.StateCaptured, Touches: 1}, nil
	}
	state, touches, found, err := s.Store.LeadStateTouches(ctx, id)
	if err != nil {
		// Temporal holds the touch: the answer is still a duplicate.
		return Result{LeadID: id, Duplicate: true, State: domain.StateCaptured}, nil
	}
	if !found { // the first touch is not recorded yet
		state, touches = domain.StateCaptured, 0
	}
	if state == domain.StateErased { // the workflow refuses the touch (validateIntake)
		return Result{}, domain.FieldErrors{{Field: "email", Detail: "This person's data was erased on request; the lead takes no more touches."}}
	}
	return Result{LeadID: id, Duplicate: true, State: state, Touches: touches}, nil
}

// signalWithStart delivers the touch to the lead's workflow, starting it if
// it has never run (the first touch rides in the start input as well). done
// says the answer is already made: a lead whose workflow ran before and
// ended (refusedStart), or an error. sctx carries the call (a start probe
// for startTouch); ctx is the request's own.
func (s *Service) signalWithStart(sctx, ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string) (done bool, res Result, err error) {
	_, err = s.Temporal.SignalWithStartWorkflow(sctx, workflows.LeadWorkflowID(id), workflows.SignalTouch, touch,
		client.StartWorkflowOptions{
			ID:                    workflows.LeadWorkflowID(id),
			TaskQueue:             s.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, workflows.LeadWorkflow, workflows.LeadInput{LeadID: id, First: &touch})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		res, err = s.refusedStart(ctx, id, req, touch, idemKey)
		return true, res, err
	}
	if err != nil {
		return true, Result{}, fmt.Errorf("deliver lead %s: %w", id, err)
	}
	return false, Result{}, nil
}
