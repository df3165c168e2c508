package activities

import "context"

// DrainBatchInput asks for up to Rows staged import rows, Parallel at a time.
type DrainBatchInput struct {
	ImportID int64
	Rows     int
	Parallel int
}

// DrainBatchResult says what a batch did and how many rows still wait.
type DrainBatchResult struct {
	Started   int
	Failed    int
	Remaining int
}

// ImportActivities are the side effects of the CSV import drain. Its one
// activity starts lead workflows, so it lives with intake (which starts
// them for the API too): the worker registers intake's DrainBatch under the
// name DrainImportBatch, the name of this method, which the workflow calls.
type ImportActivities struct {
	Drain func(ctx context.Context, in DrainBatchInput) (DrainBatchResult, error)
}

// DrainImportBatch starts the lead workflows of up to in.Rows staged rows.
func (a *ImportActivities) DrainImportBatch(ctx context.Context, in DrainBatchInput) (DrainBatchResult, error) {
	return a.Drain(ctx, in)
}
