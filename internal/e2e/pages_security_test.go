package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
)

// Security tests over the real stack: each attack is refused with a 403 (or
// a 404 that tells nothing), and the lead — its state, owner and every event
// in PostgreSQL — is exactly what it was before.

// leadState is what "nothing changed" compares: the snapshot and the history.
func leadFingerprint(t *testing.T, s *Stack, id string) string {
	t.Helper()
	v := getLead(t, s, id)
	owner := ""
	if v.Owner != nil {
		owner = v.Owner.ID
	}
	var b strings.Builder
	b.WriteString(v.State + "|" + owner + "|" + v.UpdatedAt.String())
	for _, e := range v.Events {
		b.WriteString("|" + e.Kind + "@" + e.At.String())
	}
	var used int
	s.Store.Pool.QueryRow(context.Background(), `select count(*) from used_tokens where lead_id = $1 and used_at is not null`, id).Scan(&used) //nolint:errcheck
	b.WriteString("|used=" + strconv.Itoa(used))
	return b.String()
}

func TestActionLinksForgedExpiredReused(t *testing.T) {
	s := startStack(t)
	useLongWindow(t, s)
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"sec.one@initech.example","name":"Sec One","company":"Initech","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	offer := waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	link := offer.Links[0].URL
	tok := link[strings.LastIndex(link, "/a/")+3:]
	real, err := token.NewSigner([]byte(s.Config.SigningKey))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := real.Verify(tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before := leadFingerprint(t, s, id)

	// Forged: the same claims signed with another key.
	other, _ := token.NewSigner([]byte(strings.Repeat("not-the-gateway-key", 2)))
	forged := s.URL + "/a/" + other.Sign(claims)
	if code, page := click(t, forged); code != 403 || !strings.Contains(page, "signature does not match") {
		t.Fatalf("forged link: %d %s", code, page)
	}
	// Forged by hand: claims edited to another rep, the old signature kept.
	_, sig, _ := strings.Cut(tok, ".")
	edit := claims
	edit.Actor = "bea"
	body, _ := json.Marshal(edit)
	edited := base64.RawURLEncoding.EncodeToString(body) + "." + sig
	if code, page := click(t, s.URL+"/a/"+edited); code != 403 || !strings.Contains(page, "signature does not match") {
		t.Fatalf("edited link: %d %s", code, page)
	}
	// Expired: signed with the gateway's key, but the expiry has passed.
	exp := claims
	exp.Expires = time.Now().Add(-time.Minute).Unix()
	if code, page := click(t, s.URL+"/a/"+real.Sign(exp)); code != 403 || !strings.Contains(page, "expired") {
		t.Fatalf("expired link: %d %s", code, page)
	}
	// A POST straight at the expired link (no confirm page) is refused too.
	if resp, _ := do(t, http.DefaultClient, "POST", s.URL+"/a/"+real.Sign(exp), "application/x-www-form-urlencoded", "csrf=x"); resp.StatusCode != 403 {
		t.Fatalf("POST expired: %d", resp.StatusCode)
	}
	if after := leadFingerprint(t, s, id); after != before {
		t.Fatalf("an attack changed the lead:\nbefore %s\nafter  %s", before, after)
	}

	// Reused: two tabs confirm the same link at once: exactly one acts.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, page := do(t, c, "GET", link, "", "")
	csrf := csrfRe.FindStringSubmatch(page)[1]
	var wg sync.WaitGroup
	codes := make([]int, 2)
	pages := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", link, strings.NewReader("csrf="+csrf))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], pages[i] = resp.StatusCode, string(b)
		}(i)
	}
	wg.Wait()
	ok, refused := 0, 0
	for i, c := range codes {
		switch {
		case c == 200 && strings.Contains(pages[i], "Lead accepted"):
			ok++
		case c == 403:
			refused++
		default:
			// The loser may also have reached the workflow after the winner's
			// claim was settled: the workflow's validator refuses it (409).
			if c == 409 {
				refused++
			}
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("two concurrent uses of one link: codes %v\n%s\n%s", codes, pages[0], pages[1])
	}
	accepted := leadFingerprint(t, s, id)
	if v := getLead(t, s, id); v.State != "Accepted" || v.Owner.ID != "ana" {
		t.Fatalf("after accept: %+v", v)
	}
	// Later reuse: 403 on the confirm page and on a replayed POST, nothing changes.
	if code, page := click(t, link); code != 403 || !strings.Contains(page, "already used") {
		t.Fatalf("reused link: %d %s", code, page)
	}
	if resp, _ := do(t, c, "POST", link, "application/x-www-form-urlencoded", "csrf="+csrf); resp.StatusCode != 403 {
		t.Fatalf("replayed POST: %d", resp.StatusCode)
	}
	if after := leadFingerprint(t, s, id); after != accepted {
		t.Fatalf("reuse changed the lead:\nbefore %s\nafter  %s", accepted, after)
	}
}

// useLongWindow gives the campaign a window a slow machine cannot miss.
func useLongWindow(t *testing.T, s *Stack) {
	t.Helper()
	if _, err := s.Store.Pool.Exec(context.Background(), `update campaigns set accept_window_seconds = 120 where id = 'webinar-q3'`); err != nil {
		t.Fatal(err)
	}
}

var signinLinkRe = regexp.MustCompile(`/signin/[A-Za-z0-9_-]+`)

// signInHTTP signs in by magic link over HTTP, reading the link from the outbox.
func signInHTTP(t *testing.T, s *Stack, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, page := do(t, c, "POST", s.URL+"/signin", "application/x-www-form-urlencoded", url.Values{"email": {email}}.Encode()); resp.StatusCode != 200 {
		t.Fatalf("ask for a sign-in link: %d %s", resp.StatusCode, page)
	}
	m := waitMail(t, s, email, "signin", 5*time.Second)
	link := m.Links[0].URL
	if !signinLinkRe.MatchString(link) {
		t.Fatalf("sign-in link %q", link)
	}
	_, page := do(t, c, "GET", link, "", "")
	csrf := csrfRe.FindStringSubmatch(page)
	if csrf == nil {
		csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	}
	if csrf == nil {
		t.Fatalf("sign-in page: %s", page)
	}
	if resp, page := do(t, c, "POST", link, "application/x-www-form-urlencoded", "csrf="+url.QueryEscape(csrf[1])); resp.StatusCode != 200 || resp.Request.URL.Path != "/inbox" {
		t.Fatalf("sign in: %d %s %s", resp.StatusCode, resp.Request.URL, page)
	}
	return c
}

func TestRepCannotReachAnotherRepsLead(t *testing.T) {
	s := startStack(t)
	useLongWindow(t, s)
	// Intake answers at the durable start, so two leads posted back to back
	// may be routed in either order: route the first before posting the second.
	_, a := submit(t, s, `{"campaign":"webinar-q3","email":"for.ana@initech.example","name":"For Ana","company":"Initech","score":80}`)
	waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	_, b := submit(t, s, `{"campaign":"webinar-q3","email":"for.bea@globex.example","name":"Bea Secret","company":"Globex Secret","score":80}`)
	waitMail(t, s, "bea.ortiz@example.com", "offer", 10*time.Second)
	anaLead, beaLead := a["id"].(string), b["id"].(string)
	before := leadFingerprint(t, s, beaLead)

	ana := signInHTTP(t, s, "ana.schmidt@example.com")
	_, inbox := do(t, ana, "GET", s.URL+"/inbox", "", "")
	if !strings.Contains(inbox, "For Ana") || strings.Contains(inbox, "Bea Secret") {
		t.Fatalf("ana's inbox: %s", inbox)
	}
	if resp, page := do(t, ana, "GET", s.URL+"/leads/"+anaLead, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "For Ana") {
		t.Fatalf("ana's own lead: %d", resp.StatusCode)
	}
	resp, other := do(t, ana, "GET", s.URL+"/leads/"+beaLead, "", "")
	_, missing := do(t, ana, "GET", s.URL+"/leads/ld_aaaaaaaaaaaaaaaa", "", "")
	if resp.StatusCode != 404 || other != missing || strings.Contains(other, "Secret") {
		t.Fatalf("ana reached bea's lead: %d\n%s", resp.StatusCode, other)
	}
	// Nor through the campaign or scoreboard pages.
	for _, p := range []string{"/campaigns/webinar-q3", "/scoreboard", "/campaigns"} {
		if _, page := do(t, ana, "GET", s.URL+p, "", ""); strings.Contains(page, "Bea Secret") || strings.Contains(page, "Globex Secret") {
			t.Fatalf("%s shows bea's lead to ana", p)
		}
	}
	// Even a link bound to ana on bea's lead (only the signing key can mint
	// one) cannot take it: the workflow refuses it, and nothing changes.
	signer, _ := token.NewSigner([]byte(s.Config.SigningKey))
	own := s.URL + "/a/" + signer.Sign(token.Claims{Lead: beaLead, Actor: "ana", Action: "accept", Attempt: 1, Expires: time.Now().Add(time.Hour).Unix()})
	if code, page := click(t, own); code != 409 {
		t.Fatalf("ana accepting bea's offer: %d %s", code, page)
	}
	if after := leadFingerprint(t, s, beaLead); after != before {
		t.Fatalf("ana changed bea's lead:\nbefore %s\nafter  %s", before, after)
	}
}

// TestStoredLeadIsNeverShownFromItsWorkflowInput: the lead page's pending
// path (a lead Temporal holds that PostgreSQL does not show yet) judges
// access by the campaign in the workflow's start input. A lead that has a
// row is judged by the row alone. Here the row's campaign is one the
// marketer may not see while the start input names one she owns; the page
// must answer as for an unknown lead. Before unstoredPending it showed the
// lead.
func TestStoredLeadIsNeverShownFromItsWorkflowInput(t *testing.T) {
	s := startStack(t)
	e := newSecEnv(t, s)
	mo := secSignIn(t, s, "mo.fischer@example.com")
	if resp, page := do(t, mo, "GET", s.URL+"/leads/"+e.leadA, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "Alpha Lead") {
		t.Fatalf("the webinar's marketer on its lead: %d", resp.StatusCode)
	}
	if _, err := s.Store.Pool.Exec(context.Background(), `update leads set campaign_id = 'ebook-dach' where id = $1`, e.leadA); err != nil {
		t.Fatal(err)
	}
	resp, page := do(t, mo, "GET", s.URL+"/leads/"+e.leadA, "", "")
	_, missing := do(t, mo, "GET", s.URL+"/leads/ld_aaaaaaaaaaaaaaaa", "", "")
	if resp.StatusCode != 404 || page != missing || strings.Contains(page, "Alpha Lead") {
		t.Fatalf("a stored lead of a campaign mo cannot see, shown from its workflow's input: %d\n%s", resp.StatusCode, page)
	}
	// Its campaign's marketer sees it, from the row.
	zoe := secSignIn(t, s, "zoe.weber@example.com")
	if resp, page := do(t, zoe, "GET", s.URL+"/leads/"+e.leadA, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "Alpha Lead") || strings.Contains(page, `id="pending"`) {
		t.Fatalf("the row's campaign marketer: %d", resp.StatusCode)
	}
}

func TestReadyAndMetricsOnTheRealStack(t *testing.T) {
	s := startStack(t)
	// A gateway wired as gateway/main.go wires it: SDK metrics on its client.
	mx := metrics.New()
	t.Cleanup(func() { mx.Close() })
	cl, err := tclient.Dial(s.Config, tclient.QuietLogger(), tclient.WithMetrics(mx.TemporalHandler()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	mx.WatchStore(s.Store)
	signer, _ := token.NewSigner([]byte(s.Config.SigningKey))
	srv := &web.Server{Store: s.Store, Temporal: cl, Signer: signer, Outbox: true, Log: tclient.QuietLogger(), Metrics: mx,
		Intake: &intake.Service{Temporal: cl, Store: s.Store, TaskQueue: s.Config.TaskQueue}}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	if resp, body := do(t, http.DefaultClient, "GET", hs.URL+"/readyz", "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"ready": true`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	if resp, body := api(t, &Stack{URL: hs.URL, Source: s.Source}, "POST", "/api/v1/leads",
		`{"campaign":"webinar-q3","email":"metrics@initech.example","score":80}`); resp.StatusCode != 202 {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := do(t, http.DefaultClient, "GET", hs.URL+"/metrics", "", "")
		missing := ""
		for _, want := range []string{"temporal_request", `baton_intake_request_duration_seconds_count{code="202",route="POST /api/v1/leads"} 1`,
			`baton_leads{stage="Offered"} 1`, `baton_emails_total{kind="offer",status="sent"} 1`} {
			if !strings.Contains(body, want) {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q:\n%s", missing, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// PostgreSQL gone: readyz says which check failed.
	st2, err := store.Open(context.Background(), s.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
	srv2 := &web.Server{Store: st2, Temporal: cl, Signer: signer, Log: tclient.QuietLogger()}
	hs2 := httptest.NewServer(srv2.Handler())
	t.Cleanup(hs2.Close)
	if resp, body := do(t, http.DefaultClient, "GET", hs2.URL+"/readyz", "", ""); resp.StatusCode != 503 || !strings.Contains(body, `"postgres": "error`) || !strings.Contains(body, `"temporal": "ok"`) {
		t.Fatalf("readyz without PostgreSQL: %d %s", resp.StatusCode, body)
	}
}
