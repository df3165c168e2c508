package workflows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/activities"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// A run continues as new onto the deployment's current build: the
// continue-as-new asks for AutoUpgrade as the next run's first behaviour
// (docs/releases.md). The dev server in make test (1.29) ignores the option,
// so this is where CI sees it.
func TestContinueAsNewMovesToTheCurrentBuild(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.DrainBatchInput) (activities.DrainBatchResult, error) {
		return activities.DrainBatchResult{Started: in.Rows, Remaining: 1}, nil // never done: the drain continues as new
	}, activity.RegisterOptions{Name: ActivityDrainImportBatch})
	env.ExecuteWorkflow(ImportDrainWorkflow, ImportDrainInput{ImportID: 7, Batch: 1})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if can.InitialVersioningBehavior != workflow.ContinueAsNewVersioningBehaviorAutoUpgrade {
		t.Fatalf("continue-as-new keeps the next run on this build (InitialVersioningBehavior %v)", can.InitialVersioningBehavior)
	}
}

// Every continue-as-new in workflows/ goes through continueAsNew, so none
// leaves its successor pinned to an old build.
func TestEveryContinueAsNewMovesToTheCurrentBuild(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "versioning.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "workflow.NewContinueAsNewError") {
			t.Errorf("%s continues as new without continueAsNew (versioning.go): its next run would stay on the old build", f)
		}
	}
}
