// Package intake turns a submitted lead into a LeadWorkflow touch, with
// Signal-with-Start (the gateway's default start answer, durable and
// respond-async) or Update-with-Start (processed), so a retried request
// never makes a second lead. The gateway and the starter both use it.
package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Service submits leads.
type Service struct {
	Temporal  client.Client
	Store     *store.Store
	TaskQueue string
	// AckDurable answers every submission as soon as Temporal holds the
	// touch (BATON_INTAKE_ACK=durable), as `Prefer: respond-async` asks for one.
	AckDurable bool
	// AckStart answers a submission (BATON_INTAKE_ACK=start, the gateway's
	// default) once Temporal holds the touch, with new or duplicate as
	// Temporal's start decided it (startTouch). Without it (and without
	// AckDurable) the answer waits until the lead's workflow has recorded
	// the touch (processed: the zero Service, as the starter's lead submit
	// and the CSV drain use it, which read what they wrote).
	AckStart bool
}

// Result is what a source is told.
type Result struct {
	LeadID    string           `json:"id"`
	New       bool             `json:"new"`
	Duplicate bool             `json:"duplicate"`
	State     domain.LeadState `json:"state"`
	Touches   int              `json:"touches"`
	// Pending: the lead is stored in Temporal but no worker has taken it yet.
	Pending bool `json:"pending,omitempty"`
}

func isTimeout(err error) bool {
	var de *serviceerror.DeadlineExceeded
	var ce *serviceerror.Canceled
	// The SDK's own wait for an update's result ends with this one when its
	// call's deadline (half of what is left of ctx) passes: under load the
	// answer was a 500 instead of pending (make bench, 2026-11-27).
	var ue *client.WorkflowUpdateServiceTimeoutOrCanceledError
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) || errors.As(err, &ce) || errors.As(err, &ue)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Submit validates the request (FieldErrors on bad input, nothing started)
// and delivers it as a touch. idemKey, when not empty, makes a retried
// request return the first answer.
func (s *Service) Submit(ctx context.Context, req domain.LeadRequest, idemKey string) (Result, error) {
	req, err := req.Normalize()
	if err != nil {
		return Result{}, err
	}
	live, why, err := s.Store.CampaignIntake(ctx, req.Campaign) // status and late-lead policy
	if err != nil {
		return Result{}, fmt.Errorf("check campaign: %w", err)
	}
	if !live {
		return Result{}, domain.FieldErrors{{Field: "campaign", Detail: why}}
	}
	id := domain.LeadID(req.Email)
	score := 0
	if req.Score != nil {
		score = *req.Score
	}
	touchID := idemKey
	if touchID == "" {
		b := make([]byte, 12)
		rand.Read(b) //nolint:errcheck // never fails on Linux
		touchID = "t-" + hex.EncodeToString(b)
	}
	touch := workflows.Touch{ID: touchID, Campaign: req.Campaign, Email: req.Email, Name: req.Name, Company: req.Company,
		Country: req.Country, Score: score, Source: req.Source, At: time.Now().UTC(),
		Region: req.Region, Industry: req.Industry, CompanySize: req.CompanySize, Phone: req.Phone}
	if s.AckDurable || RespondAsync(ctx) {
		return s.signalTouch(ctx, id, req, touch, idemKey)
	}
	if s.AckStart {
		return s.startTouch(ctx, id, req, touch, idemKey)
	}
	// REJECT_DUPLICATE: an ended lead is never restarted blank; a refused
	// start goes to refusedStart (a completed lead keeps the touch as an
	// event, a failed one is recovered from PostgreSQL; recover.go says why).
	return s.deliver(ctx, id, req, touch, idemKey, workflows.LeadInput{LeadID: id, First: &touch},
		enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
}

// deliver sends the touch by Update-with-Start of in under a reuse policy.
func (s *Service) deliver(ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string,
	in workflows.LeadInput, reuse enumspb.WorkflowIdReusePolicy) (Result, error) {
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.LeadWorkflowID(id),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    reuse,
	}, workflows.LeadWorkflow, in)
	h, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     "touch-" + touch.ID, // Temporal dedupes a retried request too
			UpdateName:   workflows.UpdateIntake,
			Args:         []any{touch},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		if reuse == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
			return s.refusedStart(ctx, id, req, touch, idemKey)
		}
		return s.lateTouch(ctx, id, req, touch, idemKey)
	}
	var res workflows.IntakeResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		// No worker answered in time. The start carries the touch, so if the
		// workflow exists the lead is safe and will be processed when a
		// worker is back.
		if ctx.Err() != nil || isTimeout(err) {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, derr := s.Temporal.DescribeWorkflowExecution(dctx, workflows.LeadWorkflowID(id), ""); derr == nil {
				return Result{LeadID: id, Pending: true, State: domain.StateCaptured}, nil
			}
		}
		return Result{}, fmt.Errorf("deliver lead %s: %w", id, err)
	}
	return Result{LeadID: res.LeadID, New: res.New, Duplicate: !res.New, State: res.State, Touches: res.Touches}, nil
}
