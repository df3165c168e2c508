package e2e

// The security suite: the outside probe of issue 15 kept as tests. One stack
// serves every case; each case is a named subtest that asserts the HTTP
// answer and, through guard (security_snapshot_test.go), that PostgreSQL and
// Temporal changed only where the case allows. Cases named Finding1_ ..
// Finding5_ are the probe's findings: they fail until the fix is merged.

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
)

// What a case may change, by what it does.
var (
	// secNothing: an attack that is refused changes nothing at all.
	secNothing []string
	// secNewLead: a lead accepted by intake and offered to a rep.
	secNewLead = []string{"table:leads", "table:lead_events", "table:assignments", "table:team_rotation", "table:rep_rotation",
		"table:email_ledger", "table:outbox", "table:lead_engagement", "table:intake_idempotency", "table:intake_replays", "wf:lead-*"}
	// secAction: a one-click action done (its link recorded as used).
	secAction = append([]string{"table:used_tokens"}, secNewLead...)
	// secSession: a sign-in link used, a session opened or closed.
	secSession = []string{"table:login_links", "table:sessions"}
	// secSigninMail: a sign-in link mailed.
	secSigninMail = []string{"table:login_links", "table:email_ledger", "table:outbox"}
)

// secEnv is the shared stack and what the setup made on it.
type secEnv struct {
	s      *Stack
	signer *token.Signer
	// Two webinar leads offered to two different reps (A and B), and a lead
	// of the DACH campaign (another team, another marketer).
	leadA, leadB, leadDACH string
	repA, repB             domain.PersonRef
	offerA                 secMail // the offer to rep A: accept and decline links
	browsers               map[string]*http.Client
}

const secDACHTeam = `
  - id: dach
    name: DACH
    manager:
      id: dora-manager
      name: Dora Huber
      email: dora.huber@example.com
      time_zone: Europe/Vienna
    reps:
      - id: dieter
        name: Dieter Frank
        email: dieter.frank@example.com
        time_zone: Europe/Berlin
`

func newSecEnv(t *testing.T, s *Stack) *secEnv {
	t.Helper()
	ctx := context.Background()
	e := &secEnv{s: s, browsers: map[string]*http.Client{}}
	var err error
	if e.signer, err = token.NewSigner([]byte(s.Config.SigningKey)); err != nil {
		t.Fatal(err)
	}
	root, _ := testenv.RepoRoot()
	// A second team with its own manager, and a second campaign with its own
	// marketer, for the IDOR cases.
	data, err := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := domain.ParseDirectory(append(data, secDACHTeam...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	for _, c := range []struct{ id, name, owner, team string }{
		{"webinar-q3", "Webinar Q3", "mo.fischer@example.com", "emea"},
		{"ebook-dach", "Ebook DACH", "zoe.weber@example.com", "dach"},
	} {
		camp, err := domain.ParseCampaign(data)
		if err != nil {
			t.Fatal(err)
		}
		camp.ID, camp.Name, camp.Owner.Email, camp.Owner.Name, camp.Team = c.id, c.name, c.owner, c.owner, c.team
		// An hour to accept: no clock fires while the suite runs, so any
		// change in the record is the case's own.
		camp.AcceptWithin, camp.SLAPolicy = domain.Duration(time.Hour), ""
		if err := s.Store.UpsertCampaign(ctx, camp, "live", s.Config.DefaultAcceptWindow); err != nil {
			t.Fatal(err)
		}
	}
	e.leadA = e.newLead(t, `{"campaign":"webinar-q3","email":"alpha@initech.example","name":"Alpha Lead","company":"Initech","score":80}`)
	e.leadB = e.newLead(t, `{"campaign":"webinar-q3","email":"bravo@globex.example","name":"Bravo Secret","company":"Globex Secret","score":80}`)
	e.leadDACH = e.newLead(t, `{"campaign":"ebook-dach","email":"delta@dach.example","name":"Delta Dach","company":"Dach GmbH","score":80}`)
	e.repA, e.repB = e.owner(t, e.leadA), e.owner(t, e.leadB)
	if e.repA.ID == e.repB.ID {
		t.Fatalf("setup: both leads went to %s", e.repA.ID)
	}
	e.offerA = secLeadMail(t, s, e.leadA, "offer", 10*time.Second)
	secLeadMail(t, s, e.leadB, "offer", 10*time.Second)
	return e
}

// newLead submits a lead and waits until it is offered.
func (e *secEnv) newLead(t *testing.T, body string) string {
	t.Helper()
	r := secSubmit(t, e.s, body)
	if r.Code != 202 {
		t.Fatalf("submit %s: %d %s", body, r.Code, r.Body)
	}
	var res struct{ ID string }
	if err := jsonUnmarshal(r.Body, &res); err != nil || res.ID == "" {
		t.Fatalf("submit: %s", r.Body)
	}
	waitLead(t, e.s, res.ID, func(v leadState) bool { return v.State == string(domain.StateOffered) }, 15*time.Second)
	secLeadMail(t, e.s, res.ID, "offer", 10*time.Second)
	return res.ID
}

func (e *secEnv) owner(t *testing.T, lead string) domain.PersonRef {
	t.Helper()
	v, err := e.s.Store.Lead(context.Background(), lead)
	if err != nil || v.Owner == nil {
		t.Fatalf("lead %s: %v %+v", lead, err, v)
	}
	p, err := e.s.Store.Person(context.Background(), v.Owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// browser is a signed-in browser for an address, made once.
func (e *secEnv) browser(t *testing.T, email string) *http.Client {
	t.Helper()
	if c := e.browsers[email]; c != nil {
		return c
	}
	c := secSignIn(t, e.s, email)
	e.browsers[email] = c
	return c
}

// mint signs a link as the worker would (the gateway's key).
func (e *secEnv) mint(c token.Claims) string {
	if c.Expires == 0 {
		c.Expires = time.Now().Add(time.Hour).Unix()
	}
	return e.s.URL + "/a/" + e.signer.Sign(c)
}

// confirm opens a link's confirm page in a fresh browser and posts its form
// with extra fields; it returns the POST's answer.
func (e *secEnv) confirm(t *testing.T, link string, extra url.Values) secResp {
	t.Helper()
	c := newJarClient()
	page := secSend(t, secReq{Method: "GET", URL: link, Client: c})
	if page.Code != 200 {
		return page
	}
	u, _ := url.Parse(link)
	form, ok := secForm(page.Body, u.EscapedPath())
	if !ok {
		if form, ok = secForm(page.Body, ""); !ok {
			t.Fatalf("confirm page has no form: %s", page.Body)
		}
	}
	for k, v := range extra {
		form[k] = v
	}
	return secSend(t, secReq{Method: "POST", URL: link, Body: form.Encode(), Client: c,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": e.s.URL}})
}

func TestSecurity(t *testing.T) {
	start := time.Now()
	s := startStack(t)
	e := newSecEnv(t, s)
	t.Logf("stack and setup ready in %s", time.Since(start).Round(time.Millisecond))
	for _, group := range []struct {
		name string
		run  func(*testing.T, *secEnv)
	}{
		{"IntakeAuth", secIntakeAuth},
		{"Limits", secLimits},
		{"HostileJSON", secHostileJSON},
		{"IntakeText", secIntakeText},
		{"HostileText", secHostileText},
		{"LinkForgery", secLinkForgery},
		{"LinkReuse", secLinkReuse},
		{"CSRF", secCSRF},
		{"SignIn", secSignInCases},
		{"Logout", secLogout},
		{"IDOR", secIDOR},
		{"Webhook", secWebhook},
		{"Redirects", secRedirects},
		{"Headers", secHeaders},
		{"Outbox", secOutbox},
		{"Metrics", secMetrics},
		{"Startup", secStartup},
	} {
		t.Run(group.name, func(t *testing.T) { group.run(t, e) })
	}
	t.Logf("security suite ran in %s (%d snapshots, %s)", time.Since(start).Round(time.Millisecond), snapshotCount, snapshotTime.Round(time.Millisecond))
}

// expect checks an answer's status and that its body holds each text.
func expect(t *testing.T, r secResp, code int, texts ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("answer %d, want %d: %s", r.Code, code, clip(r.Body))
		return
	}
	for _, x := range texts {
		if !strings.Contains(r.Body, x) {
			t.Errorf("answer %d lacks %q: %s", r.Code, x, clip(r.Body))
		}
	}
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func expectf(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}
