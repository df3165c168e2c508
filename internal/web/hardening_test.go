package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// Regression tests of the outside probe's findings (issue 15) that belong to
// the gateway's handlers.

// serve runs one request through h from the given peer address.
func serve(h http.Handler, method, target, remote string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Finding 1 (and 5, metrics): the outbox holds everyone's sign-in and action
// links. It answers loopback peers only; anyone else, or a request that came
// through a proxy, gets exactly the 404 of a path that does not exist.
func TestOutboxAndMetricsAnswerOnlyLoopbackPeers(t *testing.T) {
	f := seed(t)
	h := f.srv.Handler()
	const remote = "203.0.113.9:40000"
	unknown := serve(h, "GET", "/no-such-page", remote, nil, "")
	if unknown.Code != 404 {
		t.Fatalf("unknown path: %d", unknown.Code)
	}
	same404 := func(name string, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != 404 || rec.Body.String() != unknown.Body.String() || rec.Header().Get("Content-Type") != unknown.Header().Get("Content-Type") ||
			rec.Header().Get("Allow") != "" {
			t.Errorf("%s: %d %.60q, want the unknown path's 404", name, rec.Code, rec.Body.String())
		}
	}
	for _, path := range []string{"/api/v1/outbox", "/outbox", "/outbox?to=sam.okafor@example.com", "/metrics"} {
		same404("GET "+path+" from afar", serve(h, "GET", path, remote, nil, ""))
		same404("POST "+path+" from afar", serve(h, "POST", path, remote, nil, "x=1"))
		same404("GET "+path+" via a proxy", serve(h, "GET", path, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, ""))
		same404("GET "+path+" via Forwarded", serve(h, "GET", path, "[::1]:5000", map[string]string{"Forwarded": "for=203.0.113.9"}, ""))
		for _, local := range []string{"127.0.0.1:5000", "[::1]:5000"} {
			if rec := serve(h, "GET", path, local, nil, ""); rec.Code != 200 {
				t.Errorf("GET %s from %s: %d", path, local, rec.Code)
			}
		}
	}
	// The home page names the outbox to loopback peers only.
	if rec := serve(h, "GET", "/", remote, nil, ""); strings.Contains(rec.Body.String(), "/outbox") {
		t.Errorf("home page shows the outbox to a remote peer")
	}

	// Without dev outbox mode there is no outbox, even on loopback.
	f.srv.Outbox = false
	h = f.srv.Handler()
	for _, path := range []string{"/api/v1/outbox", "/outbox"} {
		same404("GET "+path+" without dev mode", serve(h, "GET", path, "127.0.0.1:5000", nil, ""))
	}
	// With BATON_METRICS_TOKEN, /metrics answers anyone with the token, and no one without.
	f.srv.MetricsToken = "s3cret"
	h = f.srv.Handler()
	if rec := serve(h, "GET", "/metrics", remote, map[string]string{"Authorization": "Bearer s3cret"}, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "baton_leads") {
		t.Errorf("metrics with the token from afar: %d", rec.Code)
	}
	if rec := serve(h, "GET", "/metrics", "127.0.0.1:5000", nil, ""); rec.Code != 401 {
		t.Errorf("metrics without the token on loopback: %d", rec.Code)
	}
}

// Finding 3: "/%09/evil.example/phish" passed safeNext; Chromium removes the
// tab and lands on //evil.example.
func TestSafeNextRefusesWhatBrowsersReadAsAnotherHost(t *testing.T) {
	for _, bad := range []string{
		"/\t/evil.example/phish", "/%09/evil.example/phish", "/%2509/evil.example", "/\n/evil.example", "/%0a/evil.example",
		"/\r/evil.example", "/%0D/evil.example", "/ /evil.example", "/%20/evil.example", "/\u00a0/evil.example",
		"/\\evil.example", "/%5Cevil.example", "/%5cevil.example", "//evil.example", "/%2F/evil.example", "/%2f%2fevil.example",
		"///evil.example", "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "evil.example", "",
		"/inbox\x00", "/inbox%00", "/inbox\x1b[2J", "/\u202eelpmaxe.live", "/%E2%80%AE", "/\u200b/evil.example",
		"/inbox%ZZ", "/\xff", "/%25252509/evil.example", "/" + strings.Repeat("a", 500),
	} {
		if got := safeNext(bad); got != "" {
			t.Errorf("safeNext(%q) = %q, want refused", bad, got)
		}
	}
	for _, good := range []string{"/inbox", "/scoreboard", "/leads/ld_0123abcd", "/leads/ld_x?y=1", "/campaigns/webinar-q3", "/inbox?next=%2Fscoreboard"} {
		if got := safeNext(good); got != good {
			t.Errorf("safeNext(%q) = %q, want it kept", good, got)
		}
	}
}

func TestSignInFormDropsATabbedNext(t *testing.T) {
	f := seed(t)
	_, page := get(t, &http.Client{}, f.url+"/signin?next=/%09/evil.example/phish")
	if strings.Contains(page, "evil.example") {
		t.Fatalf("the form kept the next: %s", page)
	}
}

// FuzzSafeNext: whatever safeNext keeps, a browser (which drops tabs and
// newlines and reads a backslash as a slash) resolves to this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/inbox", "/%09/evil.example/phish", "/\t/evil.example", "//evil.example", "/\\evil.example",
		"/leads/ld_x?y=1", "/%2F/x", "https://evil.example", "/%E2%80%AE", "/a#b", "/a?b=//c"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://baton.example/signin/tok")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: kept values are returned unchanged", next, got)
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimSpace(got))
		u, err := url.Parse(browser)
		if err != nil {
			t.Fatalf("kept %q, which does not parse: %v", got, err)
		}
		if r := base.ResolveReference(u); r.Host != "baton.example" || r.Scheme != "https" {
			t.Fatalf("kept %q, which a browser follows to %s", got, r)
		}
	})
}

// countingBody is a request body that counts what the handler reads of it.
type countingBody struct {
	n, size int
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.n >= b.size {
		return 0, io.EOF
	}
	k := min(len(p), b.size-b.n)
	for i := range k {
		p[i] = ' '
	}
	b.n += k
	return k, nil
}

func (b *countingBody) Close() error { return nil }

// Finding 5: a signed request was read up to the body limit before a bad
// signature was refused. Now the headers, the clock, the source and the
// declared length are checked first, and at most Content-Length bytes read.
func TestSignedRequestRefusedBeforeItsBodyIsRead(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	ts := e.now.Unix()
	good := Sign(e.creds.HMACSecret, "POST", "/api/v1/leads", ts, []byte(lead))
	cases := []struct {
		name            string
		source, ts, sig string
		length          int64
		status, maxRead int
	}{
		{"unknown source", "nobody", strconv.FormatInt(ts, 10), good, MaxBody, 401, 0},
		{"malformed signature", "webform", strconv.FormatInt(ts, 10), "sha256=not-hex", MaxBody, 401, 0},
		{"signature without sha256=", "webform", strconv.FormatInt(ts, 10), strings.TrimPrefix(good, "sha256="), MaxBody, 401, 0},
		{"short signature", "webform", strconv.FormatInt(ts, 10), good[:40], MaxBody, 401, 0},
		{"no timestamp", "webform", "", good, MaxBody, 401, 0},
		{"timestamp not a number", "webform", "yesterday", good, MaxBody, 401, 0},
		{"stale timestamp", "webform", strconv.FormatInt(ts-3600, 10), good, MaxBody, 401, 0},
		{"no Content-Length", "webform", strconv.FormatInt(ts, 10), good, -1, 411, 0},
		{"Content-Length over the limit", "webform", strconv.FormatInt(ts, 10), good, MaxBatchBody + 1, 413, 0},
		{"bad signature: reads only the declared length", "webform", strconv.FormatInt(ts, 10), good, 10, 401, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &countingBody{size: 2 * MaxBatchBody}
			req := httptest.NewRequest("POST", "/api/v1/leads", nil)
			req.Body, req.ContentLength = body, c.length
			req.Header.Set(HeaderSource, c.source)
			if c.ts != "" {
				req.Header.Set(HeaderTimestamp, c.ts)
			}
			req.Header.Set(HeaderSignature, c.sig)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != c.status || body.n > c.maxRead {
				t.Fatalf("%d after reading %d bytes, want %d after at most %d: %s", rec.Code, body.n, c.status, c.maxRead, rec.Body.String())
			}
		})
	}
	e.nothingChanged()
}

// Finding 5: the HMAC covered neither method nor path, so a signed request
// could be replayed at another route or another lead.
func TestSignatureCoversMethodPathAndQuery(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	const a, b = "/api/v1/leads/ld_abcdefghijkmnpqr", "/api/v1/leads/ld_bcdefghijkmnpqrs"
	for _, c := range []struct{ name, signedMethod, signedPath, method, path string }{
		{"another lead", "GET", a, "GET", b},
		{"another method", "POST", a, "GET", a},
		{"an added query", "GET", a, "GET", a + "?x=1"},
		{"another query", "GET", a + "?x=1", "GET", a + "?x=2"},
		{"events of another lead", "POST", a + "/events", "POST", b + "/events"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, out := e.send(c.method, c.path, nil, e.signed(c.signedMethod, c.signedPath, e.now.Unix(), nil, e.creds.HMACSecret))
			wantProblem(t, resp, out, http.StatusUnauthorized, "does not match")
		})
	}
	// Signed for what it is, the same request passes authentication (404: no such lead).
	if resp, out := e.send("GET", b+"?x=2", nil, e.signed("GET", b+"?x=2", e.now.Unix(), nil, e.creds.HMACSecret)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("signed for itself: %d %v", resp.StatusCode, out)
	}
	// SignRequest, the client helper, signs what the gateway checks.
	req, _ := http.NewRequest("GET", e.url+a+"?y=%2F", nil)
	SignRequest(req, "webform", e.creds.HMACSecret, e.now, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("SignRequest: %d", resp.StatusCode)
	}
	e.nothingChanged()
}

// blockingMailer holds every delivery until released.
type blockingMailer struct {
	release chan struct{}
	next    mail.Mailer
}

func (b blockingMailer) Deliver(ctx context.Context, m store.Message) error {
	<-b.release
	return b.next.Deliver(ctx, m)
}

// Finding 5: sign-in answered 429 after five tries only for addresses in the
// directory, and took longer for them (the mail was sent before answering).
func TestSignInAnswersAlikeForKnownAndUnknownAddresses(t *testing.T) {
	f := seed(t)
	const known, unknown = "ana.schmidt@example.com", "nobody.here@example.com"
	ask := func(email string) (int, string) {
		resp, page := post(t, &http.Client{}, f.url+"/signin", url.Values{"email": {email}})
		return resp.StatusCode, strings.ReplaceAll(page, email, "ADDRESS")
	}
	for i := 1; i <= loginLinksLimit+2; i++ {
		kc, kp := ask(known)
		uc, up := ask(unknown)
		want := 200
		if i > loginLinksLimit {
			want = 429
		}
		if kc != want || uc != want || kp != up {
			t.Fatalf("try %d: known %d, unknown %d (want %d); same page: %v\n%s\n%s", i, kc, uc, want, kp == up, kp, up)
		}
	}
	f.srv.signins.Wait()
	if msgs, _ := f.st.Outbox(context.Background(), known, 10); len(msgs) != loginLinksLimit {
		t.Fatalf("%d sign-in mails, want %d", len(msgs), loginLinksLimit)
	}

	// Per client address too, whatever addresses it asks for.
	other := func(mut func(*Server)) string {
		srv := &Server{Store: f.st, Signer: f.srv.Signer, Outbox: true, Log: discardLog(), MailFrom: f.srv.MailFrom}
		mut(srv)
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		srv.PublicURL = hs.URL
		return hs.URL
	}
	u := other(func(s *Server) { s.SigninPerIP = 3 })
	for i := 1; i <= 4; i++ {
		resp, _ := post(t, &http.Client{}, u+"/signin", url.Values{"email": {"someone" + strconv.Itoa(i) + "@example.com"}})
		if want := map[bool]int{true: 200, false: 429}[i <= 3]; resp.StatusCode != want {
			t.Fatalf("request %d from one client: %d, want %d", i, resp.StatusCode, want)
		}
	}

	// The answer does not wait for the mail: with the mailer stuck, a known
	// address is answered at once, and the mail goes out when it can.
	stuck := blockingMailer{release: make(chan struct{}), next: mail.Outbox{Store: f.st}}
	var slow *Server
	u = other(func(s *Server) { s.Mailer, slow = stuck, s })
	c := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, page := post(t, c, u+"/signin", url.Values{"email": {"bea.ortiz@example.com"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Check your email") || time.Since(start) > 3*time.Second {
		t.Fatalf("answer with the mailer stuck: %d after %s", resp.StatusCode, time.Since(start))
	}
	close(stuck.release)
	slow.signins.Wait()
	if msgs, _ := f.st.Outbox(context.Background(), "bea.ortiz@example.com", 10); len(msgs) != 1 {
		t.Fatalf("%d sign-in mails after the mailer recovered, want 1", len(msgs))
	}
}

// postWith sends a form with extra headers.
func postWith(t *testing.T, c *http.Client, u string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Finding 5: logout was a cross-site POST away. It needs the page's token,
// and every state-changing POST of the pages refuses a browser's cross-site
// request.
func TestSignOutNeedsItsTokenAndPagesRefuseCrossSitePosts(t *testing.T) {
	f := seed(t)
	ana := f.signIn(t, "ana.schmidt@example.com")
	noRedirect := &http.Client{Jar: ana.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	stillIn := func(when string) {
		t.Helper()
		if resp, _ := get(t, noRedirect, f.url+"/inbox"); resp.StatusCode != 200 {
			t.Fatalf("%s: signed out (%d)", when, resp.StatusCode)
		}
	}
	_, page := get(t, ana, f.url+"/inbox")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out token on the inbox: %s", page)
	}
	tok := m[1]
	for _, c := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", nil, nil},
		{"a wrong token", url.Values{"csrf": {"guess"}}, nil},
		{"the token from another site (Origin)", url.Values{"csrf": {tok}}, map[string]string{"Origin": "https://evil.example"}},
		{"the token from another site (Sec-Fetch-Site)", url.Values{"csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"the token from a sibling site", url.Values{"csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://x." + strings.TrimPrefix(f.url, "http://")}},
	} {
		if resp, page := postWith(t, ana, f.url+"/signout", c.form, c.hdr); resp.StatusCode != 403 || strings.Contains(page, "Signed out") {
			t.Errorf("sign out with %s: %d", c.name, resp.StatusCode)
		}
		stillIn("after a sign-out with " + c.name)
	}
	// Another person's token does not work either.
	bea := f.signIn(t, "bea.ortiz@example.com")
	_, page = get(t, bea, f.url+"/inbox")
	if resp, _ := postWith(t, ana, f.url+"/signout", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}}, nil); resp.StatusCode != 403 {
		t.Errorf("sign out with bea's token: %d", resp.StatusCode)
	}
	stillIn("after a sign-out with another person's token")

	// Every state-changing page POST refuses a cross-site browser request
	// before doing anything; the API is left to its own authentication.
	link := f.srv.link(token.Claims{Lead: f.leads["Priya Nair"], Actor: "ana", Action: "accept", Attempt: 1})
	for _, path := range []string{"/signin", "/signin/sometoken", link, "/c/sometoken", "/away/sometoken", "/signout"} {
		resp, page := postWith(t, ana, f.url+path, url.Values{"email": {"ana.schmidt@example.com"}, "csrf": {tok}},
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
		if resp.StatusCode != 403 || !strings.Contains(page, "another site") {
			t.Errorf("cross-site POST %s: %d", path, resp.StatusCode)
		}
	}
	f.srv.signins.Wait()
	if msgs, _ := f.st.Outbox(context.Background(), "ana.schmidt@example.com", 10); len(msgs) != 1 {
		t.Errorf("a cross-site sign-in request sent mail: %d sign-in mails, want the first only", len(msgs))
	}
	if resp, page := postWith(t, ana, f.url+"/api/v1/leads", nil, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode == 403 || strings.Contains(page, "another site") {
		t.Errorf("API POST with a foreign Origin: %d %s", resp.StatusCode, page)
	}
	stillIn("after the cross-site requests")

	// From Baton's own page, with its token, sign-out works.
	if resp, page := postWith(t, ana, f.url+"/signout", url.Values{"csrf": {tok}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.url}); resp.StatusCode != 200 || !strings.Contains(page, "Signed out") {
		t.Fatalf("sign out: %d %s", resp.StatusCode, page)
	}
	if resp, _ := get(t, noRedirect, f.url+"/inbox"); resp.StatusCode != 303 {
		t.Fatalf("still signed in after signing out: %d", resp.StatusCode)
	}
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineStyle = regexp.MustCompile(`(?i)<style\b|\sstyle\s*=`)
	inlineEvent = regexp.MustCompile(`(?i)\son[a-z]+\s*=|javascript:`)
)

// Finding 5: no Content-Security-Policy. Every gateway response carries a
// strict one, and no page needs an inline script or style to work.
func TestEveryResponseCarriesAStrictCSPAndPagesNeedNoInlineCode(t *testing.T) {
	f := seed(t)
	ana := f.signIn(t, "ana.schmidt@example.com")
	sam := f.signIn(t, "sam.okafor@example.com")
	mo := f.signIn(t, "mo.fischer@example.com")
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	link := f.srv.link(token.Claims{Lead: f.leads["Priya Nair"], Actor: "ana", Action: "reject", Attempt: 1})
	for _, c := range []struct {
		who  *http.Client
		path string
	}{
		{anon, "/"}, {anon, "/signin"}, {anon, "/healthz"}, {anon, "/no-such-page"}, {anon, "/api/v1/leads/ld_abcdefghijkmnpqr"},
		{anon, "/a/not-a-token"}, {anon, "/inbox"}, {anon, "/static/baton.css"}, {anon, "/static/inbox.js"}, {anon, "/outbox"},
		{ana, "/inbox"}, {ana, link}, {ana, "/leads/" + f.leads["Priya Nair"]}, {sam, "/scoreboard"}, {mo, "/campaigns"},
		{mo, "/campaigns/webinar-q3"},
	} {
		resp, body := get(t, c.who, f.url+c.path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s (%d): CSP %q lacks %s", c.path, resp.StatusCode, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q allows unsafe code", c.path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("GET %s: %s %q, want %q", c.path, k, h.Get(k), v)
			}
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			continue
		}
		for _, tag := range scriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("GET %s: inline script %s", c.path, tag)
			}
		}
		if m := inlineStyle.FindString(body); m != "" {
			t.Errorf("GET %s: inline style %q", c.path, m)
		}
		if m := inlineEvent.FindString(body); m != "" {
			t.Errorf("GET %s: inline event handler or javascript: URL %q", c.path, m)
		}
	}
	for name, ctype := range map[string]string{"baton.css": "text/css", "inbox.js": "text/javascript"} {
		if resp, body := get(t, anon, f.url+"/static/"+name); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("/static/%s: %d %s", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	for _, p := range []string{"/static/", "/static/nothing.js", "/static/..%2fweb.go"} {
		if resp, _ := get(t, anon, f.url+p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}
