// Package e2e drives the whole slice over HTTP: a real Temporal dev server,
// a real PostgreSQL database, the worker and the gateway in-process exactly as
// their mains wire them, and the local outbox.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/internal/workerapp"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Stack is a running Baton: gateway URL, store and Temporal client.
type Stack struct {
	URL      string
	Store    *store.Store
	Temporal client.Client
	Config   config.Config
	Source   store.SourceCredentials // the "e2e" intake source every API caller uses
	Slack    *web.SlackApp           // set when the test set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET
}

const window = 3 * time.Second

func startStack(t *testing.T) *Stack { return startStackOpts(t, true) }

// startStackOpts starts everything; with inProcessWorker false the caller
// runs the worker itself (as a process it can kill).
func startStackOpts(t *testing.T, inProcessWorker bool) *Stack {
	t.Helper()
	ctx := context.Background()
	addr := testenv.Temporal(t)
	dbURL := testenv.Database(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("BATON_SIGNING_KEY", strings.Repeat("e2e-secret-", 4))
	t.Setenv("BATON_TASK_QUEUE", "baton-e2e")
	if os.Getenv("BATON_ESCALATION_BATCH_WINDOW") == "" {
		// Escalations to one manager within the window are batched
		// (docs/email.md); the stack's window is as short as its SLAs, so
		// a batch arrives within the tests' waits. A test may set its own.
		t.Setenv("BATON_ESCALATION_BATCH_WINDOW", window.String())
	}
	if os.Getenv("SENDGRID_API_KEY") == "" { // the SendGrid tests set a key: no outbox then
		t.Setenv("BATON_DEV_OUTBOX", "true")
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	cl, err := tclient.Dial(cfg, tclient.QuietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)

	signer, _ := token.NewSigner([]byte(cfg.SigningKey))
	srv := &web.Server{Store: st, Temporal: cl, Signer: signer, Outbox: true, Log: tclient.QuietLogger(),
		Intake: &intake.Service{Temporal: cl, Store: st, TaskQueue: cfg.TaskQueue, AckStart: cfg.IntakeAck == "start"}} // as gateway/main.go
	srv.Slack = workerapp.SlackApp(cfg)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	cfg.PublicURL = hs.URL // links in mail point at this gateway
	srv.PublicURL = hs.URL // and sign-in links too

	if inProcessWorker {
		w, err := workerapp.New(cfg, cl, st)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}

	// The sample directory and a campaign with a window of seconds.
	root, _ := testenv.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := domain.ParseDirectory(data)
	if err != nil {
		t.Fatalf("examples/team.yaml: %v", err)
	}
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(root, "examples", "policies.yaml"))
	pols, err := domain.ParsePolicies(data)
	if err != nil {
		t.Fatalf("examples/policies.yaml: %v", err)
	}
	if _, err := st.ImportPolicies(ctx, pols, false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	camp, err := domain.ParseCampaign(data)
	if err != nil {
		t.Fatalf("examples/campaign.yaml: %v", err)
	}
	camp.AcceptWithin = domain.Duration(window)
	camp.SLAPolicy = "" // the default policy: the window around the clock
	if err := st.UpsertCampaign(ctx, camp, "live", cfg.DefaultAcceptWindow); err != nil {
		t.Fatal(err)
	}
	creds, err := st.AddSource(ctx, "e2e", 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return &Stack{URL: hs.URL, Store: st, Temporal: cl, Config: cfg, Source: creds, Slack: srv.Slack}
}

// api calls the gateway's API as the stack's intake source (Bearer key).
func api(t *testing.T, s *Stack, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.Source.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func do(t *testing.T, c *http.Client, method, u, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type outboxMsg struct {
	Kind    string `json:"kind"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	Links   []struct {
		Label, URL string
	} `json:"links"`
	SentAt time.Time `json:"sent_at"`
}

// waitMail polls the outbox API until a message of kind reaches to.
func waitMail(t *testing.T, s *Stack, to, kind string, within time.Duration) outboxMsg {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, body := do(t, http.DefaultClient, "GET", s.URL+"/api/v1/outbox?to="+url.QueryEscape(to), "", "")
		var msgs []outboxMsg
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("outbox: %v: %s", err, body)
		}
		for _, m := range msgs {
			if m.Kind == kind {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s mail to %s within %s; outbox has %+v", kind, to, within, msgs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func submit(t *testing.T, s *Stack, body string) (int, map[string]any) {
	t.Helper()
	resp, b := api(t, s, "POST", "/api/v1/leads", body)
	var out map[string]any
	json.Unmarshal([]byte(b), &out) //nolint:errcheck
	return resp.StatusCode, out
}

func getLead(t *testing.T, s *Stack, id string) store.LeadView {
	t.Helper()
	resp, b := api(t, s, "GET", "/api/v1/leads/"+id, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET lead %s: %d %s", id, resp.StatusCode, b)
	}
	var v store.LeadView
	if err := json.Unmarshal([]byte(b), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// click opens a link like a rep's browser: GET the confirm page, then POST
// the form with the cookie it set. It returns the final status and page.
func click(t *testing.T, link string) (int, string) { return clickWith(t, link, nil) }

// clickWith also fills in the confirm page's form fields.
func clickWith(t *testing.T, link string, form url.Values) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, page := do(t, c, "GET", link, "", "")
	if resp.StatusCode != 200 {
		return resp.StatusCode, page
	}
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("confirm page has no form: %s", page)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	resp, page = do(t, c, "POST", link, "application/x-www-form-urlencoded", form.Encode())
	return resp.StatusCode, page
}

func TestLeadHandedToRepEndToEnd(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()

	// Malformed input: 400 with field-level errors, nothing started.
	code, prob := submit(t, s, `{"campaign":"Nope!","email":"not-an-email","score":-3}`)
	if code != 400 || len(prob["errors"].([]any)) != 3 {
		t.Fatalf("bad lead: %d %v", code, prob)
	}
	code, prob = submit(t, s, `{"campaign":"webinar-q3","email":"x@y.example","colour":"red"}`)
	if code != 400 || !strings.Contains(fmt.Sprint(prob["errors"]), "colour") {
		t.Fatalf("unknown field: %d %v", code, prob)
	}
	code, prob = submit(t, s, `{"campaign":"no-such-campaign","email":"x@y.example"}`)
	if code != 400 || !strings.Contains(fmt.Sprint(prob["errors"]), "does not exist") {
		t.Fatalf("unknown campaign: %d %v", code, prob)
	}

	// Lead 1: offered to the first rep in rotation, who accepts through the link.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"Dana.Lee@Acme.example","name":"Dana Lee","company":"Acme","country":"de","score":70}`)
	if code != 202 || res["new"] != true {
		t.Fatalf("submit: %d %v", code, res)
	}
	lead1 := res["id"].(string)
	offer := waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	if !strings.Contains(offer.Subject, "Dana Lee, Acme (Webinar Q3)") || len(offer.Links) != 2 || offer.Links[0].Label != "Accept lead" {
		t.Fatalf("offer: %+v", offer)
	}
	link := offer.Links[0].URL

	// A forged or tampered link changes nothing.
	tampered := link[:len(link)-3] + "AAA"
	if code, page := click(t, tampered); code != 403 || !strings.Contains(page, "cannot be used") {
		t.Fatalf("tampered link: %d %s", code, page)
	}
	// A POST without the confirm page's cookie is refused.
	if resp, page := do(t, http.DefaultClient, "POST", link, "application/x-www-form-urlencoded", "csrf=abc"); resp.StatusCode != 403 {
		t.Fatalf("POST without cookie: %d %s", resp.StatusCode, page)
	}
	if v := getLead(t, s, lead1); v.State != "Offered" {
		t.Fatalf("after forged clicks the lead is %s", v.State)
	}
	if code, page := click(t, link); code != 200 || !strings.Contains(page, "Lead accepted") {
		t.Fatalf("accept: %d %s", code, page)
	}
	v := getLead(t, s, lead1)
	if v.State != "Accepted" || v.Owner == nil || v.Owner.ID != "ana" || v.AcceptedAt == nil {
		t.Fatalf("lead after accept: %+v", v)
	}
	kinds := []string{}
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "captured,mql,offered,accepted" {
		t.Fatalf("events: %v", kinds)
	}
	var pgState string
	if err := s.Store.Pool.QueryRow(ctx, `select state from leads where id = $1`, lead1).Scan(&pgState); err != nil || pgState != "Accepted" {
		t.Fatalf("postgres state %q, %v", pgState, err)
	}
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.LeadWorkflowID(lead1), "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.WorkflowExecutionInfo.Status; st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow status %v, want running until the lead's outcome", st)
	}
	// Clicking again is refused (a link works once), explained, and changes nothing.
	if code, page := click(t, link); code != 403 || !strings.Contains(page, "already used") || !strings.Contains(page, "held by you") {
		t.Fatalf("second click: %d %s", code, page)
	}
	// The same person again is the same lead, with the touch recorded (the
	// default answer comes at the durable start: the workflow records the
	// touch a moment later).
	code, res = submit(t, s, `{"campaign":"webinar-q3","email":"dana.lee@acme.example"}`)
	if code != 202 || res["id"] != lead1 || res["duplicate"] != true {
		t.Fatalf("duplicate submit: %d %v", code, res)
	}
	waitLead(t, s, lead1, func(v leadState) bool { return v.Touches >= 2 }, 10*time.Second)
	if v := getLead(t, s, lead1); v.Touches != 2 || v.Events[len(v.Events)-1].Kind != "touch" {
		t.Fatalf("duplicate touch not recorded: %+v", v)
	}

	// Lead 2: nobody accepts. Reassigned after one window, escalated after two.
	start := time.Now()
	code, res = submit(t, s, `{"campaign":"webinar-q3","email":"erin@globex.example","name":"Erin Kim","company":"Globex","score":55}`)
	if code != 202 {
		t.Fatalf("submit 2: %d %v", code, res)
	}
	lead2 := res["id"].(string)
	first := waitMail(t, s, "bea.ortiz@example.com", "offer", 10*time.Second)
	waitMail(t, s, "bea.ortiz@example.com", "reassigned", window+10*time.Second)
	second := waitMail(t, s, "cy.walsh@example.com", "offer", 5*time.Second)
	esc := waitMail(t, s, "max.becker@example.com", "escalation", window+10*time.Second)
	v = getLead(t, s, lead2)
	if v.State != "Escalated" || v.Owner.ID != "cy" || v.Attempt != 2 || v.EscalatedAt == nil {
		t.Fatalf("lead 2: %+v", v)
	}
	// Deadlines are exact to the window: the second offer starts at the first
	// deadline, escalation happens at the second.
	if got := v.EscalatedAt.Sub(*v.OfferedAt); got < window || got > window+2*time.Second {
		t.Fatalf("escalated %s after the second offer, want %s", got, window)
	}
	if got := v.EscalatedAt.Sub(start); got < 2*window {
		t.Fatalf("escalated after %s, before two windows passed", got)
	}
	if !strings.Contains(esc.Subject, "Cy Walsh missed the acceptance SLA") {
		t.Fatalf("escalation: %+v", esc)
	}
	// The first rep's late click is explained: who holds it, since when.
	if code, page := click(t, first.Links[0].URL); code != 409 || !strings.Contains(page, "reassigned to Cy Walsh") {
		t.Fatalf("late click: %d %s", code, page)
	}
	// The manager's link opens the lead page; without the token nothing shows.
	if resp, page := do(t, http.DefaultClient, "GET", esc.Links[0].URL, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "Escalated") {
		t.Fatalf("manager's lead page: %d %s", resp.StatusCode, page)
	}
	// Without the token (and no session) it asks to sign in, and shows nothing of the lead.
	if resp, page := do(t, http.DefaultClient, "GET", s.URL+"/leads/"+lead2, "", ""); resp.Request.URL.Path != "/signin" || strings.Contains(page, "Erin") {
		t.Fatalf("lead page without token: %d %s %s", resp.StatusCode, resp.Request.URL, page)
	}
	// The holder may still accept after escalation.
	if code, page := click(t, second.Links[0].URL); code != 200 {
		t.Fatalf("accept after escalation: %d %s", code, page)
	}
	if v := getLead(t, s, lead2); v.State != "Accepted" || v.Owner.ID != "cy" {
		t.Fatalf("lead 2 after accept: %+v", v)
	}
	// The outcome closes the lead and ends its workflow.
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.LeadWorkflowID(lead2),
		UpdateName: workflows.UpdateClose, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.CloseInput{RepID: "cy", Outcome: workflows.OutcomeConverted, Reference: "OPP-7"}}})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	if err := s.Temporal.GetWorkflow(ctx, workflows.LeadWorkflowID(lead2), "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow after the outcome: %v", err)
	}
	if v := getLead(t, s, lead2); v.State != "Converted" || v.Reason != "OPP-7" || v.ClosedAt == nil {
		t.Fatalf("lead 2 after convert: %+v", v)
	}
	saveHistory(t, s.Temporal, workflows.LeadWorkflowID(lead2), "lead-default-policy-escalated-accepted-converted")
}
