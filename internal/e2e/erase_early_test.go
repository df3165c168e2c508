package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// An erasure that reaches a lead before any worker has run it: the lead was
// answered "pending" (no worker took it within the gateway's wait) and the
// erasure came at once, so the first workflow task carries the start, the
// intake Update and the erase Update together. Found by the fault suite
// (make chaos-dev, seed 947661): the erase handler ran before the run's
// cancel function existed and panicked, failing every workflow task while
// the erasure was retried; once the retries stopped, the lead went on to be
// offered and escalated. And an erasure that cancelled the first touch's
// record left the intake Update waiting for it for ever, so the workflow
// never ended and every later erase was refused as "already being erased".
func TestEraseBeforeTheFirstWorkflowTask(t *testing.T) {
	// The processed answer's Update-with-Start, as the fault suite found it:
	// the first task carries the intake Update too.
	t.Setenv("BATON_INTAKE_ACK", "processed")
	s := startStackOpts(t, false)
	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"early@erase.example","name":"Eli Early","company":"Early","score":70}`)
	if code/100 != 2 || out["pending"] != true {
		t.Fatalf("submit with no worker: %d %v; want a 2xx, pending", code, out)
	}
	id := out["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	erased := make(chan error, 1)
	go func() {
		h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.LeadWorkflowID(id),
			UpdateName: workflows.UpdateErase, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{workflows.EraseInput{Actor: "admin:test", Reason: "erasure-request"}}})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		erased <- err
	}()
	time.Sleep(2 * time.Second) // the erase Update is admitted, waiting for a worker
	p := buildWorker(t, s)
	p.start()
	if err := <-erased; err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := s.Temporal.GetWorkflow(ctx, workflows.LeadWorkflowID(id), "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow after the erasure: %v", err)
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.LeadWorkflowID(id), "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("workflow status %v (%v), want completed", d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	v := getLead(t, s, id)
	if v.State != "Erased" || v.Email != domain.ErasedEmail(id) || v.Name != "" {
		t.Fatalf("lead after the erasure: state %s, email %s, name %q", v.State, v.Email, v.Name)
	}
	for _, e := range v.Events {
		if e.Kind == "offered" {
			t.Fatalf("an erased lead was offered: %+v", v.Events)
		}
	}
	if n := countOutbox(t, s, id, "offer"); n != 0 {
		t.Fatalf("%d offers of an erased lead", n)
	}
}
