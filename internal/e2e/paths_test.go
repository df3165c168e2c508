package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// usePolicy imports a policy and puts the example campaign on it.
func usePolicy(t *testing.T, s *Stack, pol domain.Policy) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Store.ImportPolicies(ctx, []domain.Policy{pol}, false); err != nil {
		t.Fatal(err)
	}
	c, err := s.Store.Campaign(ctx, "webinar-q3")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.UpsertCampaign(ctx, domain.Campaign{ID: c.ID, Name: c.Name, Owner: domain.Person{Name: c.Owner.Name, Email: c.Owner.Email},
		Team: c.TeamID, MinScore: c.MinScore, SLAPolicy: pol.Name}, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
}

func act(t *testing.T, s *Stack, workflowID, name string, arg any) {
	t.Helper()
	ctx := context.Background()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func waitState(t *testing.T, s *Stack, id, state string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if v := getLead(t, s, id); v.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s not %s within %s: %+v", id, state, within, getLead(t, s, id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMorePathsOnTheRealStack drives the rest of the lifecycle on the real
// dev server (take-over, cadence breaches, recycle and its cool-down into a
// new run; out-of-office pause, snooze, disqualify) and keeps the histories
// for the replay tests.
func TestMorePathsOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	pol := domain.Policy{Name: "e2e-paths", AcceptWithin: domain.Duration(2 * time.Second), FirstContactWithin: domain.Duration(2 * time.Second),
		Reminders: []float64{0.5}, OnMiss: domain.OnMiss{Reassign: 0, Escalate: true},
		Cadence: domain.Cadence{Touches: 3, Within: domain.Duration(4 * time.Second)}, SnoozeMax: domain.Duration(time.Hour),
		OutOfOffice: domain.AwayPause, RecycleCooldown: domain.Duration(2 * time.Second),
		LeaderAlert: domain.LeaderAlert{Misses: 2, Within: domain.Duration(time.Hour)}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	usePolicy(t, s, pol)

	// A: left alone, escalated, taken over by the manager, one contact, the
	// cadence runs out: recycled, and after the cool-down a new run nurtures.
	_, res := submit(t, s, `{"campaign":"webinar-q3","email":"path.a@example.org","name":"Path A","score":90}`)
	a := res["id"].(string)
	wfA := workflows.LeadWorkflowID(a)
	firstRun, err := s.Temporal.DescribeWorkflowExecution(ctx, wfA, "")
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, a, "Escalated", 10*time.Second)
	act(t, s, wfA, workflows.UpdateReassign, workflows.ReassignInput{ManagerID: "max-manager", ToRep: "max-manager", TakeOver: true, Reason: "mine"})
	act(t, s, wfA, workflows.UpdateContact, workflows.ContactInput{RepID: "max-manager", Channel: "call"})
	waitState(t, s, a, "Recycled", 15*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, wfA, "")
		if err == nil && d.WorkflowExecutionInfo.Execution.RunId != firstRun.WorkflowExecutionInfo.Execution.RunId {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new run after the recycle cool-down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitState(t, s, a, "Nurturing", 10*time.Second) // the score starts again at 0, below the bar of 50
	saveHistory(t, s.Temporal, wfA, "lead-takeover-cadence-recycle-continued-as-new-second-run")
	saveHistoryRun(t, s.Temporal, wfA, firstRun.WorkflowExecutionInfo.Execution.RunId, "lead-takeover-cadence-recycle-first-run")

	// B: accepted, the holder away (the contact clock pauses), a snooze, a
	// contact, disqualified.
	_, res = submit(t, s, `{"campaign":"webinar-q3","email":"path.b@example.org","name":"Path B","score":90}`)
	b := res["id"].(string)
	wfB := workflows.LeadWorkflowID(b)
	waitState(t, s, b, "Offered", 10*time.Second)
	v := getLead(t, s, b)
	act(t, s, wfB, workflows.UpdateAccept, workflows.AcceptInput{RepID: v.Owner.ID, Attempt: v.Attempt})
	// The first-contact clock starts just after the accept is answered.
	var before *time.Time
	for end := time.Now().Add(5 * time.Second); before == nil; {
		if before = getLead(t, s, b).ContactBy; before == nil {
			if time.Now().After(end) {
				t.Fatal("no first-contact deadline 5 s after the accept")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := intake.MarkAway(ctx, s.Temporal, s.Store, v.Owner.ID, time.Now().Add(-time.Second), time.Now().Add(3*time.Second), "dentist"); err != nil {
		t.Fatal(err)
	}
	if after := getLead(t, s, b).ContactBy; after == nil || !after.After(*before) {
		t.Fatalf("contact deadline not paused: %v → %v", before, after)
	}
	act(t, s, wfB, workflows.UpdateSnooze, workflows.SnoozeInput{RepID: v.Owner.ID, Until: time.Now().Add(30 * time.Second), Note: "call me later"})
	act(t, s, wfB, workflows.UpdateContact, workflows.ContactInput{RepID: v.Owner.ID, Channel: "email"})
	act(t, s, wfB, workflows.UpdateClose, workflows.CloseInput{RepID: v.Owner.ID, Outcome: workflows.OutcomeDisqualified, Reason: "no-budget"})
	waitState(t, s, b, "Disqualified", 5*time.Second)
	saveHistory(t, s.Temporal, wfB, "lead-away-pause-snooze-disqualify")
}
