package workflows

import (
	"context"
	"github.com/batonhq/baton/activities"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// The drain calls the batch activity until nothing is pending, pausing
// between batches, and adds up what each batch did.
func TestImportDrainRunsBatchesUntilNothingIsPending(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	pending := 250
	var calls []activities.DrainBatchInput
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.DrainBatchInput) (activities.DrainBatchResult, error) {
		calls = append(calls, in)
		n := min(in.Rows, pending)
		pending -= n
		return activities.DrainBatchResult{Started: n - 1, Failed: 1, Remaining: pending}, nil
	}, activity.RegisterOptions{Name: ActivityDrainImportBatch})
	start := env.Now()
	env.ExecuteWorkflow(ImportDrainWorkflow, ImportDrainInput{ImportID: 7, Batch: 100, Parallel: 3, Pause: time.Minute})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out activities.DrainBatchResult
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[0] != (activities.DrainBatchInput{ImportID: 7, Rows: 100, Parallel: 3}) {
		t.Fatalf("calls %+v", calls)
	}
	if out != (activities.DrainBatchResult{Started: 247, Failed: 3, Remaining: 0}) {
		t.Fatalf("result %+v", out)
	}
	if got := env.Now().Sub(start); got != 2*time.Minute {
		t.Errorf("paused %s in all, want 2m (between the three batches)", got)
	}
}
