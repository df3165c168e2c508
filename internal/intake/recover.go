package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Lead recovery (issue 15, finding 4; `starter lead recover`). A lead whose
// workflow failed, was terminated or is stuck is restarted from what
// PostgreSQL holds: a new run of the same workflow id resumes from the last
// recorded snapshot. Why not let intake start a fresh run with
// ALLOW_DUPLICATE_FAILED_ONLY? A blank run over a lead with history would
// write versions PostgreSQL already holds (its snapshots are dropped as
// stale) and event keys already taken (its events are dropped): the record
// would stop telling the truth. So intake keeps REJECT_DUPLICATE (a closed
// lead is never restarted), and a start refused because the last run failed
// is turned into this recovery, whose own start uses
// ALLOW_DUPLICATE_FAILED_ONLY. A failed lead never blocks a resubmission.

// Recovery is what recover found and did.
type Recovery struct {
	LeadID    string
	Status    string           // the workflow's last run: Failed, Terminated, Running (stuck), ...
	Why       string           // its failure, or why it counts as stuck
	Stored    bool             // PostgreSQL holds the lead
	State     domain.LeadState // the state PostgreSQL holds
	Version   int64
	Plan      string // what recovery does (or did)
	Recovered bool   // a new run was started
	RunID     string
}

// ErrNothingToRecover means the lead's workflow is healthy, or its lead is
// closed: recover changes nothing.
var ErrNothingToRecover = errors.New("nothing to recover")

// stuckAttempts is how many attempts of one activity or workflow task make a
// running lead stuck.
const stuckAttempts = 5

// runStatus describes the lead's last run; "" when Temporal has none.
func (s *Service) runStatus(ctx context.Context, id string) (status enumspb.WorkflowExecutionStatus, why string, stuck bool, err error) {
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.LeadWorkflowID(id), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, "Temporal holds no run of it", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("describe lead %s: %w", id, err)
	}
	status = d.GetWorkflowExecutionInfo().GetStatus()
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return status, "", false, nil
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil && wt.GetAttempt() >= stuckAttempts {
		return status, fmt.Sprintf("its workflow task failed %d times", wt.GetAttempt()-1), true, nil
	}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetAttempt() >= stuckAttempts {
			return status, fmt.Sprintf("activity %s is on attempt %d: %s", pa.GetActivityType().GetName(), pa.GetAttempt(),
				pa.GetLastFailure().GetMessage()), true, nil
		}
	}
	return status, "", false, nil
}

// failure is the message a closed run failed with.
func (s *Service) failure(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := s.Temporal.GetWorkflow(ctx, workflows.LeadWorkflowID(id), "").Get(ctx, nil)
	if err == nil {
		return ""
	}
	return err.Error()
}

func statusName(st enumspb.WorkflowExecutionStatus) string {
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return "none"
	}
	return strings.TrimPrefix(st.String(), "WORKFLOW_EXECUTION_STATUS_")
}

// resumable is the snapshot a new run starts from, or why there is none.
func resumable(l domain.LeadSnapshot) (domain.LeadSnapshot, string, error) {
	switch l.State {
	case domain.StateConverted, domain.StateDisqualified, domain.StateErased:
		return l, "", fmt.Errorf("the lead is %s: closed, %w", l.State, ErrNothingToRecover)
	case domain.StateAccepted, domain.StateContacted:
		return l, "", fmt.Errorf("the lead is %s, held by %s: a new run would offer it again, so recover leaves it; "+
			"act on it with `starter lead act` or ask the engineers", l.State, l.Owner.Name)
	case domain.StateRecycled:
		// As the recycle step would have: back to nurture, score to earn again.
		next := domain.LeadSnapshot{ID: l.ID, WorkflowID: l.WorkflowID, Email: l.Email, Name: l.Name, Company: l.Company,
			Country: l.Country, CampaignID: l.CampaignID, State: domain.StateCaptured, Attempt: l.Attempt, Touches: l.Touches,
			Version: l.Version, Policy: l.Policy, Cycle: l.Cycle + 1, Region: l.Region, Industry: l.Industry, CompanySize: l.CompanySize, Phone: l.Phone}
		return next, "start a new run in nurture (the lead was recycled; its score must rise again)", nil
	}
	plan := "start a new run from state " + string(l.State) + ": qualify again, then route"
	if l.State.Open() || l.State == domain.StateUnroutable {
		plan += fmt.Sprintf(" and offer it anew (attempt %d; the links of attempt %d stop working)", l.Attempt+1, l.Attempt)
	}
	return l, plan, nil
}

// Recover restarts a failed, terminated or stuck lead from PostgreSQL. With
// dryRun it only says what it would do. actor is recorded on the
// "recovered" event.
func (s *Service) Recover(ctx context.Context, id, actor string, dryRun bool) (Recovery, error) {
	rec := Recovery{LeadID: id}
	status, why, stuck, err := s.runStatus(ctx, id)
	if err != nil {
		return rec, err
	}
	rec.Status, rec.Why = statusName(status), why
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if !stuck {
			return rec, fmt.Errorf("its workflow is running and not stuck (no activity or workflow task on its %dth attempt): %w", stuckAttempts, ErrNothingToRecover)
		}
		rec.Status = "Running (stuck)"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return rec, fmt.Errorf("its workflow completed: %w", ErrNothingToRecover)
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return rec, fmt.Errorf("its workflow continued as new; the new run is not visible yet, try again: %w", ErrNothingToRecover)
	case enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED:
	default: // failed, terminated, timed out, canceled
		rec.Why = s.failure(ctx, id)
	}
	snap, err := s.Store.LeadSnapshot(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return rec, fmt.Errorf("PostgreSQL holds no record of %s (it failed before its first step was written): "+
			"submit the lead again; intake starts it afresh", id)
	}
	if err != nil {
		return rec, err
	}
	rec.Stored, rec.State, rec.Version = true, snap.State, snap.Version
	next, plan, err := resumable(snap)
	if err != nil {
		return rec, err
	}
	if stuck {
		plan = "terminate the stuck run, then " + plan
	}
	rec.Plan = plan
	if dryRun {
		return rec, nil
	}
	runID, err := s.restart(ctx, next, stuck, actor, rec)
	if err != nil {
		return rec, err
	}
	rec.Recovered, rec.RunID = true, runID
	return rec, nil
}

// restart terminates a stuck run, records the recovery and starts the new run.
func (s *Service) restart(ctx context.Context, next domain.LeadSnapshot, stuck bool, actor string, rec Recovery) (string, error) {
	wid := workflows.LeadWorkflowID(next.ID)
	if stuck {
		if err := s.Temporal.TerminateWorkflow(ctx, wid, "", "lead recover: "+rec.Why); err != nil {
			var nf *serviceerror.NotFound
			if !errors.As(err, &nf) {
				return "", fmt.Errorf("terminate the stuck run of %s: %w", next.ID, err)
			}
		}
	}
	next, err := s.recordRecovery(ctx, next, actor, rec)
	if err != nil {
		return "", err
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                s.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflows.LeadWorkflow, workflows.LeadInput{LeadID: next.ID, Resume: &workflows.LeadRun{Lead: next}})
	if err != nil {
		return "", fmt.Errorf("start the new run of %s: %w", next.ID, err)
	}
	return run.GetRunID(), nil
}

// recordRecovery writes the "recovered" event with the snapshot the new run
// resumes from, one version on (so nothing the new run writes is stale), and
// returns that snapshot.
func (s *Service) recordRecovery(ctx context.Context, next domain.LeadSnapshot, actor string, rec Recovery) (domain.LeadSnapshot, error) {
	next.Version++
	next.WorkflowID = workflows.LeadWorkflowID(next.ID)
	reason := "restarted from PostgreSQL after its workflow " + strings.ToLower(rec.Status)
	if rec.Why != "" {
		reason += ": " + rec.Why
	}
	if len(reason) > 500 {
		reason = strings.ToValidUTF8(reason[:500], "")
	}
	ev := domain.Event{Key: fmt.Sprintf("%s:recovered:v%d", next.ID, next.Version), Seq: next.Version, Kind: "recovered",
		Actor: orDefault(actor, "admin"), Reason: reason, Data: map[string]string{"from_state": string(rec.State)}, At: time.Now().UTC()}
	if err := s.Store.Record(ctx, next, ev); err != nil {
		return next, fmt.Errorf("record the recovery of %s: %w", next.ID, err)
	}
	return next, nil
}

func failedStatus(st enumspb.WorkflowExecutionStatus) bool {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return true
	}
	return false
}

// refusedStart handles a touch whose start was refused because the lead's
// workflow has ended. A completed lead keeps the touch as an event
// (lateTouch). A lead whose last run failed, was terminated, timed out or was
// cancelled is recovered with the touch: from its snapshot when PostgreSQL
// holds one, afresh when it does not (it failed before its first step).
func (s *Service) refusedStart(ctx context.Context, id string, req domain.LeadRequest, touch workflows.Touch, idemKey string) (Result, error) {
	status, _, _, err := s.runStatus(ctx, id)
	if err != nil || !failedStatus(status) {
		return s.lateTouch(ctx, id, req, touch, idemKey)
	}
	snap, err := s.Store.LeadSnapshot(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return s.deliver(ctx, id, req, touch, idemKey, workflows.LeadInput{LeadID: id, First: &touch},
			enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
	}
	if err != nil {
		return Result{}, err
	}
	next, _, err := resumable(snap)
	if err != nil { // closed, or held by a rep: the touch is kept as an event
		return s.lateTouch(ctx, id, req, touch, idemKey)
	}
	next, err = s.recordRecovery(ctx, next, "source:"+orDefault(req.Source, "api"),
		Recovery{Status: statusName(status), Why: s.failure(ctx, id), State: snap.State})
	if err != nil {
		return Result{}, err
	}
	return s.deliver(ctx, id, req, touch, idemKey, workflows.LeadInput{LeadID: id, Resume: &workflows.LeadRun{Lead: next}},
		enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
}
