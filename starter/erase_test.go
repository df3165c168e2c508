package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// updateClient is a Temporal client whose Update outcomes and workflow
// status the test scripts; everything else is unused.
type updateClient struct {
	client.Client
	mu       sync.Mutex
	outcomes []error // one per UpdateWorkflow call; then nil
	status   enumspb.WorkflowExecutionStatus
	ids      []string // the update id of each call
}

func (c *updateClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, o.UpdateID)
	var err error
	if len(c.outcomes) > 0 {
		err, c.outcomes = c.outcomes[0], c.outcomes[1:]
	}
	return handle{err}, nil
}

func (c *updateClient) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if c.status == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: c.status}}, nil
}

type handle struct{ err error }

func (h handle) WorkflowID() string                 { return "" }
func (h handle) RunID() string                      { return "" }
func (h handle) UpdateID() string                   { return "" }
func (h handle) Get(_ context.Context, _ any) error { return h.err }

// An erasure whose Update was lost by a Temporal server restart (the wait
// for its outcome answers NotFound "update … not found" while the workflow
// runs) must reach the workflow, not purge PostgreSQL beside it. Found by
// the fault suite: two leads answered "erased" went on to be escalated with
// their mail suppressed. Before the fix the erase command took any NotFound
// for "the workflow has ended" and purged directly.
func TestEraseLostUpdateReachesTheRunningWorkflow(t *testing.T) {
	cl := &updateClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		outcomes: []error{serviceerror.NewNotFound(`update "x" not found`)}}
	purged := 0
	purge := func(context.Context, string) error { purged++; return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eraseLead(ctx, cl, purge, "ld_abcdefghjkmn", "test", "erasure-request"); err != nil {
		t.Fatal(err)
	}
	if purged != 0 {
		t.Fatalf("purged PostgreSQL directly %d times while the workflow runs", purged)
	}
	if len(cl.ids) != 2 || cl.ids[0] == "" || cl.ids[0] != cl.ids[1] {
		t.Fatalf("update calls %q: want the lost update sent again under the same id", cl.ids)
	}
}

// With no running workflow (ended, or never in this Temporal) the erase
// command purges PostgreSQL itself, as before.
func TestEraseWithoutARunningWorkflowPurgesDirectly(t *testing.T) {
	for _, st := range []enumspb.WorkflowExecutionStatus{enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED} {
		cl := &updateClient{status: st, outcomes: []error{serviceerror.NewNotFound("workflow execution already completed")}}
		purged := 0
		err := eraseLead(context.Background(), cl, func(context.Context, string) error { purged++; return nil }, "ld_abcdefghjkmn", "test", "erasure-request")
		if err != nil || purged != 1 || len(cl.ids) != 1 {
			t.Fatalf("%s: err %v, purged %d, %d update calls; want one purge after one call", st, err, purged, len(cl.ids))
		}
	}
}

// When the server cannot say whether the workflow runs before the deadline,
// nothing is purged and the error says the outcome is unknown.
func TestEraseOutcomeUnknownPurgesNothing(t *testing.T) {
	cl := &updateClient{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	for range 100 {
		cl.outcomes = append(cl.outcomes, serviceerror.NewNotFound(`update "x" not found`))
	}
	purged := 0
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := eraseLead(ctx, cl, func(context.Context, string) error { purged++; return nil }, "ld_abcdefghjkmn", "test", "erasure-request")
	if err == nil || purged != 0 || !strings.Contains(err.Error(), "outcome is unknown") || !strings.Contains(err.Error(), "run it again") {
		t.Fatalf("err %v, purged %d; want an unknown outcome and no purge", err, purged)
	}
}
