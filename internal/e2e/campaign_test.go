package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/workflows"
	"go.yaml.in/yaml/v3"
)

// starterCLI builds the starter and returns a function running it against
// the stack, as a marketer would.
func starterCLI(t *testing.T, s *Stack) func(args ...string) (string, error) {
	t.Helper()
	root, _ := testenv.RepoRoot()
	bin := filepath.Join(t.TempDir(), "starter")
	build := exec.Command("go", "build", "-o", bin, "./starter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build starter: %v\n%s", err, out)
	}
	env := append(os.Environ(), "DATABASE_URL="+s.Config.DatabaseURL, "TEMPORAL_ADDRESS="+s.Config.TemporalAddress,
		"BATON_SIGNING_KEY="+s.Config.SigningKey, "BATON_TASK_QUEUE="+s.Config.TaskQueue)
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		t.Logf("$ starter %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}
}

// writeSpec writes a campaign spec file as a marketer would.
func writeSpec(t *testing.T, c domain.Campaign, extra string) string {
	t.Helper()
	type person struct {
		ID       string `yaml:"id,omitempty"`
		Name     string `yaml:"name"`
		Email    string `yaml:"email"`
		TimeZone string `yaml:"time_zone,omitempty"`
	}
	var revs []person
	for _, r := range c.Reviewers {
		revs = append(revs, person{r.ID, r.Name, r.Email, r.TimeZone})
	}
	doc := map[string]any{"id": c.ID, "name": c.Name, "owner": person{Name: c.Owner.Name, Email: c.Owner.Email}, "team": c.Team,
		"min_score": c.MinScore, "accept_within": time.Duration(c.AcceptWithin).String(), "required_fields": c.RequiredFields,
		"reviewers": revs, "channels": c.Channels, "audience": c.Audience,
		"commitments": map[string]any{"mqls_per_week": c.Commitments.MQLsPerWeek, "min_acceptance_rate": c.Commitments.MinAcceptanceRate,
			"every": time.Duration(c.Commitments.Every).String()},
		"review":     map[string]any{"deadline": time.Duration(c.Review.Deadline).String(), "reminders": c.Review.Reminders, "quorum": c.Review.Quorum},
		"late_leads": c.LateLeads}
	if !c.StartsAt.IsZero() {
		doc["starts_at"] = c.StartsAt.UTC().Format(time.RFC3339)
	}
	if !c.EndsAt.IsZero() {
		doc["ends_at"] = c.EndsAt.UTC().Format(time.RFC3339)
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), c.ID+".yaml")
	if err := os.WriteFile(path, append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCampaignDraftToClosedOnTheRealStack runs a campaign's whole life on the
// real dev server and PostgreSQL with second-scale dates: launch from the
// CLI, a silent reviewer escalated to the sales leader, a change request from
// the email's link, a revision, approval by quorum, live at the start date,
// leads submitted and worked, the first week's shortfall and digest with the
// numbers recomputed here from lead_events, the end date, the
// retrospective, a late lead refused, and `starter campaign status`.
func TestCampaignDraftToClosedOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	starter := starterCLI(t, s)
	const id = "launch-e2e"

	c := domain.Campaign{ID: id, Name: "Launch E2E", Owner: domain.Person{Name: "Mo Fischer", Email: "mo.fischer@example.com"},
		Team: "emea", MinScore: 50, AcceptWithin: domain.Duration(time.Minute), RequiredFields: []string{"company"}}
	c.Reviewers = []domain.Person{{ID: "max-manager", Name: "Max Becker", Email: "max.becker@example.com", TimeZone: "Europe/Berlin"},
		{ID: "ana", Name: "Ana Schmidt", Email: "ana.schmidt@example.com", TimeZone: "Europe/Berlin"}}
	c.Review = domain.Review{Deadline: domain.Duration(3 * time.Second), Reminders: []float64{0.5}, Quorum: 2}
	c.Commitments = domain.Commitments{MQLsPerWeek: 5, MinAcceptanceRate: 0.6, Every: domain.Duration(12 * time.Second)}
	c.Channels, c.Audience, c.LateLeads = []string{"webinar"}, "IT leads", domain.LateRefuse

	// A bad spec starts nothing.
	bad := writeSpec(t, c, "budget: 100\n")
	if out, err := starter("campaign", "launch", bad); err == nil || !strings.Contains(out, "budget") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("a bad spec must be refused naming the field: %v %s", err, out)
	}
	// So does a plan whose end has passed (an example copied a year late).
	ended := c
	ended.StartsAt.Time, ended.EndsAt.Time = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	if out, err := starter("campaign", "launch", writeSpec(t, ended, "")); err == nil || !strings.Contains(out, "ends_at") ||
		!strings.Contains(out, "has passed") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("a plan that has ended must be refused naming ends_at: %v %s", err, out)
	}
	if _, err := s.Store.CampaignSpec(ctx, id); err == nil {
		t.Fatal("a refused spec was stored")
	}

	spec := writeSpec(t, c, "")
	if out, err := starter("campaign", "launch", spec); err != nil || !strings.Contains(out, "in sales review (revision 1)") {
		t.Fatalf("launch: %v %s", err, out)
	}
	// A lead before the campaign is live is refused.
	if code, res := submit(t, s, `{"campaign":"launch-e2e","email":"early@example.org","company":"Early","score":90}`); code != 400 {
		t.Fatalf("a lead for a campaign in review: %d %v", code, res)
	}

	// Both reviewers are asked, and reminded at half the deadline; Ana stays
	// silent, so at the deadline the sales leader is told.
	waitMail(t, s, "ana.schmidt@example.com", "campaign-review", 5*time.Second)
	req := waitMail(t, s, "max.becker@example.com", "campaign-review", 5*time.Second)
	waitMail(t, s, "ana.schmidt@example.com", "campaign-reminder", 5*time.Second)
	esc := waitMail(t, s, "sam.okafor@example.com", "campaign-escalation", 10*time.Second)
	if !strings.Contains(esc.Text, "Not answered: Max Becker, Ana Schmidt.") {
		t.Errorf("escalation:\n%s", esc.Text)
	}
	// Max asks for changes from the email's link; a GET alone changes nothing.
	link := linkNamed(t, req, "Request changes")
	if !strings.Contains(link, "/c/") {
		t.Fatalf("review link %s", link)
	}
	if resp, page := do(t, http.DefaultClient, "GET", link, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "What should change?") {
		t.Fatalf("confirm page: %d %s", resp.StatusCode, page)
	}
	if v, _ := s.Store.CampaignEvents(ctx, id); len(v) != 3 { // drafted, review-requested, review-escalated
		t.Errorf("a GET of the link changed something: %+v", v)
	}
	if resp, _ := do(t, http.DefaultClient, "GET", link[:len(link)-3]+"xyz", "", ""); resp.StatusCode != 403 {
		t.Errorf("a tampered link: %d, want 403", resp.StatusCode)
	}
	if code, page := clickWith(t, link, url.Values{"comment": {"Add the DACH case study as contacted-stage collateral"}}); code != 200 ||
		!strings.Contains(page, "Changes requested") {
		t.Fatalf("request changes: %d %s", code, page)
	}
	if code, _ := clickWith(t, link, url.Values{"comment": {"again"}}); code != 409 {
		t.Errorf("a second answer to the same round must be refused, got %d", code)
	}
	waitMail(t, s, "mo.fischer@example.com", "campaign-changes", 5*time.Second)

	// The owner revises; the start date is a few seconds after the revision.
	c.Audience = "IT leads in DACH"
	c.StartsAt = domain.Instant{Time: time.Now().Add(4 * time.Second).Truncate(time.Second)}
	c.EndsAt = domain.Instant{Time: c.StartsAt.Add(18 * time.Second)}
	spec = writeSpec(t, c, "")
	if out, err := starter("campaign", "revise", spec); err != nil || !strings.Contains(out, "revision 2") {
		t.Fatalf("revise: %v %s", err, out)
	}
	var round2 outboxMsg
	deadline := time.Now().Add(5 * time.Second)
	for round2.Subject == "" {
		for _, m := range outboxTo(t, s, "ana.schmidt@example.com") {
			if m.Kind == "campaign-review" && strings.Contains(m.Subject, "revision 2") {
				round2 = m
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no revision-2 review request to Ana")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(round2.Text, "Add the DACH case study") || !strings.Contains(round2.Text, "IT leads in DACH") {
		t.Errorf("the new request must carry the earlier comment and the revised plan:\n%s", round2.Text)
	}
	// Max's round-1 link is stale now.
	if code, page := click(t, linkNamed(t, req, "Approve the plan")); code != 409 || !strings.Contains(page, "revision 2") {
		t.Errorf("stale approve: %d %s", code, page)
	}
	for _, who := range []string{"ana.schmidt@example.com", "max.becker@example.com"} {
		var m outboxMsg
		for _, x := range outboxTo(t, s, who) {
			if x.Kind == "campaign-review" && strings.Contains(x.Subject, "revision 2") {
				m = x
			}
		}
		if code, page := click(t, linkNamed(t, m, "Approve the plan")); code != 200 {
			t.Fatalf("%s approve: %d %s", who, code, page)
		}
	}
	// Live at the start date, from a durable timer.
	waitCampaign(t, s, id, "live", 15*time.Second)
	st, _ := s.Store.CampaignSpec(ctx, id)
	if st.LiveAt == nil || st.LiveAt.Before(c.StartsAt.Time) {
		t.Fatalf("live at %v, before the start date %s", st.LiveAt, c.StartsAt)
	}
	t.Logf("live %s after the start date", st.LiveAt.Sub(c.StartsAt.Time))

	// Week 1: four leads — one converted, one declined, one accepted, one
	// below the bar — so 3 MQLs against a commitment of 5.
	leads := map[string]string{}
	for _, l := range []struct{ key, body string }{
		{"won", `{"campaign":"launch-e2e","email":"won@acme.example","name":"Wes Won","company":"Acme","country":"DE","score":80,"source":"webinar"}`},
		{"declined", `{"campaign":"launch-e2e","email":"nope@globex.example","company":"Globex","country":"FR","score":70,"source":"ads"}`},
		{"accepted", `{"campaign":"launch-e2e","email":"maybe@initech.example","company":"Initech","country":"DE","score":60,"source":"webinar"}`},
		{"cold", `{"campaign":"launch-e2e","email":"cold@hooli.example","company":"Hooli","score":10,"source":"ads"}`},
		// Above the bar but without the required company: nurtured, not an MQL.
		{"nocompany", `{"campaign":"launch-e2e","email":"anon@example.org","score":95,"source":"ads"}`},
	} {
		code, res := submit(t, s, l.body)
		if code != 202 {
			t.Fatalf("submit %s: %d %v", l.key, code, res)
		}
		leads[l.key] = res["id"].(string)
	}
	for _, k := range []string{"won", "declined", "accepted"} {
		waitState(t, s, leads[k], "Offered", 5*time.Second)
	}
	owner := func(k string) (string, int) { v := getLead(t, s, leads[k]); return v.Owner.ID, v.Attempt }
	rep, n := owner("won")
	act(t, s, workflows.LeadWorkflowID(leads["won"]), workflows.UpdateAccept, workflows.AcceptInput{RepID: rep, Attempt: n})
	act(t, s, workflows.LeadWorkflowID(leads["won"]), workflows.UpdateContact, workflows.ContactInput{RepID: rep, Channel: "call"})
	act(t, s, workflows.LeadWorkflowID(leads["won"]), workflows.UpdateClose, workflows.CloseInput{RepID: rep, Outcome: workflows.OutcomeConverted, Reference: "OPP-7"})
	rep, n = owner("declined")
	act(t, s, workflows.LeadWorkflowID(leads["declined"]), workflows.UpdateReject, workflows.RejectInput{RepID: rep, Attempt: n, Reason: "bad-fit"})
	rep, n = owner("accepted")
	act(t, s, workflows.LeadWorkflowID(leads["accepted"]), workflows.UpdateAccept, workflows.AcceptInput{RepID: rep, Attempt: n})
	waitState(t, s, leads["won"], "Converted", 5*time.Second)
	waitState(t, s, leads["nocompany"], "Nurturing", 5*time.Second)
	if ev := getLead(t, s, leads["nocompany"]).Events; ev[len(ev)-1].Reason != "missing required field(s): company" {
		t.Errorf("the qualification rule's required field: %+v", ev[len(ev)-1])
	}
	if time.Now().After(st.LiveAt.Add(12 * time.Second)) {
		t.Fatalf("the leads took longer than the first week (12 s); the numbers below would be of week 2")
	}

	// The first check: shortfall to the owner and the marketing leader, the
	// digest to both teams, with numbers recounted here from lead_events.
	sf := waitMail(t, s, "mia.laurent@example.com", "campaign-shortfall", 20*time.Second)
	waitMail(t, s, "mo.fischer@example.com", "campaign-shortfall", 5*time.Second)
	var mqls, captured int
	weekEnd := st.LiveAt.Add(12 * time.Second)
	if err := s.Store.Pool.QueryRow(ctx, `select count(*) filter (where e.kind = 'mql'), count(*) filter (where e.kind = 'captured')
		from lead_events e join leads l on l.id = e.lead_id
		where l.campaign_id = $1 and e.occurred_at >= $2 and e.occurred_at < $3`, id, *st.LiveAt, weekEnd).Scan(&mqls, &captured); err != nil {
		t.Fatal(err)
	}
	if mqls != 3 || captured != 5 {
		t.Fatalf("lead_events say %d MQLs and %d captured in week 1, want 3 and 5", mqls, captured)
	}
	for _, want := range []string{"MQL volume 3 is below the commitment of 5", "MQLs:               3 of 5 committed (5 leads captured)"} {
		if !strings.Contains(sf.Text, want) {
			t.Errorf("shortfall lacks %q:\n%s", want, sf.Text)
		}
	}
	dg := waitMail(t, s, "max.becker@example.com", "campaign-digest", 5*time.Second)
	for _, want := range []string{
		"Acceptance:         67% (2 of 3 decided leads)", // won and accepted; declined only declined
		"Declines by reason: Bad fit 1",
		"Conversion:         33% (1 of 3 MQLs)",
		"Time to first contact: median",
		"Best source:        webinar — 1 of 2 converted",
		"Worst source:       ads — 0 of 1 converted",
		"Best segment:       DE — 1 of 2 converted",
		"Marketing commitments missed this week",
	} {
		if !strings.Contains(dg.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, dg.Text)
		}
	}
	for _, who := range []string{"mo.fischer@example.com", "mia.laurent@example.com", "sam.okafor@example.com", "ana.schmidt@example.com"} {
		waitMail(t, s, who, "campaign-digest", 5*time.Second)
	}
	var breaches int
	s.Store.Pool.QueryRow(ctx, `select count(*) from campaign_events where campaign_id = $1 and kind = 'marketing-breach'`, id).Scan(&breaches) //nolint:errcheck
	if breaches != 1 {
		t.Errorf("%d marketing-side breaches recorded, want 1", breaches)
	}
	if out, err := starter("campaign", "status", id); err != nil || !strings.Contains(out, "week 1:") || !strings.Contains(out, "live since") {
		t.Errorf("status while live: %v\n%s", err, out)
	}

	// The end date: retrospective to both teams, then closed.
	retro := waitMail(t, s, "sam.okafor@example.com", "campaign-retro", 20*time.Second)
	if !strings.Contains(retro.Text, "week 1: 3 MQLs of 5 — missed: MQL volume 3 is below the commitment of 5") ||
		!strings.Contains(retro.Text, "Conversion:         33% (1 of 3 MQLs)") {
		t.Errorf("retrospective:\n%s", retro.Text)
	}
	waitCampaign(t, s, id, "closed", 10*time.Second)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var final workflows.CampaignState
	if err := s.Temporal.GetWorkflow(wctx, workflows.CampaignWorkflowID(id), "").Get(wctx, &final); err != nil {
		t.Fatalf("campaign workflow did not complete: %v", err)
	}
	if final.Phase != workflows.PhaseClosed || final.Week != 1 || final.Round != 2 || len(final.Comments) != 1 {
		t.Errorf("final state %+v", final)
	}
	// A late lead follows the late-lead policy: refused, with the reason.
	if code, res := submit(t, s, `{"campaign":"launch-e2e","email":"late@example.org","company":"Late","score":90}`); code != 400 ||
		!strings.Contains(strings.ToLower(asString(res)), "refuses late leads") {
		t.Errorf("late lead: %d %v", code, res)
	}
	out, err := starter("campaign", "status", id)
	if err != nil || !strings.Contains(out, "closed") || !strings.Contains(out, "retrospective by system") || !strings.Contains(out, "changes-requested by reviewer:max-manager") {
		t.Errorf("status after the end: %v\n%s", err, out)
	}
	// The other late-lead policy: webinar-q3 nurtures its late leads.
	if err := s.Store.SetCampaignStatus(ctx, "webinar-q3", "ended", time.Now()); err != nil {
		t.Fatal(err)
	}
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"late@example.org","company":"Late","score":90}`)
	if code != 202 {
		t.Fatalf("a late lead of a nurturing campaign: %d %v", code, res)
	}
	waitState(t, s, res["id"].(string), "Nurturing", 5*time.Second)
	saveHistory(t, s.Temporal, workflows.CampaignWorkflowID(id), "campaign-review-changes-revise-live-digest-end-date-retro")
}

func asString(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

func outboxTo(t *testing.T, s *Stack, to string) []outboxMsg {
	t.Helper()
	msgs, err := s.Store.Outbox(context.Background(), to, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]outboxMsg, len(msgs))
	for i, m := range msgs {
		out[i] = outboxMsg{Kind: m.Kind, To: m.To, Subject: m.Subject, Text: m.Text, SentAt: m.SentAt}
		for _, l := range m.Links {
			out[i].Links = append(out[i].Links, struct{ Label, URL string }{l.Label, l.URL})
		}
	}
	return out
}

func waitCampaign(t *testing.T, s *Stack, id, status string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := s.Store.CampaignSpec(context.Background(), id)
		if err == nil && st.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s not %s within %s (it is %s, %v)", id, status, within, st.Status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
