package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/workflows"
)

// Handler tests: the gateway's pages over a real PostgreSQL database, with
// leads recorded the way the workflow records them. No Temporal is needed
// (and none is given, which /readyz must report).

type fixture struct {
	srv   *Server
	url   string
	st    *store.Store
	leads map[string]string // name -> id
	dbURL string
}

func seed(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dbURL := testenv.Database(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	root, _ := testenv.RepoRoot()
	data, _ := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	dir, err := domain.ParseDirectory(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	camp, err := domain.ParseCampaign(data)
	if err != nil {
		t.Fatal(err)
	}
	camp.SLAPolicy = ""
	if err := st.UpsertCampaign(ctx, camp, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Commitments as the campaign engine may write them into the spec.
	if _, err := st.Pool.Exec(ctx, `update campaigns set spec = spec || '{"Commitments":{"MQLsPerWeek":4,"MinAcceptanceRate":0.75}}'`); err != nil {
		t.Fatal(err)
	}
	signer, _ := token.NewSigner([]byte(strings.Repeat("handler-test-key", 3)))
	f := &fixture{st: st, leads: map[string]string{}, dbURL: dbURL}
	now := time.Now().UTC()
	rec := func(name, email string, owner domain.PersonRef, state domain.LeadState, evs ...domain.Event) {
		id := domain.LeadID(email)
		f.leads[name] = id
		l := domain.LeadSnapshot{ID: id, WorkflowID: "lead/" + id, Email: email, Name: name, Company: "Initech", CampaignID: "webinar-q3",
			Score: 70, State: state, Owner: owner, Attempt: 1, OfferedAt: now.Add(-time.Hour), AcceptBy: now.Add(90 * time.Minute), Touches: 1}
		for i, ev := range evs {
			l.Version = int64(i + 1)
			ev.Key, ev.Seq = id+":"+ev.Key, l.Version
			if err := st.Record(ctx, l, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	ana := domain.PersonRef{ID: "ana", Name: "Ana Schmidt", Email: "ana.schmidt@example.com"}
	bea := domain.PersonRef{ID: "bea", Name: "Bea Ortiz", Email: "bea.ortiz@example.com"}
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	rec("Priya Nair", "priya@initech.example", ana, domain.StateOffered,
		domain.Event{Key: "captured", Kind: "captured", Actor: "source:api", At: at(2 * time.Hour)},
		domain.Event{Key: "mql", Kind: "mql", Actor: "system", Reason: "score 70 meets 50", At: at(2 * time.Hour)},
		domain.Event{Key: "offered:1", Kind: "offered", Actor: "system", At: at(time.Hour)})
	rec("Olu Bello", "olu@globex.example", bea, domain.StateAccepted,
		domain.Event{Key: "captured", Kind: "captured", Actor: "source:api", At: at(30 * time.Hour)},
		domain.Event{Key: "mql", Kind: "mql", Actor: "system", At: at(30 * time.Hour)},
		domain.Event{Key: "offered:1", Kind: "offered", Actor: "system", At: at(30 * time.Hour)},
		domain.Event{Key: "lapsed:1", Kind: "lapsed", Actor: "system", Reason: "acceptance window closed without an answer", Data: map[string]string{"rep": "cy"}, At: at(29 * time.Hour)},
		domain.Event{Key: "escalated", Kind: "escalated", Actor: "system", Reason: "Cy Walsh missed the accept deadline", At: at(29 * time.Hour)},
		domain.Event{Key: "rejected:2", Kind: "rejected", Actor: "rep:ana", Reason: "not-my-territory", Data: map[string]string{"note": "US account"}, At: at(28 * time.Hour)},
		domain.Event{Key: "accepted:3", Kind: "accepted", Actor: "rep:bea", At: at(27 * time.Hour)})

	f.srv = &Server{Store: st, Signer: signer, Outbox: true, Log: discardLog(), Metrics: metrics.New(),
		MailFrom: "Baton <baton@example.com>", SessionTTL: time.Hour}
	f.srv.Metrics.WatchStore(st)
	hs := httptest.NewServer(f.srv.Handler())
	t.Cleanup(hs.Close)
	f.url, f.srv.PublicURL = hs.URL, hs.URL
	return f
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn asks for a link, reads it from the outbox and completes the sign-in
// in a fresh cookie jar, as a browser would.
func (f *fixture) signIn(t *testing.T, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, page := post(t, c, f.url+"/signin", url.Values{"email": {email}}); resp.StatusCode != 200 || !strings.Contains(page, "Check your email") {
		t.Fatalf("ask for a link: %d %s", resp.StatusCode, page)
	}
	f.srv.signins.Wait() // the mail goes out after the answer
	msgs, err := f.st.Outbox(context.Background(), email, 1)
	if err != nil || len(msgs) != 1 || msgs[0].Kind != "signin" || len(msgs[0].Links) != 1 {
		t.Fatalf("no sign-in mail to %s: %+v %v", email, msgs, err)
	}
	link := msgs[0].Links[0].URL
	resp, page := get(t, c, link)
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign-in link page: %d %s", resp.StatusCode, page)
	}
	if resp, page = post(t, c, link, url.Values{"csrf": {m[1]}}); resp.StatusCode != 200 {
		t.Fatalf("sign in: %d %s", resp.StatusCode, page)
	}
	// The link worked once.
	anon := &http.Client{}
	if resp, page := get(t, anon, link); resp.StatusCode != 403 || !strings.Contains(page, "already used") {
		t.Fatalf("sign-in link reused: %d %s", resp.StatusCode, page)
	}
	return c
}

func TestSignInByMagicLink(t *testing.T) {
	f := seed(t)
	// Unknown address: the same answer, no mail.
	c := &http.Client{}
	if resp, page := post(t, c, f.url+"/signin", url.Values{"email": {"stranger@evil.example"}}); resp.StatusCode != 200 || !strings.Contains(page, "Check your email") {
		t.Fatalf("unknown address: %d %s", resp.StatusCode, page)
	}
	f.srv.signins.Wait()
	if msgs, _ := f.st.Outbox(context.Background(), "stranger@evil.example", 5); len(msgs) != 0 {
		t.Fatalf("mail sent to a stranger: %+v", msgs)
	}
	if resp, page := post(t, c, f.url+"/signin", url.Values{"email": {"not an address"}}); resp.StatusCode != 400 || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("bad address: %d %s", resp.StatusCode, page)
	}
	// Without a session, pages send you to sign in.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, _ := get(t, noRedirect, f.url+"/inbox"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin?next=%2Finbox" {
		t.Fatalf("inbox without session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	ana := f.signIn(t, "ana.schmidt@example.com")
	u, _ := url.Parse(f.url)
	var sess *http.Cookie
	for _, ck := range ana.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	// The cookie's attributes, from the raw header of a fresh sign-in.
	resp, page := get(t, ana, f.url+"/inbox")
	if resp.StatusCode != 200 || !strings.Contains(page, "Priya Nair") || strings.Contains(page, "Olu Bello") {
		t.Fatalf("ana's inbox: %d %s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `data-deadline=`) || !strings.Contains(page, "in 1h 30m") && !strings.Contains(page, "in 1h 29m") {
		t.Fatalf("no countdown: %s", page)
	}
	if !strings.Contains(page, ">Accept</a>") || !strings.Contains(page, ">Decline</a>") {
		t.Fatalf("no actions: %s", page)
	}
	if !strings.Contains(page, `id="record"`) {
		t.Fatalf("no SLA record: %s", page)
	}
	// Sign out: the same cookie is worth nothing afterwards.
	if resp, _ := post(t, ana, f.url+"/signout", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}}); resp.StatusCode != 200 {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: sess.Value}})
	stolen := &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
	if resp, _ := get(t, stolen, f.url+"/inbox"); resp.StatusCode != 303 {
		t.Fatalf("revoked session still works: %d", resp.StatusCode)
	}
}

func TestSessionCookieAttributesAndExpiry(t *testing.T) {
	f := seed(t)
	f.srv.PublicURL = "https://baton.example" // links say https: the cookie is Secure
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post(t, c, f.url+"/signin", url.Values{"email": {"sam.okafor@example.com"}})
	f.srv.signins.Wait()
	msgs, _ := f.st.Outbox(context.Background(), "sam.okafor@example.com", 1)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Links[0].URL, "https://baton.example/signin/") {
		t.Fatalf("link: %+v", msgs)
	}
	path := strings.TrimPrefix(msgs[0].Links[0].URL, "https://baton.example")
	// Over plain http the Secure CSRF cookie would not come back: send it by hand.
	resp, page := get(t, c, f.url+path)
	var csrf string
	for _, ck := range resp.Cookies() {
		if ck.Name == signinCSRF {
			csrf = ck.Value
		}
	}
	req, _ := http.NewRequest("POST", f.url+path, strings.NewReader(url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: signinCSRF, Value: csrf})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	set := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/scoreboard" {
		t.Fatalf("leader sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, want := range []string{sessionCookie + "=", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=3600"} {
		if !strings.Contains(set, want) {
			t.Fatalf("session cookie %q lacks %s", set, want)
		}
	}
	// A session past its expiry is refused.
	var sid string
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sid = ck.Value
		}
	}
	if _, err := f.st.Session(context.Background(), token.ID(sid), time.Now()); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	if _, err := f.st.Session(context.Background(), token.ID(sid), time.Now().Add(61*time.Minute)); err == nil {
		t.Fatal("a session outlived BATON_SESSION_TTL")
	}
}

func TestRolesSeeOnlyTheirLeads(t *testing.T) {
	f := seed(t)
	priya, olu := f.leads["Priya Nair"], f.leads["Olu Bello"]
	ana := f.signIn(t, "ana.schmidt@example.com")
	// Ana's own lead: the timeline with actor names and reasons.
	resp, page := get(t, ana, f.url+"/leads/"+priya)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="timeline"`) || !strings.Contains(page, "score 70 meets 50") || !strings.Contains(page, "Europe/Berlin") {
		t.Fatalf("own timeline: %d %s", resp.StatusCode, page)
	}
	// Bea's lead: exactly the answer for a lead that does not exist.
	resp, other := get(t, ana, f.url+"/leads/"+olu)
	_, missing := get(t, ana, f.url+"/leads/"+domain.LeadID("nobody@nowhere.example"))
	if resp.StatusCode != 404 || other != missing || strings.Contains(other, "Olu") || strings.Contains(other, "Globex") {
		t.Fatalf("another rep's lead: %d\n%s\nvs missing\n%s", resp.StatusCode, other, missing)
	}
	// A rep sees no campaign page and only their own row on the scoreboard.
	if resp, _ := get(t, ana, f.url+"/campaigns/webinar-q3"); resp.StatusCode != 404 {
		t.Fatalf("rep on campaign page: %d", resp.StatusCode)
	}
	if _, page := get(t, ana, f.url+"/scoreboard"); !strings.Contains(page, "Ana Schmidt") || strings.Contains(page, "Bea Ortiz") {
		t.Fatalf("rep's scoreboard shows others: %s", page)
	}

	// The manager sees the team's leads, both of them, with the rejection note.
	max := f.signIn(t, "max.becker@example.com")
	if _, page := get(t, max, f.url+"/inbox"); !strings.Contains(page, "Priya Nair") || !strings.Contains(page, "Olu Bello") || !strings.Contains(page, "Take over") {
		t.Fatalf("manager's inbox: %s", page)
	}
	if resp, page := get(t, max, f.url+"/leads/"+olu); resp.StatusCode != 200 || !strings.Contains(page, "Not my territory — US account") || !strings.Contains(page, "Ana Schmidt (rep)") {
		t.Fatalf("manager's timeline: %d %s", resp.StatusCode, page)
	}

	// The campaign's marketer (not in the directory, owner of the campaign).
	mo := f.signIn(t, "mo.fischer@example.com")
	resp, page = get(t, mo, f.url+"/campaigns/webinar-q3")
	if resp.StatusCode != 200 {
		t.Fatalf("marketer's campaign: %d %s", resp.StatusCode, page)
	}
	for _, want := range []string{`<figure id="funnel"`, `<figure id="reasons"`, "Not my territory", "not judged: the campaign has not gone live", "75% committed", "US account"} {
		if !strings.Contains(page, want) {
			t.Fatalf("campaign page lacks %q:\n%s", want, page)
		}
	}
	if resp, _ := get(t, mo, f.url+"/inbox"); resp.StatusCode != 200 {
		t.Fatalf("marketer's inbox: %d", resp.StatusCode)
	}

	// The leader sees everything, with charts.
	sam := f.signIn(t, "sam.okafor@example.com")
	_, page = get(t, sam, f.url+"/scoreboard")
	for _, want := range []string{`<figure id="by-team"`, `<figure id="by-rep"`, `<figure id="by-campaign"`, `<figure id="over-time"`, `<figure id="by-marketer"`, "EMEA inbound", "Cy Walsh", "Bea Ortiz",
		"<td>Mo Fischer</td><td class=\"num\">1</td><td class=\"num\">2</td><td>100% (1 of 1 decided lead)</td>"} {
		if !strings.Contains(page, want) {
			t.Fatalf("scoreboard lacks %q:\n%s", want, page)
		}
	}
	// Cy let one offer lapse and met nothing: 0%; Bea accepted one: 100%.
	if !regexp.MustCompile(`Cy Walsh</td><td class="num">0%</td><td class="num">0</td><td class="num">1</td>`).MatchString(page) {
		t.Fatalf("Cy's row: %s", page)
	}
}

func TestInboxActionLinksAreSingleUseLinks(t *testing.T) {
	f := seed(t)
	ana := f.signIn(t, "ana.schmidt@example.com")
	_, page := get(t, ana, f.url+"/inbox")
	m := regexp.MustCompile(`href="(/a/[^"]+)">Decline</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no decline link: %s", page)
	}
	// The decline confirm page asks for the reason: a select of the domain's reasons and a note.
	resp, page := get(t, ana, f.url+strings.ReplaceAll(m[1], "&amp;", "&"))
	if resp.StatusCode != 200 || !strings.Contains(page, `<select id="reason" name="reason" required>`) || !strings.Contains(page, `<textarea id="note"`) {
		t.Fatalf("decline confirm: %d %s", resp.StatusCode, page)
	}
	for _, r := range domain.RejectReasons {
		if !strings.Contains(page, `<option value="`+r+`">`) {
			t.Fatalf("reason %s missing", r)
		}
	}
	if !strings.Contains(page, `<option value="" selected disabled>Choose...</option>`) || !strings.Contains(page, `>Not my territory</option>`) {
		t.Fatalf("decline reasons need a placeholder and readable labels: %s", page)
	}
	// A disqualify link (minted as the inbox does) asks for the disqualify reason.
	if _, page := get(t, ana, f.url+f.srv.link(token.Claims{Lead: f.leads["Olu Bello"], Actor: "bea", Action: "disqualify", Attempt: 1})); !strings.Contains(page, `<option value="no-budget">`) {
		t.Fatalf("disqualify confirm: %s", page)
	}
	// A link the lead has moved past explains itself on the GET, with ways on.
	c := token.Claims{Lead: f.leads["Priya Nair"], Actor: "ana", Action: "disqualify", Attempt: 1}
	if resp, page := get(t, ana, f.url+f.srv.link(c)); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "This lead is Offered now; there is nothing to log or close.") || !strings.Contains(page, ">Open the lead</a>") {
		t.Fatalf("stale disqualify: %d %s", resp.StatusCode, page)
	}
	if resp, page := get(t, ana, f.url+f.srv.link(token.Claims{Lead: f.leads["Olu Bello"], Actor: "ana", Action: "accept", Attempt: 1})); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "Bea Ortiz accepted this lead. It is Accepted now; nothing is left for you to do.") {
		t.Fatalf("old offer link for a lead taken: %d %s", resp.StatusCode, page)
	}
	// A used link answers 403 on the confirm page and on the POST.
	link := f.srv.link(token.Claims{Lead: f.leads["Priya Nair"], Actor: "ana", Action: "accept", Attempt: 1})
	used, err := f.srv.Signer.Verify(strings.TrimPrefix(link, "/a/"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hash := used.UseKey()
	if err := f.st.ClaimToken(context.Background(), hash, c.Lead, "ana", "accept"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UseToken(context.Background(), hash, "accept"); err != nil {
		t.Fatal(err)
	}
	if resp, page := get(t, ana, f.url+link); resp.StatusCode != 403 || !strings.Contains(page, "already used") {
		t.Fatalf("used link: %d %s", resp.StatusCode, page)
	}
}

func TestReadyzAndMetrics(t *testing.T) {
	f := seed(t)
	// No Temporal client: not ready, and the answer says which check failed.
	resp, body := get(t, &http.Client{}, f.url+"/readyz")
	if resp.StatusCode != 503 || !strings.Contains(body, `"postgres": "ok"`) || !strings.Contains(body, `"temporal": "error: no Temporal client"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	get(t, &http.Client{}, f.url+"/healthz")
	resp, body = get(t, &http.Client{}, f.url+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{`baton_leads{stage="Offered"} 1`, `baton_leads{stage="Accepted"} 1`, `baton_sla_breaches_total{kind="lapsed"} 1`,
		`baton_escalations_total 1`, `baton_http_requests_total{code="503",route="GET /readyz"} 1`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// lockedBuffer is a log sink the handler goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRequestLogNamesLeadAndWorkflow(t *testing.T) {
	f := seed(t)
	ana := f.signIn(t, "ana.schmidt@example.com")
	var buf lockedBuffer
	f.srv.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	id := f.leads["Priya Nair"]
	get(t, ana, f.url+"/leads/"+id)
	link := f.srv.link(token.Claims{Lead: id, Actor: "ana", Action: "accept", Attempt: 1})
	get(t, ana, f.url+link)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var timeline, action map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON log line: %s", l)
		}
		switch m["route"] {
		case "GET /leads/{id}":
			timeline = m
		case "GET /a/{token}":
			action = m
		}
	}
	wf := workflows.LeadWorkflowID(id)
	if timeline == nil || timeline["lead"] != id || timeline["workflow_id"] != wf || timeline["status"] != float64(200) {
		t.Fatalf("timeline request log: %v\n%s", timeline, buf.String())
	}
	if action == nil || action["lead"] != id || action["workflow_id"] != wf || action["action"] != "accept" || action["actor"] != "ana" {
		t.Fatalf("action request log: %v", action)
	}
	// The token itself never reaches the log.
	if strings.Contains(buf.String(), strings.TrimPrefix(link, "/a/")) {
		t.Fatal("a link token was logged")
	}
}

func TestSignInLinksAreRateLimitedAndKeepWhereYouWereGoing(t *testing.T) {
	f := seed(t)
	priya := f.leads["Priya Nair"]
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The sign-in form remembers the page that sent you there.
	resp, _ := get(t, c, f.url+"/leads/"+priya)
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/signin?next=%2Fleads%2F"+priya {
		t.Fatalf("redirect to sign in: %d %s", resp.StatusCode, loc)
	}
	if _, page := get(t, c, f.url+"/signin?next=%2Fleads%2F"+priya); !strings.Contains(page, `name="next" value="/leads/`+priya+`"`) {
		t.Fatalf("form lost next: %s", page)
	}
	// An off-site next is dropped.
	if _, page := get(t, c, f.url+"/signin?next=https%3A%2F%2Fevil.example%2F"); strings.Contains(page, "evil.example") {
		t.Fatalf("off-site next kept: %s", page)
	}
	for i := 0; i < loginLinksLimit; i++ {
		form := url.Values{"email": {"ana.schmidt@example.com"}}
		if i == 0 {
			form.Set("next", "/leads/"+priya)
		}
		if resp, page := post(t, c, f.url+"/signin", form); resp.StatusCode != 200 {
			t.Fatalf("link %d: %d %s", i+1, resp.StatusCode, page)
		}
	}
	if resp, page := post(t, c, f.url+"/signin", url.Values{"email": {"ana.schmidt@example.com"}}); resp.StatusCode != 429 || !strings.Contains(page, "Too many") {
		t.Fatalf("link %d: %d %s", loginLinksLimit+1, resp.StatusCode, page)
	}
	f.srv.signins.Wait()
	msgs, _ := f.st.Outbox(context.Background(), "ana.schmidt@example.com", 10)
	if len(msgs) != loginLinksLimit {
		t.Fatalf("%d sign-in mails, want %d", len(msgs), loginLinksLimit)
	}
	// The first link carries next: signing in with it lands on the lead.
	// (The mails go out after the answers, so not necessarily in order.)
	var first, second string
	for _, m := range msgs {
		if u := m.Links[0].URL; strings.Contains(u, "?next=") {
			first = u
		} else {
			second = u
		}
	}
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, CheckRedirect: c.CheckRedirect}
	_, page := get(t, b, first)
	m := csrfField.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `name="next" value="/leads/`+priya+`"`) {
		t.Fatalf("confirm page: %s", page)
	}
	resp, _ = post(t, b, first, url.Values{"csrf": {m[1]}, "next": {"/leads/" + priya}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/leads/"+priya {
		t.Fatalf("after sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without the confirm page's cookie, a POST is refused and the link stays unused.
	if resp, _ := post(t, &http.Client{}, second, url.Values{"csrf": {"guess"}}); resp.StatusCode != 403 {
		t.Fatalf("POST without cookie: %d", resp.StatusCode)
	}
	if _, err := f.st.LoginLink(context.Background(), token.ID(second[strings.LastIndex(second, "/")+1:]), time.Now()); err != nil {
		t.Fatalf("the refused POST spent the link: %v", err)
	}
}

func TestDeactivatedPersonLosesAccess(t *testing.T) {
	f := seed(t)
	bea := f.signIn(t, "bea.ortiz@example.com")
	if resp, _ := get(t, bea, f.url+"/leads/"+f.leads["Olu Bello"]); resp.StatusCode != 200 {
		t.Fatalf("bea's own lead: %d", resp.StatusCode)
	}
	if _, err := f.st.Pool.Exec(context.Background(), `update people set active = false where id = 'bea'`); err != nil {
		t.Fatal(err)
	}
	// Her session is worth nothing at once, and she cannot get a new link.
	noRedirect := &http.Client{Jar: bea.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, _ := get(t, noRedirect, f.url+"/leads/"+f.leads["Olu Bello"]); resp.StatusCode != 303 {
		t.Fatalf("deactivated session: %d", resp.StatusCode)
	}
	post(t, &http.Client{}, f.url+"/signin", url.Values{"email": {"bea.ortiz@example.com"}})
	f.srv.signins.Wait()
	if msgs, _ := f.st.Outbox(context.Background(), "bea.ortiz@example.com", 10); len(msgs) != 1 {
		t.Fatalf("%d sign-in mails to a deactivated person, want only the first", len(msgs))
	}
}

func TestMetricsBearerToken(t *testing.T) {
	f := seed(t)
	f.srv.MetricsToken = "s3cret"
	hs := httptest.NewServer(f.srv.Handler()) // routes read the token when built
	t.Cleanup(hs.Close)
	if resp, body := get(t, &http.Client{}, hs.URL+"/metrics"); resp.StatusCode != 401 || strings.Contains(body, "baton_leads") {
		t.Fatalf("metrics without the token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "baton_leads") {
		t.Fatalf("metrics with the token: %d", resp.StatusCode)
	}
}
