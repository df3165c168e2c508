package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
