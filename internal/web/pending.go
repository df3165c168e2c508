package web

import (
	"context"
	"errors"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
)

// pendingLead is a lead Temporal holds but PostgreSQL does not show yet:
// intake answered at the durable start (BATON_INTAKE_ACK=start, the default,
// or respond-async) and the lead's workflow has not run its first task, which
// writes the row. The lead's workflow is running; the view says so with
// Pending, state Captured, and what the first touch carried (from the
// workflow's start input), no owner and no events yet.
//
// ok is false for everything else: no workflow, one that has ended (a lead
// erased or closed and gone from PostgreSQL stays gone), no Temporal client,
// or any error. The caller then answers exactly as for an unknown lead.
func (s *Server) pendingLead(ctx context.Context, id string) (v store.LeadView, ok bool) {
	if s.Temporal == nil || !domain.ValidLeadID(id) {
		return v, false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	wid := workflows.LeadWorkflowID(id)
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return v, false
	}
	info := d.GetWorkflowExecutionInfo()
	v = store.LeadView{ID: id, State: string(domain.StateCaptured), WorkflowID: wid, Pending: true, Events: []store.EventView{}}
	if st := info.GetStartTime(); st != nil {
		v.CreatedAt, v.UpdatedAt = st.AsTime().UTC(), st.AsTime().UTC()
	}
	// The first touch rides in the start input (intake's Signal-with-Start
	// and Update-with-Start both put it there).
	in, err := s.startInput(ctx, wid, info.GetExecution().GetRunId())
	if err != nil || in.LeadID != id || in.First == nil {
		// A run that does not carry its first touch (a recovered or resumed
		// one) has a row in PostgreSQL; without the touch it is not a
		// pending intake.
		return store.LeadView{}, false
	}
	t := in.First
	v.Email, v.Name, v.Company, v.Phone, v.Country, v.Score, v.Campaign = t.Email, t.Name, t.Company, t.Phone, t.Country, t.Score, t.Campaign
	if c, err := s.Store.Campaign(ctx, t.Campaign); err == nil {
		v.CampaignName = c.Name
	}
	return v, true
}

// startInput reads a run's LeadInput from its first history event.
func (s *Server) startInput(ctx context.Context, workflowID, runID string) (workflows.LeadInput, error) {
	var in workflows.LeadInput
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, errors.New("no history")
	}
	ev, err := it.Next()
	if err != nil {
		return in, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, errors.New("first event is not the start")
	}
	err = converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in)
	return in, err
}

// leadOrPending loads a lead from PostgreSQL, or, when it is not there yet,
// the pending view of a lead whose workflow runs (pendingLead). An unknown
// lead keeps the store's not-found error, so its answer does not change.
func (s *Server) leadOrPending(ctx context.Context, id string) (store.LeadView, error) {
	v, err := s.Store.Lead(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		if p, ok := s.pendingLead(ctx, id); ok {
			return p, nil
		}
	}
	return v, err
}

// unstoredPending is pendingLead for a lead PostgreSQL has no row of: a
// stored lead is never shown from its workflow's input instead.
func (s *Server) unstoredPending(ctx context.Context, id string) (store.LeadView, bool) {
	if _, _, found, err := s.Store.LeadStateTouches(ctx, id); err != nil || found {
		return store.LeadView{}, false
	}
	return s.pendingLead(ctx, id)
}
