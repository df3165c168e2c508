package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// TestPhoneFromIntakeToTelLink: a lead submitted with a phone carries it,
// as a tel: link, in the offer, on the accept result page, on the lead page
// of its holder and of the team's manager, and in the first-contact
// reminder; the sales leader and the campaign's marketer see the lead but
// not the number; erasure takes it away.
func TestPhoneFromIntakeToTelLink(t *testing.T) {
	s := startStack(t)
	pol := domain.Policy{Name: "e2e-phone", AcceptWithin: domain.Duration(30 * time.Second), FirstContactWithin: domain.Duration(6 * time.Second),
		Reminders: []float64{0.5}, OnMiss: domain.OnMiss{Reassign: 1, Escalate: true}}
	if err := pol.Validate(); err != nil {
		t.Fatal(err)
	}
	usePolicy(t, s, pol)
	if code, prob := submit(t, s, `{"campaign":"webinar-q3","email":"bad.phone@acme.example","phone":"ring me"}`); code != 400 ||
		!strings.Contains(prob["errors"].([]any)[0].(map[string]any)["detail"].(string), "has 'r'") {
		t.Fatalf("malformed phone: %d %v", code, prob)
	}
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"pia@acme.example","name":"Pia Phone","company":"Acme","score":70,"phone":"+49 (30) 123-456"}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	const tel, shown = `href="tel:&#43;4930123456"`, "&#43;4930123456"
	offer := waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	if !strings.Contains(offer.Text, "Phone:     +4930123456 (tel:+4930123456)") {
		t.Fatalf("offer without the phone:\n%s", offer.Text)
	}
	if v := getLead(t, s, id); v.Phone != "+4930123456" {
		t.Fatalf("stored phone %q", v.Phone)
	}
	code, page := click(t, offer.Links[0].URL)
	if code != 200 || !strings.Contains(page, "Lead accepted") || !strings.Contains(page, tel) || !strings.Contains(page, "Call "+shown) ||
		!strings.Contains(page, `href="mailto:pia@acme.example"`) {
		t.Fatalf("accept result page without tel and mailto links: %d\n%s", code, page)
	}
	get := func(c *http.Client) string {
		resp, body := do(t, c, "GET", s.URL+"/leads/"+id, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("lead page: %d", resp.StatusCode)
		}
		return body
	}
	if p := get(secSignIn(t, s, "ana.schmidt@example.com")); !strings.Contains(p, tel) || !strings.Contains(p, `id="call"`) {
		t.Fatalf("holder's lead page without the call link:\n%s", p)
	}
	if p := get(secSignIn(t, s, "max.becker@example.com")); !strings.Contains(p, tel) {
		t.Fatalf("manager's lead page without the phone:\n%s", p)
	}
	for _, who := range []string{"sam.okafor@example.com", "mo.fischer@example.com"} {
		if p := get(secSignIn(t, s, who)); strings.Contains(p, "4930123456") || strings.Contains(p, "tel:") {
			t.Fatalf("%s sees the phone:\n%s", who, p)
		}
	}
	rem := waitMail(t, s, "ana.schmidt@example.com", "reminder", 20*time.Second)
	if !strings.HasPrefix(rem.Subject, "Reminder: contact") {
		t.Fatalf("first reminder is not the first-contact one: %q", rem.Subject)
	}
	if !strings.Contains(rem.Text, "Call:      +4930123456 (tel:+4930123456)") {
		t.Fatalf("first-contact reminder without the phone:\n%s", rem.Text)
	}
	// Erasure takes the phone with the rest.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.LeadWorkflowID(id),
		UpdateName: workflows.UpdateErase, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.EraseInput{Actor: "admin:test", Reason: "erasure-request"}}})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	for wait := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if v := getLead(t, s, id); v.State == "Erased" {
			if v.Phone != "" {
				t.Fatalf("erased lead keeps its phone %q", v.Phone)
			}
			break
		}
		if time.Now().After(wait) {
			t.Fatal("not erased within 20s")
		}
	}
}
