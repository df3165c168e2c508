package workflows

import (
	"fmt"
	"github.com/batonhq/baton/activities"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ActivityDrainImportBatch is the name the worker registers the drain's
// activity under: the name of the method value the workflow calls.
const ActivityDrainImportBatch = "DrainImportBatch"

// ia is only used for its method value; the worker registers the activity.
var ia *activities.ImportActivities

// ImportDrainWorkflowID is one drain per import.
func ImportDrainWorkflowID(importID int64) string { return fmt.Sprintf("import-drain-%d", importID) }

// ImportDrainInput starts (or continues) the drain of one import.
type ImportDrainInput struct {
	ImportID int64
	Batch    int           // rows per activity (default 100)
	Parallel int           // lead starts at once within a batch (default 4)
	Pause    time.Duration // wait between batches, to bound the rate (default none)
	Started  int           // carried over continue-as-new
	Failed   int
}

// ImportDrainWorkflow starts the lead workflows of a staged CSV import at a
// bounded rate: a batch at a time, each row through the same
// Update-with-Start as the API (touch id "import:<campaign>", so a batch
// retried after a crash makes no second touch). It survives the starter
// being interrupted and continues as new every 200 batches.
func ImportDrainWorkflow(ctx workflow.Context, in ImportDrainInput) (activities.DrainBatchResult, error) {
	if in.Batch <= 0 {
		in.Batch = 100
	}
	if in.Parallel <= 0 {
		in.Parallel = 4
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute, // a heartbeat per row: a stuck batch is retried, a slow one is not
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	total := activities.DrainBatchResult{Started: in.Started, Failed: in.Failed}
	for i := 0; i < 200; i++ {
		var out activities.DrainBatchResult
		if err := workflow.ExecuteActivity(ctx, ia.DrainImportBatch, activities.DrainBatchInput{ImportID: in.ImportID, Rows: in.Batch, Parallel: in.Parallel}).Get(ctx, &out); err != nil {
			return total, err
		}
		total.Started += out.Started
		total.Failed += out.Failed
		total.Remaining = out.Remaining
		if out.Remaining == 0 {
			return total, nil
		}
		if in.Pause > 0 {
			if err := workflow.Sleep(ctx, in.Pause); err != nil {
				return total, err
			}
		}
	}
	in.Started, in.Failed = total.Started, total.Failed
	return total, workflow.NewContinueAsNewError(ctx, ImportDrainWorkflow, in)
}
