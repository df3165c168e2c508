package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/api/serviceerror"
)

func post(t *testing.T, s *Stack, path string, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signedBy signs a POST /api/v1/leads of body as source.
func signedBy(source, secret string, body []byte) map[string]string {
	ts := time.Now().Unix()
	return map[string]string{web.HeaderSource: source, web.HeaderTimestamp: strconv.FormatInt(ts, 10),
		web.HeaderSignature: web.Sign(secret, "POST", "/api/v1/leads", ts, body)}
}

// noLead checks that an email left no trace: no lead row, no workflow.
func noLead(t *testing.T, s *Stack, email string) {
	t.Helper()
	id := domain.LeadID(email)
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), "select count(*) from leads where id = $1", id).Scan(&n); err != nil || n != 0 {
		t.Errorf("lead %s: %d rows (%v), want none", email, n, err)
	}
	_, err := s.Temporal.DescribeWorkflowExecution(context.Background(), workflows.LeadWorkflowID(id), "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("workflow of %s exists (or %v), want none", email, err)
	}
}

func leadBody(email string, score int) []byte {
	return []byte(fmt.Sprintf(`{"campaign":"webinar-q3","email":%q,"name":"Test Lead","score":%d}`, email, score))
}

// TestIntakeSecurityOnTheRealStack: every refused request leaves no lead row
// and no workflow behind; a good signed request works once and its replay
// is refused.
func TestIntakeSecurityOnTheRealStack(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()

	good := leadBody("signed@acme.example", 60)
	hdr := signedBy("e2e", s.Source.HMACSecret, good)
	if resp, b := post(t, s, "/api/v1/leads", good, hdr); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed lead: %d %s", resp.StatusCode, b)
	}
	// The replayed request (same headers, same body) with a different body
	// would not verify; with the same body it is refused as a replay.
	if resp, b := post(t, s, "/api/v1/leads", good, hdr); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "already used") {
		t.Fatalf("replay: %d %s", resp.StatusCode, b)
	}
	// The answer came at the durable start: the first touch is counted once
	// the lead's workflow has recorded it.
	waitLead(t, s, domain.LeadID("signed@acme.example"), func(v leadState) bool { return v.Touches >= 1 }, 10*time.Second)
	if v := getLead(t, s, domain.LeadID("signed@acme.example")); v.Touches != 1 {
		t.Errorf("the replay touched the lead: %d touches", v.Touches)
	}

	evil := leadBody("forged@acme.example", 90)
	if resp, b := post(t, s, "/api/v1/leads", evil, signedBy("e2e", "bs_not-the-secret", evil)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad hmac: %d %s", resp.StatusCode, b)
	}
	stale := signedBy("e2e", s.Source.HMACSecret, evil)
	stale[web.HeaderTimestamp] = strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	stale[web.HeaderSignature] = web.Sign(s.Source.HMACSecret, "POST", "/api/v1/leads", time.Now().Add(-10*time.Minute).Unix(), evil)
	if resp, b := post(t, s, "/api/v1/leads", evil, stale); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(t, s, "/api/v1/leads", evil, map[string]string{"Authorization": "Bearer bk_wrong"}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(t, s, "/api/v1/leads", evil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d %s", resp.StatusCode, b)
	}
	huge := []byte(fmt.Sprintf(`{"campaign":"webinar-q3","email":"forged@acme.example","name":%q}`, strings.Repeat("x", web.MaxBody)))
	if resp, b := post(t, s, "/api/v1/leads", huge, map[string]string{"Authorization": "Bearer " + s.Source.APIKey}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d %s", resp.StatusCode, b)
	}
	noLead(t, s, "forged@acme.example")

	// A slow source: the second request inside its bucket is refused with 429.
	slow, err := s.Store.AddSource(ctx, "slow", 0.01, 1)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + slow.APIKey}
	if resp, b := post(t, s, "/api/v1/leads", leadBody("slow-1@acme.example", 60), auth); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first slow lead: %d %s", resp.StatusCode, b)
	}
	resp, b := post(t, s, "/api/v1/leads", leadBody("slow-2@acme.example", 60), auth)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s (Retry-After %q)", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	noLead(t, s, "slow-2@acme.example")
}

// TestBatchIdempotencyAndEventsOnTheRealStack: a batch reports each item,
// a retried batch with its Idempotency-Key gets the stored answer and makes
// no second lead, and an engagement event lifts a nurturing lead over the
// campaign's bar (50), after which it is offered.
func TestBatchIdempotencyAndEventsOnTheRealStack(t *testing.T) {
	s := startStack(t)
	auth := map[string]string{"Authorization": "Bearer " + s.Source.APIKey, "Idempotency-Key": "batch-1"}
	batch := []byte(`[
		{"campaign":"webinar-q3","email":"b1@acme.example","score":60},
		{"campaign":"webinar-q3","email":"B1@Acme.example","score":70},
		{"campaign":"webinar-q3","email":"not-an-email"},
		{"campaign":"webinar-q3","email":"nurture@acme.example","score":20}
	]`)
	resp, first := post(t, s, "/api/v1/leads", batch, auth)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("batch: %d %s", resp.StatusCode, first)
	}
	var res web.BatchResult
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 4 || res.New != 2 || res.Duplicate != 1 || res.Failed != 1 || res.Items[2].Errors[0].Field != "email" {
		t.Fatalf("batch result %+v", res)
	}
	resp, again := post(t, s, "/api/v1/leads", batch, auth)
	if resp.StatusCode != http.StatusMultiStatus || again != first || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retried batch: %d %s", resp.StatusCode, again)
	}
	// Both of b1's touches are recorded after the answer (the durable
	// start); the retry, answered from the stored response, reached nothing.
	waitLead(t, s, domain.LeadID("b1@acme.example"), func(v leadState) bool { return v.Touches >= 2 }, 10*time.Second)
	if v := getLead(t, s, domain.LeadID("b1@acme.example")); v.Touches != 2 {
		t.Errorf("b1 has %d touches, want 2 (the retry added none)", v.Touches)
	}
	other := []byte(`[{"campaign":"webinar-q3","email":"b9@acme.example"}]`)
	if resp, b := post(t, s, "/api/v1/leads", other, auth); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("key reused for another body: %d %s", resp.StatusCode, b)
	}
	noLead(t, s, "b9@acme.example")

	nurture := domain.LeadID("nurture@acme.example")
	waitState(t, s, nurture, "Nurturing", 10*time.Second)
	key := map[string]string{"Authorization": "Bearer " + s.Source.APIKey}
	ev := []byte(`{"id":"zoom-42","type":"webinar_attended","points":40}`)
	if resp, b := post(t, s, "/api/v1/leads/"+nurture+"/events", ev, key); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(t, s, "/api/v1/leads/"+nurture+"/events", ev, key); resp.StatusCode != http.StatusOK || !strings.Contains(b, `"duplicate": true`) {
		t.Fatalf("repeated event: %d %s", resp.StatusCode, b)
	}
	if resp, b := post(t, s, "/api/v1/leads/"+nurture+"/events", []byte(`{"id":"x","type":"telepathy"}`), key); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, `"field":"type"`) {
		t.Fatalf("bad event: %d %s", resp.StatusCode, b)
	}
	waitState(t, s, nurture, "Offered", 10*time.Second)
	if v := getLead(t, s, nurture); v.Score != 60 {
		t.Errorf("score %d, want 20 + 40", v.Score)
	}
	if n, err := s.Store.CountEngagement(context.Background(), nurture); err != nil || n != 1 {
		t.Errorf("engagement rows %d (%v), want 1", n, err)
	}
	saveHistory(t, s.Temporal, workflows.LeadWorkflowID(nurture), "lead-engagement-nurture-to-offered")
}
