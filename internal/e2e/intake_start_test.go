package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/workerapp"
)

// useDefaultIntakeAck clears BATON_INTAKE_ACK for the test (restored after),
// so the stack runs with the configured default.
func useDefaultIntakeAck(t *testing.T) {
	t.Helper()
	t.Setenv("BATON_INTAKE_ACK", "") // registers the restore
	os.Unsetenv("BATON_INTAKE_ACK")
}

// startWorker starts the worker in-process on a stack started without one.
func startWorker(t *testing.T, s *Stack) {
	t.Helper()
	w, err := workerapp.New(s.Config, s.Temporal, s.Store)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// The default intake answer is start: Temporal holds the lead, its workflow
// has not run. Until a worker records it, the lead reads as pending (not
// 404) through the API and on the lead page for those who see its campaign,
// an engagement event for it is taken and applied once the workflow runs,
// and an unknown id still answers 404.
func TestDefaultStartAnswerReadsBackPending(t *testing.T) {
	useDefaultIntakeAck(t)
	s := startStackOpts(t, false) // no worker: the lead stays in Temporal only
	if s.Config.IntakeAck != "start" {
		t.Fatalf("default BATON_INTAKE_ACK %q, want start", s.Config.IntakeAck)
	}
	// Score 30 is below the campaign's bar (50): only the event below lifts
	// the lead to an offer.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"pam@pending.example","name":"Pam Pending","company":"Pendco","score":30}`)
	if code != 202 || res["new"] != true || res["pending"] == true {
		t.Fatalf("submit with no worker: %d %v; want new at once", code, res)
	}
	id := res["id"].(string)

	// Read back at once: 200, pending, what the touch carried.
	resp, body := api(t, s, "GET", "/api/v1/leads/"+id, "")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET a just-posted lead: %d %s", resp.StatusCode, body)
	}
	if got["pending"] != true || got["state"] != string(domain.StateCaptured) || got["id"] != id || got["email"] != "pam@pending.example" ||
		got["name"] != "Pam Pending" || got["campaign"] != "webinar-q3" || got["owner"] != nil || got["workflow_id"] != "lead-"+id {
		t.Fatalf("pending lead: %s", body)
	}
	if ev, ok := got["events"].([]any); !ok || len(ev) != 0 {
		t.Fatalf("pending lead's events: %s", body)
	}
	// An unknown lead is a 404 as before, and says nothing of pending.
	unknown := domain.LeadID("nobody@pending.example")
	if resp, body := api(t, s, "GET", "/api/v1/leads/"+unknown, ""); resp.StatusCode != 404 || strings.Contains(body, "pending") {
		t.Fatalf("unknown lead: %d %s", resp.StatusCode, body)
	}

	// An engagement event for the lead, before its workflow has run: taken,
	// once; an unknown lead's event is a 404.
	ev := `{"id":"webinar-77","type":"webinar_attended","points":40}`
	if resp, body := api(t, s, "POST", "/api/v1/leads/"+id+"/events", ev); resp.StatusCode != http.StatusAccepted || !strings.Contains(body, `"applied": true`) {
		t.Fatalf("event for a pending lead: %d %s", resp.StatusCode, body)
	}
	if resp, body := api(t, s, "POST", "/api/v1/leads/"+id+"/events", ev); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"duplicate": true`) {
		t.Fatalf("repeated event: %d %s", resp.StatusCode, body)
	}
	if resp, body := api(t, s, "POST", "/api/v1/leads/"+unknown+"/events", ev); resp.StatusCode != 404 {
		t.Fatalf("event for an unknown lead: %d %s", resp.StatusCode, body)
	}

	// The timeline page: the leader sees it pending; a rep (nobody holds it
	// yet) gets the same 404 as for an unknown lead.
	leader := secSignIn(t, s, "sam.okafor@example.com")
	if resp, page := do(t, leader, "GET", s.URL+"/leads/"+id, "", ""); resp.StatusCode != 200 || !strings.Contains(page, "Pam Pending") ||
		!strings.Contains(page, `id="pending"`) || !strings.Contains(page, "Captured") {
		t.Fatalf("leader's page of a pending lead: %d %s", resp.StatusCode, page)
	}
	rep := secSignIn(t, s, "ana.schmidt@example.com")
	respPending, pagePending := do(t, rep, "GET", s.URL+"/leads/"+id, "", "")
	respUnknown, pageUnknown := do(t, rep, "GET", s.URL+"/leads/"+unknown, "", "")
	if respPending.StatusCode != 404 || respUnknown.StatusCode != 404 || pagePending != pageUnknown {
		t.Fatalf("a rep's page of a pending lead: %d, of an unknown one: %d; pages differ: %v", respPending.StatusCode, respUnknown.StatusCode, pagePending != pageUnknown)
	}

	// A worker comes: the touch and then the event are applied, in that order.
	startWorker(t, s)
	waitState(t, s, id, "Offered", 20*time.Second)
	v := getLead(t, s, id)
	if v.Pending || v.Score != 70 || v.Touches != 1 {
		t.Fatalf("lead after the worker ran: pending %v, score %d (want 30 + 40), touches %d", v.Pending, v.Score, v.Touches)
	}
	var kinds []string
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	if k := strings.Join(kinds, ","); !strings.HasPrefix(k, "captured,") || strings.Count(k, "engagement") != 1 {
		t.Fatalf("events %s: want the capture first and the engagement once", k)
	}
	if n, err := s.Store.CountEngagement(context.Background(), id); err != nil || n != 1 {
		t.Fatalf("engagement rows %d (%v), want 1", n, err)
	}
}

// With a worker running, a source that posts a lead and at once an
// engagement event for it: the event is not lost (no 404 while the lead's
// first workflow task runs) and counts once.
func TestEngagementRightAfterTheLeadIsApplied(t *testing.T) {
	useDefaultIntakeAck(t)
	s := startStack(t)
	for i, email := range []string{"eve1@race.example", "eve2@race.example", "eve3@race.example"} {
		code, res := submit(t, s, `{"campaign":"webinar-q3","email":"`+email+`","name":"Eve Race","score":30}`)
		if code != 202 || res["new"] != true {
			t.Fatalf("submit %d: %d %v", i, code, res)
		}
		id := res["id"].(string)
		if resp, body := api(t, s, "POST", "/api/v1/leads/"+id+"/events", `{"id":"dl-1","type":"demo_request"}`); resp.StatusCode != http.StatusAccepted ||
			!strings.Contains(body, `"applied": true`) {
			t.Fatalf("event right after the lead %d: %d %s", i, resp.StatusCode, body)
		}
		waitState(t, s, id, "Offered", 10*time.Second) // 30 + 30: over the bar only with the event
		if v := getLead(t, s, id); v.Score != 60 {
			t.Fatalf("lead %d score %d, want 30 + 30", i, v.Score)
		}
	}
}
