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

// TestExtendAwayAndEndByHandOnTheRealStack drives the paths the other
// end-to-end tests leave out, and keeps their histories for the replay
// tests: a manager extends an offer once, the holder goes out of office (the
// default policy reassigns), the next rep accepts and converts; and a
// campaign without reviewers goes live, is checked once and is ended by hand
// (retrospective, closed).
func TestExtendAwayAndEndByHandOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	pol := domain.Policy{Name: "e2e-moves", AcceptWithin: domain.Duration(time.Minute), FirstContactWithin: domain.Duration(time.Hour),
		OnMiss: domain.OnMiss{Reassign: 1, Escalate: true}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	usePolicy(t, s, pol)

	_, res := submit(t, s, `{"campaign":"webinar-q3","email":"moves@example.org","name":"Moves","score":90}`)
	id := res["id"].(string)
	wf := workflows.LeadWorkflowID(id)
	waitState(t, s, id, "Offered", 10*time.Second)
	first := getLead(t, s, id)
	act(t, s, wf, workflows.UpdateExtend, workflows.ExtendInput{ManagerID: "max-manager", By: 30 * time.Second, Reason: "at a trade fair"})
	if v := getLead(t, s, id); v.AcceptBy == nil || !v.AcceptBy.After(*first.AcceptBy) {
		t.Fatalf("not extended: %v → %v", first.AcceptBy, v.AcceptBy)
	}
	if _, err := intake.MarkAway(ctx, s.Temporal, s.Store, first.Owner.ID, time.Now().Add(-time.Second), time.Now().Add(time.Hour), "ill"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var next = getLead(t, s, id)
	for next.Owner == nil || next.Owner.ID == first.Owner.ID || next.State != "Offered" {
		if time.Now().After(deadline) {
			t.Fatalf("not reassigned after the holder went away: %+v", next)
		}
		time.Sleep(100 * time.Millisecond)
		next = getLead(t, s, id)
	}
	act(t, s, wf, workflows.UpdateAccept, workflows.AcceptInput{RepID: next.Owner.ID, Attempt: next.Attempt})
	act(t, s, wf, workflows.UpdateContact, workflows.ContactInput{RepID: next.Owner.ID, Channel: "call"})
	act(t, s, wf, workflows.UpdateClose, workflows.CloseInput{RepID: next.Owner.ID, Outcome: workflows.OutcomeConverted, Reference: "OPP-M"})
	waitState(t, s, id, "Converted", 5*time.Second)
	saveHistory(t, s.Temporal, wf, "lead-extend-away-reassigned-converted")

	// A campaign with no reviewers: approved and live at once, one check,
	// ended by hand.
	const cid = "end-by-hand"
	c := domain.Campaign{ID: cid, Name: "End By Hand", Owner: domain.Person{Name: "Mo Fischer", Email: "mo.fischer@example.com"},
		Team: "emea", MinScore: 50, AcceptWithin: domain.Duration(time.Minute)}
	c.Commitments = domain.Commitments{MQLsPerWeek: 1, Every: domain.Duration(3 * time.Second)}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.UpsertCampaign(ctx, c, workflows.PhaseDraft, time.Minute); err != nil {
		t.Fatal(err)
	}
	cwf := workflows.CampaignWorkflowID(cid)
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cwf, TaskQueue: s.Config.TaskQueue},
		workflows.CampaignWorkflow, workflows.CampaignInput{CampaignID: cid})
	if err != nil {
		t.Fatal(err)
	}
	waitMail(t, s, "mo.fischer@example.com", "campaign-shortfall", 15*time.Second)
	act(t, s, cwf, workflows.UpdateCampaignEnd, workflows.CampaignEndInput{Actor: "owner:mo.fischer@example.com", Reason: "budget moved"})
	var st workflows.CampaignState
	if err := run.Get(ctx, &st); err != nil || st.Phase != workflows.PhaseClosed || st.EndedBy != "owner:mo.fischer@example.com" {
		t.Fatalf("campaign after the end: %v %+v", err, st)
	}
	waitMail(t, s, "mo.fischer@example.com", "campaign-retro", 5*time.Second)
	saveHistory(t, s.Temporal, cwf, "campaign-live-check-ended-by-hand-retro")
}
