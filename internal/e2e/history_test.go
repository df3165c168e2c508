package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// saveHistory writes a workflow's history as JSON for the replay tests when
// BATON_SAVE_HISTORY names a folder (`make histories` sets it).
func saveHistory(t *testing.T, c client.Client, workflowID, name string) {
	t.Helper()
	saveHistoryRun(t, c, workflowID, "", name)
}

// saveHistoryRun saves one run's history ("" is the latest run).
func saveHistoryRun(t *testing.T, c client.Client, workflowID, runID, name string) {
	t.Helper()
	dir := os.Getenv("BATON_SAVE_HISTORY")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name+".json")
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, 0)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %d events of %s to %s", len(h.Events), workflowID, path)
}
