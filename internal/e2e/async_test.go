package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/workflows"
)

// submitAsync posts a lead with `Prefer: respond-async`: the gateway answers
// once Temporal holds the touch (Signal-with-Start), without a worker.
func submitAsync(t *testing.T, s *Stack, body, idem string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/leads", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "respond-async")
	req.Header.Set("Authorization", "Bearer "+s.Source.APIKey)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out) //nolint:errcheck
	return resp, out
}

// A source that asks for respond-async gets its answer with no worker
// running, the lead is handled when one starts, and a retried request (same
// Idempotency-Key) and a second touch of the same person still make one lead
// with one offer.
func TestRespondAsyncIntakeNeedsNoWorkerAndMakesOneLead(t *testing.T) {
	s := startStackOpts(t, false)
	body := `{"campaign":"webinar-q3","email":"kai@async.example","name":"Kai Berg","company":"Async","score":70}`
	start := time.Now()
	resp, res := submitAsync(t, s, body, "req-1")
	if resp.StatusCode != 202 || res["pending"] != true || resp.Header.Get("Preference-Applied") != "respond-async" {
		t.Fatalf("async submit: %d %v %v", resp.StatusCode, res, resp.Header)
	}
	t.Logf("answered in %s with no worker running", time.Since(start).Round(time.Millisecond))
	lead := res["id"].(string)
	if resp, _ := submitAsync(t, s, body, "req-1"); resp.StatusCode != 202 { // the webhook retried
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	if resp, _ := submitAsync(t, s, `{"campaign":"webinar-q3","email":"KAI@async.example","country":"se","score":75}`, "req-2"); resp.StatusCode != 202 {
		t.Fatalf("second touch: %d", resp.StatusCode)
	}
	p := buildWorker(t, s)
	p.start()
	t.Cleanup(p.kill)
	waitMail(t, s, "ana.schmidt@example.com", "offer", 30*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := getLead(t, s, lead)
		if v.Touches == 2 && v.Country == "SE" && v.Score == 75 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead after three async posts (two touches): %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // anything duplicated would have been sent by now
	if n := countOutbox(t, s, lead, "offer"); n != 1 {
		t.Fatalf("%d offers for one lead", n)
	}
	var leads int
	if err := s.Store.Pool.QueryRow(t.Context(), `select count(*) from leads where email = 'kai@async.example'`).Scan(&leads); err != nil || leads != 1 {
		t.Fatalf("%d lead rows (%v)", leads, err)
	}
	saveHistory(t, s.Temporal, workflows.LeadWorkflowID(lead), "lead-touch-signals-respond-async")
}

// BATON_INTAKE_ACK=start says new or duplicate without a worker: Temporal's
// start decides it, once, even for two first posts of one person at the same
// time; the lead is handled when a worker starts, one lead with every touch
// and one offer.
func TestStartIntakeSaysNewOrDuplicateWithoutAWorker(t *testing.T) {
	t.Setenv("BATON_INTAKE_ACK", "start")
	s := startStackOpts(t, false)
	post := func(body string) map[string]any {
		t.Helper()
		resp, b := api(t, s, "POST", "/api/v1/leads", body)
		var out map[string]any
		json.Unmarshal([]byte(b), &out) //nolint:errcheck
		if resp.StatusCode != 202 || out["pending"] == true {
			t.Fatalf("submit: %d %s", resp.StatusCode, b)
		}
		return out
	}
	start := time.Now()
	first := post(`{"campaign":"webinar-q3","email":"noor@processed.example","name":"Noor Haddad","score":70}`)
	t.Logf("answered in %s with no worker running", time.Since(start).Round(time.Millisecond))
	if first["new"] != true || first["duplicate"] != false || first["touches"] != float64(1) {
		t.Fatalf("first post: %v", first)
	}
	if again := post(`{"campaign":"webinar-q3","email":"NOOR@processed.example","score":75}`); again["new"] != false || again["duplicate"] != true || again["id"] != first["id"] {
		t.Fatalf("second post: %v", again)
	}
	// Two first posts of another person at once: exactly one is new.
	news := make(chan bool, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, b := api(t, s, "POST", "/api/v1/leads", `{"campaign":"webinar-q3","email":"ines@processed.example","score":70}`)
			var out map[string]any
			json.Unmarshal([]byte(b), &out) //nolint:errcheck
			news <- out["new"] == true
		}()
	}
	if a, b := <-news, <-news; a == b {
		t.Fatalf("two first posts at once: new %v and %v", a, b)
	}
	p := buildWorker(t, s)
	p.start()
	t.Cleanup(p.kill)
	lead := first["id"].(string)
	waitMail(t, s, "ana.schmidt@example.com", "offer", 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v := getLead(t, s, lead); v.Touches == 2 && v.Score == 75 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead after two posts: %+v", getLead(t, s, lead))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A duplicate's touches are what PostgreSQL holds when the answer is
	// made: the two recorded, or three if the workflow already took this one
	// (docs/intake.md).
	if again := post(`{"campaign":"webinar-q3","email":"noor@processed.example","score":10}`); again["duplicate"] != true || (again["touches"] != float64(2) && again["touches"] != float64(3)) {
		t.Fatalf("third post, after the worker recorded two: %v", again)
	}
	time.Sleep(time.Second)
	if n := countOutbox(t, s, lead, "offer"); n != 1 {
		t.Fatalf("%d offers for one lead", n)
	}
}
