package tclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Update sends an Update, waits until it completes and decodes its result
// into result (nil for none).
//
// An Update the server has admitted but not yet written to the workflow's
// history lives in the server's memory only: when the server restarts, the
// wait for its outcome answers NotFound ("update … not found") while the
// workflow runs on without it (found by the fault suite: an erasure read
// that NotFound as "the workflow has ended" and purged beside a workflow that
// went on). Update tells the two apart: while the workflow runs it sends the
// Update again under the same id (the server keeps one outcome per id), until
// the outcome comes or ctx ends. A NotFound it returns means the workflow is
// closed or does not exist; when ctx ends first, the error says the outcome
// is unknown (never NotFound).
func Update(ctx context.Context, cl client.Client, o client.UpdateWorkflowOptions, result any) error {
	if o.UpdateID == "" {
		b := make([]byte, 12)
		rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
		o.UpdateID = o.UpdateName + "-" + hex.EncodeToString(b)
	}
	if o.WaitForStage == client.WorkflowUpdateStageUnspecified {
		o.WaitForStage = client.WorkflowUpdateStageCompleted
	}
	pause := 100 * time.Millisecond
	for {
		h, err := cl.UpdateWorkflow(ctx, o)
		if err == nil {
			err = h.Get(ctx, result)
		}
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return err
		}
		running, derr := isRunning(ctx, cl, o.WorkflowID, o.RunID)
		if derr == nil && !running {
			return err // closed, or never started: the caller decides
		}
		// Running (the Update was lost), or the server cannot say yet.
		select {
		case <-ctx.Done():
			return fmt.Errorf("update %s of %s: the outcome is unknown (%v; then %w)", o.UpdateName, o.WorkflowID, err, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// isRunning reports whether the workflow's run is running; false with no
// error when Temporal has no such workflow.
func isRunning(ctx context.Context, cl client.Client, workflowID, runID string) (bool, error) {
	d, err := cl.DescribeWorkflowExecution(ctx, workflowID, runID)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
