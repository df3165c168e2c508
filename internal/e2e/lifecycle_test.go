package e2e

import (
	"os"
	"path/filepath"

	"context"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/testenv"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// TestLifecycleOnTheRealStack runs a lead left alone under a policy with
// second-scale windows on the real dev server and PostgreSQL, and measures how
// late each reminder, breach and escalation was recorded against the
// deadline computed for it. The numbers go to the test log (-v); the
// assertion is only that each fired from its timer, not from some later pass.
func TestLifecycleOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	const w = 2 * time.Second
	pol := domain.Policy{Name: "e2e-seconds", AcceptWithin: domain.Duration(w), FirstContactWithin: domain.Duration(w),
		Reminders: []float64{0.5}, OnMiss: domain.OnMiss{Reassign: 1, Escalate: true}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	usePolicy(t, s, pol)

	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"left.alone@example.org","name":"Lee Alone","score":90}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	// A policy changed while the lead is in flight: the lead keeps the
	// version it started with (its clocks below stay on 2 s windows).
	waitMail(t, s, "ana.schmidt@example.com", "offer", 5*time.Second)
	slower := pol
	slower.AcceptWithin, slower.FirstContactWithin = domain.Duration(time.Minute), domain.Duration(time.Minute)
	if res, err := s.Store.ImportPolicies(ctx, []domain.Policy{slower}, false); err != nil || res.Updated != 1 {
		t.Fatalf("re-import: %v %v", res, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := getLead(t, s, id)
		if v.Escalation == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not escalated to level 2 within 30s: %+v", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitMail(t, s, "sam.okafor@example.com", "escalation", 5*time.Second)
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.LeadWorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	for _, k := range []string{"BatonCampaign", "BatonLeadState", "BatonOwnerRep", "BatonEscalationLevel"} {
		if _, ok := sa[k]; !ok {
			t.Errorf("search attribute %s not set; have %v", k, sa)
		}
	}

	// Lateness: when the row was committed minus the deadline it was for.
	rows, err := s.Store.Pool.Query(ctx, `
		select kind, coalesce(data->>'due', data->>'deadline')::timestamptz, recorded_at, occurred_at
		from lead_events where lead_id = $1 and kind in ('reminded', 'lapsed', 'escalated') order by seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	var late []time.Duration
	var kinds []string
	for rows.Next() {
		var kind string
		var due, recorded, occurred time.Time
		if err := rows.Scan(&kind, &due, &recorded, &occurred); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, kind)
		l := recorded.Sub(due)
		late = append(late, l)
		t.Logf("%-9s due %s  fired %s  recorded %s  late %v", kind, due.Format("15:04:05.000"),
			occurred.Format("15:04:05.000"), recorded.Format("15:04:05.000"), l.Round(time.Millisecond))
	}
	if len(late) != 6 {
		t.Fatalf("%d timed events %v, want reminder, breach, reminder, breach, escalation ×2", len(late), kinds)
	}
	sorted := append([]time.Duration(nil), late...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("lateness over %d timed events: median %v, max %v", len(sorted), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	for i, l := range late {
		if l < 0 || l > 5*time.Second {
			t.Errorf("%s recorded %v from its deadline: not fired by its own timer", kinds[i], l)
		}
	}

	// The holder accepts, the first-contact clock runs, a contact and an outcome end it.
	v := getLead(t, s, id)
	for _, u := range []struct {
		name string
		arg  any
	}{
		{workflows.UpdateAccept, workflows.AcceptInput{RepID: v.Owner.ID, Attempt: v.Attempt}},
		{workflows.UpdateContact, workflows.ContactInput{RepID: v.Owner.ID, Channel: "call", Note: "booked a demo"}},
		{workflows.UpdateClose, workflows.CloseInput{RepID: v.Owner.ID, Outcome: workflows.OutcomeConverted, Reference: "OPP-9"}},
	} {
		h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: v.WorkflowID, UpdateName: u.name,
			Args: []any{u.arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", u.name, err)
		}
	}
	if err := s.Temporal.GetWorkflow(ctx, v.WorkflowID, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if v := getLead(t, s, id); v.State != "Converted" || v.ContactedAt == nil || v.ContactBy == nil {
		t.Fatalf("final: %+v", v)
	}
	saveHistory(t, s.Temporal, v.WorkflowID, "lead-reminders-lapse-reassign-escalate-to-leader-accept-convert")
}

// linkNamed finds a message's action link by its label.
func linkNamed(t *testing.T, m outboxMsg, label string) string {
	t.Helper()
	for _, l := range m.Links {
		if l.Label == label {
			return l.URL
		}
	}
	t.Fatalf("no %q link in %q: %+v", label, m.Subject, m.Links)
	return ""
}

// The one-click actions beyond accept: a rep declines with a reason, and a
// manager sends an escalated lead on from the escalation email.
func TestOneClickDeclineAndManagerReassign(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	pol := domain.Policy{Name: "e2e-escalate-first", AcceptWithin: domain.Duration(2 * time.Second),
		OnMiss: domain.OnMiss{Reassign: 0, Escalate: true}}
	usePolicy(t, s, pol)
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"nora@umbrella.example","name":"Nora Quinn","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)

	// Ana lets it lapse: with no reassignment in the policy, the manager is told at once.
	esc := waitMail(t, s, "max.becker@example.com", "escalation", 10*time.Second)
	if code, page := clickWith(t, linkNamed(t, esc, "Send to the next rep"), url.Values{}); code != 400 || !strings.Contains(page, "needs a reason") {
		t.Fatalf("reassign without a reason: %d %s", code, page)
	}
	if code, page := clickWith(t, linkNamed(t, esc, "Send to the next rep"), url.Values{"reason": {"Ana is at an offsite"}}); code != 200 ||
		!strings.Contains(page, "Lead reassigned") {
		t.Fatalf("manager reassign: %d %s", code, page)
	}
	offer := waitMail(t, s, "bea.ortiz@example.com", "offer", 5*time.Second)
	// Bea declines with a reason: straight to the next rep, no breach.
	if code, page := clickWith(t, linkNamed(t, offer, "Decline"), url.Values{"reason": {"not-my-territory"}, "note": {"EMEA north only"}}); code != 200 ||
		!strings.Contains(page, "Lead declined") {
		t.Fatalf("decline: %d %s", code, page)
	}
	cy := waitMail(t, s, "cy.walsh@example.com", "offer", 5*time.Second)
	if code, _ := click(t, linkNamed(t, cy, "Accept lead")); code != 200 {
		t.Fatalf("cy accept: %d", code)
	}
	v := getLead(t, s, id)
	var kinds []string
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	want := "captured,mql,offered,lapsed,escalated,reassigned,offered,rejected,offered,accepted"
	if got := strings.Join(kinds, ","); got != want || v.Owner.ID != "cy" {
		t.Fatalf("events %s\nwant   %s; owner %v", got, want, v.Owner)
	}
	if v.Events[7].Reason != "not-my-territory" || v.Events[5].Actor != "manager:max-manager" {
		t.Fatalf("reasons and actors not recorded: %+v", v.Events)
	}
	// Erasure ends it: personal data purged, events kept.
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: v.WorkflowID, UpdateName: workflows.UpdateErase,
		Args: []any{workflows.EraseInput{Actor: "admin:test", Reason: "erasure-request"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := s.Temporal.GetWorkflow(ctx, v.WorkflowID, "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow after erasure: %v", err)
	}
	e := getLead(t, s, id)
	if e.State != "Erased" || e.Name != "" || e.Email != domain.ErasedEmail(id) || len(e.Events) != len(v.Events)+1 {
		t.Fatalf("after erasure: %+v", e)
	}
	if n := countOutbox(t, s, id, "offer"); n != 0 {
		t.Fatalf("%d offers left in the outbox", n)
	}
	saveHistory(t, s.Temporal, v.WorkflowID, "lead-decline-manager-reassign-accept-erase")
}

// A rep deactivated mid-offer: the lead goes back to routing at once.
func TestRepDeactivatedMidOfferReleasesTheLead(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	id := offeredUnderOfficeHours(t, s, `{"campaign":"webinar-q3","email":"otto@hooli.example","name":"Otto Park","score":70}`)

	root, _ := testenv.RepoRoot()
	data, _ := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	dir, err := domain.ParseDirectory(data)
	if err != nil {
		t.Fatal(err)
	}
	off := false
	dir.Teams[0].Reps[0].Active = &off // ana
	if _, err := s.Store.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	rel, err := intake.ReleaseOffers(ctx, s.Temporal, s.Store, []string{"ana"}, "the rep was deactivated in the directory", nil)
	if err != nil || rel.Released != 1 {
		t.Fatalf("release: %+v, %v", rel, err)
	}
	waitMail(t, s, "bea.ortiz@example.com", "offer", 10*time.Second)
	v := getLead(t, s, id)
	if v.Owner == nil || v.Owner.ID != "bea" || v.Events[len(v.Events)-2].Actor != workflows.SystemDirectory {
		t.Fatalf("after release: %+v", v)
	}
	// Bea goes out of office: office-hours reassigns her unaccepted lead.
	if res, err := intake.MarkAway(ctx, s.Temporal, s.Store, "bea", time.Now().Add(-time.Minute), time.Now().Add(24*time.Hour), "sick"); err != nil || res.Released != 1 {
		t.Fatalf("away: %+v, %v", res, err)
	}
	waitMail(t, s, "cy.walsh@example.com", "offer", 10*time.Second)
	// Nothing left to release.
	if rel, err := intake.ReleaseOffers(ctx, s.Temporal, s.Store, []string{"ana"}, "again", nil); err != nil || rel.Released != 0 {
		t.Fatalf("second release: %+v, %v", rel, err)
	}
}

// offeredUnderOfficeHours switches webinar-q3 to the office-hours policy (an
// hour to accept), submits a lead and waits for its offer to Ana.
func offeredUnderOfficeHours(t *testing.T, s *Stack, body string) string {
	t.Helper()
	ctx := context.Background()
	c, _ := s.Store.Campaign(ctx, "webinar-q3")
	if err := s.Store.UpsertCampaign(ctx, domain.Campaign{ID: c.ID, Name: c.Name, Owner: domain.Person{Name: c.Owner.Name, Email: c.Owner.Email},
		Team: c.TeamID, MinScore: c.MinScore, AcceptWithin: domain.Duration(time.Hour), SLAPolicy: "office-hours"}, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	code, res := submit(t, s, body)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	return res["id"].(string)
}
