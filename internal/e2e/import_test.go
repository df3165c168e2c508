package e2e

import (
	"context"
	"fmt"
	"github.com/batonhq/baton/activities"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// importFile stages a CSV and runs its drain on the worker to the end, as
// `starter lead import` does.
func importFile(t *testing.T, s *Stack, path string) intake.StageReport {
	t.Helper()
	ctx := context.Background()
	svc := &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}
	rep, err := svc.Stage(ctx, path, intake.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.ImportDrainWorkflowID(rep.Import.ID) + fmt.Sprint(time.Now().UnixNano()), TaskQueue: s.Config.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.ImportDrainWorkflow, workflows.ImportDrainInput{ImportID: rep.Import.ID, Batch: 7, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out activities.DrainBatchResult
	if err := run.Get(wctx, &out); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if out.Remaining != 0 || out.Failed != 0 {
		t.Fatalf("drain result %+v", out)
	}
	return rep
}

// TestImportOnTheRealStack: a 30-row file ends with 30 lead workflows;
// importing it again, and importing another file with the same people,
// makes no second lead and no second touch.
func TestImportOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("campaign,email,name,company,score\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "webinar-q3,imp%d@acme.example,Imported %d,Acme,%d\n", i, i, 20+i)
	}
	path := filepath.Join(dir, "leads.csv")
	os.WriteFile(path, []byte(b.String()), 0o644) //nolint:errcheck
	rep := importFile(t, s, path)
	if rep.New != 30 {
		t.Fatalf("staged %d, want 30", rep.New)
	}
	check := func(when string) {
		t.Helper()
		var leads, touches int
		if err := s.Store.Pool.QueryRow(ctx, `select count(*), coalesce(sum(touches), 0) from leads where email like 'imp%@acme.example'`).Scan(&leads, &touches); err != nil {
			t.Fatal(err)
		}
		if leads != 30 || touches != 30 {
			t.Fatalf("%s: %d leads with %d touches, want 30 and 30", when, leads, touches)
		}
		for i := 0; i < 30; i++ {
			id := domain.LeadID(fmt.Sprintf("imp%d@acme.example", i))
			if _, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.LeadWorkflowID(id), ""); err != nil {
				t.Fatalf("%s: workflow of lead %d: %v", when, i, err)
			}
		}
	}
	// Leads under the bar (50) nurture, the rest are offered: all recorded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		s.Store.Pool.QueryRow(ctx, `select count(*) from leads where email like 'imp%@acme.example'`).Scan(&n) //nolint:errcheck
		if n == 30 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	check("after the first import")

	again := importFile(t, s, path)
	if !again.AlreadyStaged {
		t.Fatalf("second import of the same file: %+v", again)
	}
	upper := filepath.Join(dir, "again.csv")
	os.WriteFile(upper, []byte(strings.ReplaceAll(b.String(), "imp", "IMP")), 0o644) //nolint:errcheck
	other := importFile(t, s, upper)
	if other.New != 0 || other.Duplicates != 30 {
		t.Fatalf("the same people in another file: %+v", other)
	}
	time.Sleep(time.Second)
	check("after importing twice")

	// A drain batch that crashed after starting its leads but before
	// recording it runs again: the same touch ids make no second touch.
	if _, err := s.Store.Pool.Exec(ctx, `update lead_import_rows set state = 'pending' where import_id = $1`, rep.Import.ID); err != nil {
		t.Fatal(err)
	}
	svc := &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}
	out, err := svc.DrainBatch(ctx, activities.DrainBatchInput{ImportID: rep.Import.ID, Rows: 30, Parallel: 4})
	if err != nil || out.Started != 30 || out.Remaining != 0 {
		t.Fatalf("re-drained batch: %+v %v", out, err)
	}
	check("after a batch ran twice")
}
