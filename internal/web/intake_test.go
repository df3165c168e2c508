package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// These handler tests run against a real PostgreSQL and no Temporal: every
// request here must be refused before intake would start a workflow (the
// intake service has no Temporal client, so reaching it would panic).

type handlerEnv struct {
	t     *testing.T
	st    *store.Store
	url   string
	h     http.Handler // the same handler, for requests built by hand
	creds store.SourceCredentials
	now   time.Time
}

func newHandlerEnv(t *testing.T, rate float64, burst int) *handlerEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	creds, err := st.AddSource(ctx, "webform", rate, burst)
	if err != nil {
		t.Fatal(err)
	}
	e := &handlerEnv{t: t, st: st, creds: creds, now: time.Now()}
	srv := &Server{Store: st, Intake: &intake.Service{Store: st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return e.now }}
	e.h = srv.Handler()
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func (e *handlerEnv) send(method, path string, body []byte, hdr map[string]string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out) //nolint:errcheck
	return resp, out
}

func (e *handlerEnv) signed(method, path string, ts int64, body []byte, secret string) map[string]string {
	return map[string]string{HeaderSource: "webform", HeaderTimestamp: strconv.FormatInt(ts, 10), HeaderSignature: Sign(secret, method, path, ts, body)}
}

// nothingChanged checks that no lead, touch, idempotency key or engagement
// event was stored.
func (e *handlerEnv) nothingChanged() {
	e.t.Helper()
	for _, table := range []string{"leads", "lead_events", "intake_idempotency", "lead_engagement"} {
		var n int
		if err := e.st.Pool.QueryRow(context.Background(), "select count(*) from "+table).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n != 0 {
			e.t.Errorf("%s has %d rows after a refused request", table, n)
		}
	}
}

func wantProblem(t *testing.T, resp *http.Response, body map[string]any, status int, detail string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; %v", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	if d, _ := body["detail"].(string); !strings.Contains(d, detail) {
		t.Errorf("detail %q does not say %q", d, detail)
	}
}

const lead = `{"campaign":"webinar-q3","email":"dana@acme.example","score":60}`

func TestIntakeRefusesUnauthenticatedRequests(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	body := []byte(lead)
	ts := e.now.Unix()
	cases := []struct {
		name   string
		path   string
		hdr    map[string]string
		detail string
	}{
		{"no credentials", "/api/v1/leads", nil, "Authorization: Bearer"},
		{"wrong api key", "/api/v1/leads", map[string]string{"Authorization": "Bearer bk_not-a-key"}, "API key is not valid"},
		{"hmac secret used as api key", "/api/v1/leads", map[string]string{"Authorization": "Bearer " + e.creds.HMACSecret}, "API key is not valid"},
		{"bad hmac", "/api/v1/leads", e.signed("POST", "/api/v1/leads", ts, body, "bs_wrong-secret"), "signature does not match"},
		{"hmac over another body", "/api/v1/leads", e.signed("POST", "/api/v1/leads", ts, []byte(`{"campaign":"x","email":"eve@evil.example"}`), e.creds.HMACSecret), "signature does not match"},
		{"stale timestamp", "/api/v1/leads", e.signed("POST", "/api/v1/leads", ts-int64(6*60), body, e.creds.HMACSecret), "more than 5m0s"},
		{"future timestamp", "/api/v1/leads", e.signed("POST", "/api/v1/leads", ts+int64(6*60), body, e.creds.HMACSecret), "more than 5m0s"},
		{"unknown source", "/api/v1/leads", map[string]string{HeaderSource: "nobody", HeaderTimestamp: strconv.FormatInt(ts, 10),
			HeaderSignature: Sign(e.creds.HMACSecret, "POST", "/api/v1/leads", ts, body)}, "signature does not match"},
		{"signature without timestamp", "/api/v1/leads", map[string]string{HeaderSource: "webform", HeaderSignature: Sign(e.creds.HMACSecret, "POST", "/api/v1/leads", ts, body)}, "needs"},
		{"event without credentials", "/api/v1/leads/ld_abcdefghijkmnpqr/events", nil, "Authorization: Bearer"},
		{"lead read without credentials", "/api/v1/leads/ld_abcdefghijkmnpqr", nil, "Authorization: Bearer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if !strings.HasSuffix(c.path, "/events") && c.path != "/api/v1/leads" {
				method = "GET"
			}
			resp, out := e.send(method, c.path, body, c.hdr)
			wantProblem(t, resp, out, http.StatusUnauthorized, c.detail)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	e.nothingChanged()
}

func TestIntakeRefusesAReplayedSignature(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	// A signed read of an unknown lead passes authentication (404 after it)
	// and changes nothing, so the replay cache is seen without Temporal.
	hdr := e.signed("GET", "/api/v1/leads/ld_abcdefghijkmnpqr", e.now.Unix(), nil, e.creds.HMACSecret)
	resp, out := e.send("GET", "/api/v1/leads/ld_abcdefghijkmnpqr", nil, hdr)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("first signed request: %d %v", resp.StatusCode, out)
	}
	e.now = e.now.Add(time.Minute) // still inside the window
	resp, out = e.send("GET", "/api/v1/leads/ld_abcdefghijkmnpqr", nil, hdr)
	wantProblem(t, resp, out, http.StatusUnauthorized, "already used")
	// Re-signed with a new timestamp, the same request is fine.
	resp, _ = e.send("GET", "/api/v1/leads/ld_abcdefghijkmnpqr", nil, e.signed("GET", "/api/v1/leads/ld_abcdefghijkmnpqr", e.now.Unix(), nil, e.creds.HMACSecret))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("re-signed request: %d", resp.StatusCode)
	}
	e.nothingChanged()
}

func TestIntakeRefusesOversizedBodies(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	single := []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","name":"` + strings.Repeat("a", MaxBody) + `"}`)
	resp, out := e.send("POST", "/api/v1/leads", single, auth)
	wantProblem(t, resp, out, http.StatusRequestEntityTooLarge, "1 MiB")
	batch := []byte(`[` + strings.Repeat(lead+",", MaxBatchBody/len(lead)) + lead + `]`)
	resp, out = e.send("POST", "/api/v1/leads", batch, auth)
	wantProblem(t, resp, out, http.StatusRequestEntityTooLarge, "8 MiB")
	tooMany := []byte(`[` + strings.Repeat(lead+",", MaxBatch) + lead + `]`)
	resp, out = e.send("POST", "/api/v1/leads", tooMany, auth)
	wantProblem(t, resp, out, http.StatusBadRequest, "1 to 1000 leads; this one has 1001")
	// A signed oversized body is refused before its signature is checked.
	resp, out = e.send("POST", "/api/v1/leads", batch, e.signed("POST", "/api/v1/leads", e.now.Unix(), batch, e.creds.HMACSecret))
	wantProblem(t, resp, out, http.StatusRequestEntityTooLarge, "8 MiB")
	resp, out = e.send("POST", "/api/v1/leads/ld_abcdefghijkmnpqr/events", []byte(`{"id":"`+strings.Repeat("x", MaxEventBody)+`"}`), auth)
	wantProblem(t, resp, out, http.StatusRequestEntityTooLarge, "16 KiB")
	e.nothingChanged()
}

func TestIntakeRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := newHandlerEnv(t, 0.1, 2) // one request per 10 s, bursts of 2
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	bad := []byte(`{"campaign":"Bad Campaign","email":"not-an-address"}`) // refused by validation, before Temporal
	for i := 0; i < 2; i++ {
		if resp, out := e.send("POST", "/api/v1/leads", bad, auth); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, out)
		}
	}
	resp, out := e.send("POST", "/api/v1/leads", []byte(lead), auth)
	wantProblem(t, resp, out, http.StatusTooManyRequests, "0.1 requests per second")
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > 10 {
		t.Errorf("Retry-After %q, want 1..10 seconds", resp.Header.Get("Retry-After"))
	}
	e.nothingChanged()
	e.now = e.now.Add(11 * time.Second) // a token is back
	if resp, out := e.send("POST", "/api/v1/leads", bad, auth); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("after waiting: %d %v", resp.StatusCode, out)
	}
}

func TestBatchValidatesEachItem(t *testing.T) {
	e := newHandlerEnv(t, 100, 100)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	// Every item is invalid, so none reaches Temporal; each is reported.
	body := []byte(`[{"campaign":"webinar-q3","email":"nope"},{"campaign":"webinar-q3","email":"a@b.example","score":"high"},{"campaign":"webinar-q3","email":"c@d.example","colour":"red"}]`)
	resp, out := e.send("POST", "/api/v1/leads", body, auth)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	items, _ := out["items"].([]any)
	if len(items) != 3 || out["failed"] != float64(3) {
		t.Fatalf("items %v", out)
	}
	want := []string{"email", "score", "colour"}
	for i, it := range items {
		m := it.(map[string]any)
		errs, _ := m["errors"].([]any)
		if m["index"] != float64(i) || m["status"] != float64(400) || m["result"] != "error" || len(errs) == 0 ||
			errs[0].(map[string]any)["field"] != want[i] {
			t.Errorf("item %d: %v, want a 400 naming %s", i, m, want[i])
		}
	}
	e.nothingChanged()
}
