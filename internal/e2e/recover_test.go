package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Issue 15, finding 4 on the real stack: a NUL in a name is refused at the
// edge (400 naming the field, no lead, no workflow), so the person can still
// be submitted; a batch holding such an item is refused whole and its good
// items gain nothing, however often it is retried.
func TestNULByteNeitherFailsNorBlocksALead(t *testing.T) {
	s := startStack(t)
	email := "nul@acme.example"
	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"`+email+`","name":"Dana\u0000Lee","score":80}`)
	if code != 400 || !strings.Contains(fmt.Sprint(out["errors"]), "field:name") {
		t.Fatalf("NUL name: %d %v", code, out)
	}
	noLead(t, s, email)
	code, out = submit(t, s, `{"campaign":"webinar-q3","email":"`+email+`","name":"Dana Lee","score":80}`)
	if code != 202 || out["new"] != true {
		t.Fatalf("the same person, clean: %d %v", code, out)
	}
	batch := `[{"campaign":"webinar-q3","email":"good@acme.example","name":"Good","score":80},` +
		`{"campaign":"webinar-q3","email":"nul2@acme.example","name":"A\u0000","score":80}]`
	for try := 0; try < 3; try++ {
		code, out = submit(t, s, batch)
		if code != 400 || !strings.Contains(fmt.Sprint(out["errors"]), "[1].name") {
			t.Fatalf("batch try %d: %d %v", try, code, out)
		}
	}
	noLead(t, s, "good@acme.example")
	noLead(t, s, "nul2@acme.example")
}

// waitLeadState polls PostgreSQL until the lead is in state at attempt (0: any).
func waitLeadState(t *testing.T, s *Stack, id string, state domain.LeadState, attempt int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st string
		var n int
		err := s.Store.Pool.QueryRow(context.Background(), `select state, attempt from leads where id = $1`, id).Scan(&st, &n)
		if err == nil && st == string(state) && (attempt == 0 || n == attempt) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s is %s at attempt %d (%v), want %s at %d", id, st, n, err, state, attempt)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(t *testing.T, s *Stack, id string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := s.Temporal.DescribeWorkflowExecution(context.Background(), workflows.LeadWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// A terminated (or failed) lead is restarted from PostgreSQL by recover, and
// a resubmission of a failed lead recovers it instead of answering 404 or
// dropping the touch.
func TestRecoverRestartsATerminatedLeadFromPostgres(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	svc := &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}

	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"rita@initech.example","name":"Rita Moss","company":"Initech","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, out)
	}
	id := out["id"].(string)
	waitLeadState(t, s, id, domain.StateOffered, 1)
	// A healthy lead is left alone.
	if _, err := svc.Recover(ctx, id, "admin:test", false); !errors.Is(err, intake.ErrNothingToRecover) {
		t.Fatalf("recover of a healthy lead: %v", err)
	}
	if err := s.Temporal.TerminateWorkflow(ctx, workflows.LeadWorkflowID(id), "", "test: a broken run"); err != nil {
		t.Fatal(err)
	}
	// The dry run says what it would do and changes nothing.
	rec, err := svc.Recover(ctx, id, "admin:test", true)
	if err != nil || rec.Status != "Terminated" || rec.State != domain.StateOffered || !strings.Contains(rec.Plan, "offer it anew (attempt 2") || rec.Recovered {
		t.Fatalf("dry run: %+v, %v", rec, err)
	}
	if st := status(t, s, id); st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("after the dry run the workflow is %v", st)
	}
	rec, err = svc.Recover(ctx, id, "admin:test", false)
	if err != nil || !rec.Recovered {
		t.Fatalf("recover: %+v, %v", rec, err)
	}
	waitLeadState(t, s, id, domain.StateOffered, 2)
	if st := status(t, s, id); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("after recover the workflow is %v", st)
	}
	v := getLead(t, s, id)
	var kinds []string
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	if !strings.Contains(strings.Join(kinds, ","), "offered,recovered") || !strings.HasSuffix(strings.Join(kinds, ","), "offered") {
		t.Fatalf("events after recover: %v", kinds)
	}

	// Terminated again: a resubmission recovers it with the touch.
	if err := s.Temporal.TerminateWorkflow(ctx, workflows.LeadWorkflowID(id), "", "test: broken again"); err != nil {
		t.Fatal(err)
	}
	code, out = submit(t, s, `{"campaign":"webinar-q3","email":"rita@initech.example","score":90}`)
	if code != 202 || out["duplicate"] != true {
		t.Fatalf("resubmission of a terminated lead: %d %v", code, out)
	}
	if st := status(t, s, id); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("after the resubmission the workflow is %v", st)
	}
	if v := getLead(t, s, id); v.Touches != 2 {
		t.Fatalf("touches %d after the resubmission", v.Touches)
	}
}

// A lead whose run ended before PostgreSQL held anything of it (as the
// NUL-byte leads did) is started afresh by its next submission, not 404.
func TestResubmissionStartsALeadWhoseRunFailedBeforeItsFirstStep(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	email := "ghost@acme.example"
	id := domain.LeadID(email)
	touch := workflows.Touch{ID: "t-ghost", Campaign: "webinar-q3", Email: email, Name: "Ghost", Score: 80, At: time.Now().UTC()}
	// A run no worker takes, ended before its first step.
	if _, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.LeadWorkflowID(id), TaskQueue: "nobody-polls"},
		workflows.LeadWorkflow, workflows.LeadInput{LeadID: id, First: &touch}); err != nil {
		t.Fatal(err)
	}
	if err := s.Temporal.TerminateWorkflow(ctx, workflows.LeadWorkflowID(id), "", "test: failed before its first step"); err != nil {
		t.Fatal(err)
	}
	svc := &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}
	if _, err := svc.Recover(ctx, id, "admin:test", false); err == nil || !strings.Contains(err.Error(), "submit the lead again") {
		t.Fatalf("recover with nothing in PostgreSQL: %v", err)
	}
	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"`+email+`","name":"Ghost","score":80}`)
	if code != 202 || out["new"] != true {
		t.Fatalf("resubmission: %d %v", code, out)
	}
	waitLeadState(t, s, id, domain.StateOffered, 1)
}
