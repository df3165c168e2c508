package web

import (
	"io"
	"net/http"
	"net/http/httptest"
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
