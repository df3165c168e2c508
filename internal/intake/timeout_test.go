package intake

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/client"
)

// The SDK's update-wait timeout is a timeout: the answer is pending when
// Temporal holds the lead, not a 500.
func TestUpdateWaitTimeoutIsATimeout(t *testing.T) {
	err := fmt.Errorf("deliver: %w", client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("context deadline exceeded")))
	if !isTimeout(err) {
		t.Error("the SDK's update-wait timeout is not taken for a timeout")
	}
	if isTimeout(errors.New("workflow task failed")) {
		t.Error("any error is taken for a timeout")
	}
}
