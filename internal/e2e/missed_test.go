package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// missedWindow is the first-contact window of the e2e-missed policy.
const missedWindow = 3 * time.Second

// useMissedPolicy puts webinar-q3 on a policy whose first contact is due
// seconds after acceptance, with an escalation on a miss and no reassignment.
func useMissedPolicy(t *testing.T, s *Stack) {
	t.Helper()
	pols, err := domain.ParsePolicies([]byte(`policies:
  - name: e2e-missed
    accept_within: 60s
    first_contact_within: 3s
    on_miss: {reassign: 0, escalate: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.ImportPolicies(context.Background(), pols, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Pool.Exec(context.Background(), `update campaigns set policy_name = 'e2e-missed', accept_window_seconds = 60 where id = 'webinar-q3'`); err != nil {
		t.Fatal(err)
	}
}

// mailsAbout waits until at least n messages of a kind reach to whose
// subject names who, and returns them oldest first.
func mailsAbout(t *testing.T, s *Stack, to, kind, who string, n int, within time.Duration) []outboxMsg {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, body := do(t, http.DefaultClient, "GET", s.URL+"/api/v1/outbox?to="+url.QueryEscape(to), "", "")
		var msgs, out []outboxMsg
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatalf("outbox: %v: %s", err, body)
		}
		for _, m := range msgs {
			if m.Kind == kind && strings.Contains(m.Subject, who) {
				out = append(out, m)
			}
		}
		if len(out) >= n {
			sort.Slice(out, func(i, j int) bool { return out[i].SentAt.Before(out[j].SentAt) })
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d %s mails about %s to %s within %s", len(out), n, kind, who, to, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func linkOf(t *testing.T, m outboxMsg, label string) string {
	t.Helper()
	for _, l := range m.Links {
		if strings.HasPrefix(l.Label, label) {
			return l.URL
		}
	}
	t.Fatalf("%q has no %q link: %+v", m.Subject, label, m.Links)
	return ""
}

func hasEvent(s *Stack, t *testing.T, id, kind string) int {
	n := 0
	for _, e := range getLead(t, s, id).Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

var optionRe = regexp.MustCompile(`<option value="([^"]+)">`)

// acceptMissed submits a lead, accepts its offer and waits for the
// escalation of its missed first contact to the manager.
func acceptMissed(t *testing.T, s *Stack, email, name string) (id, rep string, esc outboxMsg) {
	t.Helper()
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"`+email+`","name":"`+name+`","company":"Hooli","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id = res["id"].(string)
	rep, _, links := offerOf(t, s, id, name)
	if st, page := click(t, links[0]); st != 200 {
		t.Fatalf("accept: %d %s", st, page)
	}
	esc = mailsAbout(t, s, "max.becker@example.com", "escalation", name, 1, missedWindow+15*time.Second)[0]
	if !strings.Contains(esc.Subject, "first-contact") {
		t.Fatalf("escalation %q", esc.Subject)
	}
	return id, rep, esc
}

// TestMissedFirstContactOnTheRealStack: the manager's actions on a missed
// first contact, from the escalation email, on the real stack: the nudge (a
// mail to the rep with the Log-contact link, once per link), the extension
// (choices from the policy; a miss of the new deadline escalates again),
// the hand-over to a named rep (a fresh clock, the new rep mailed, the old
// links explaining themselves on the GET), and the take-over.
func TestMissedFirstContactOnTheRealStack(t *testing.T) {
	// Each escalation here is found by the lead named in its subject; a batch
	// names none (batching has its own tests: batch_test.go), so it is off.
	t.Setenv("BATON_ESCALATION_BATCH_WINDOW", "0")
	s := startStack(t)
	useMissedPolicy(t, s)
	id, rep, esc := acceptMissed(t, s, "nora@hooli.example", "Nora Nudge")
	repEmail := getLead(t, s, id).Owner.Email
	for _, l := range []string{"Open the lead", "Hand to a rep", "Take it myself", "Extend once", "Nudge "} {
		linkOf(t, esc, l)
	}

	// Nudge: one mail with the Log-contact link, one event; the link works once.
	nudge := linkOf(t, esc, "Nudge ")
	if st, page := clickWith(t, nudge, url.Values{"note": {"They asked for a call before noon"}}); st != 200 || !strings.Contains(page, "Nudge sent") {
		t.Fatalf("nudge: %d %s", st, page)
	}
	nm := mailsAbout(t, s, repEmail, "nudge", "Nora Nudge", 1, 10*time.Second)
	if len(nm) != 1 || !strings.Contains(nm[0].Text, "They asked for a call before noon") {
		t.Fatalf("nudge mail %+v", nm)
	}
	linkOf(t, nm[0], "Log contact")
	if st, _ := click(t, nudge); st != http.StatusForbidden {
		t.Errorf("a used nudge link: %d", st)
	}
	if n := hasEvent(s, t, id, "nudged"); n != 1 {
		t.Errorf("%d nudged events", n)
	}

	// Extend: the choices come from the 3 s window; the new deadline is
	// missed again and escalates again.
	extend := linkOf(t, esc, "Extend once")
	resp, page := do(t, http.DefaultClient, "GET", extend, "", "")
	if resp.StatusCode != 200 || !strings.Contains(page, `<option value="3s">`) || strings.Contains(page, `value="30m0s"`) {
		t.Fatalf("extend page: %d %s", resp.StatusCode, page)
	}
	if st, page := clickWith(t, extend, url.Values{"by": {"3s"}, "reason": {"The prospect is travelling"}}); st != 200 || !strings.Contains(page, "Deadline extended") {
		t.Fatalf("extend: %d %s", st, page)
	}
	// Until the new deadline passes, the hand-over link says why it has nothing to do.
	hand := linkOf(t, esc, "Hand to a rep")
	if resp, page := do(t, http.DefaultClient, "GET", hand, "", ""); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "extended") {
		t.Errorf("hand-over link while extended: %d %s", resp.StatusCode, page)
	}
	esc2 := mailsAbout(t, s, "max.becker@example.com", "escalation", "Nora Nudge", 2, missedWindow+15*time.Second)[1]
	if st, page := click(t, linkOf(t, esc2, "Extend once")); st != http.StatusConflict || !strings.Contains(page, "already extended once") {
		t.Errorf("a second extension: %d %s", st, page)
	}

	// Hand to a named rep: the page lists the team; the new rep holds it with a fresh clock.
	resp, page = do(t, http.DefaultClient, "GET", hand, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("hand-over page: %d %s", resp.StatusCode, page)
	}
	var to string
	for _, m := range optionRe.FindAllStringSubmatch(page, -1) {
		if m[1] != rep {
			to = m[1]
		}
	}
	if to == "" {
		t.Fatalf("hand-over page names no other rep: %s", page)
	}
	before := time.Now()
	if st, page := clickWith(t, hand, url.Values{"to": {to}, "reason": {rep + " is out sick"}}); st != 200 || !strings.Contains(page, "Lead handed over") {
		t.Fatalf("hand: %d %s", st, page)
	}
	v := getLead(t, s, id)
	if v.Owner == nil || v.Owner.ID != to || v.State != "Accepted" || v.ContactBy == nil || v.ContactBy.Before(before.Add(missedWindow-time.Second)) {
		t.Fatalf("after the hand-over: %+v", v)
	}
	handed := mailsAbout(t, s, v.Owner.Email, "handed", "Nora Nudge", 1, 10*time.Second)[0]
	linkOf(t, handed, "Log contact")
	mailsAbout(t, s, repEmail, "reassigned", "Nora Nudge", 1, 10*time.Second)
	// The first email's other links now explain themselves on the GET.
	for _, l := range []string{"Take it myself"} {
		if resp, page := do(t, http.DefaultClient, "GET", linkOf(t, esc, l), "", ""); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "handed to") {
			t.Errorf("%s link after the hand-over: %d %s", l, resp.StatusCode, page)
		}
	}
	// The old holder's links change nothing.
	if st, page := click(t, linkOf(t, nm[0], "Log contact")); st == 200 {
		t.Errorf("the old holder logged a contact: %s", page)
	}

	// The new holder misses too: a new escalation; the manager takes it over.
	esc3 := mailsAbout(t, s, "max.becker@example.com", "escalation", "Nora Nudge", 3, missedWindow+15*time.Second)[2]
	st, taken := click(t, linkOf(t, esc3, "Take it myself"))
	if st != 200 || !strings.Contains(taken, "The lead is yours") || !strings.Contains(taken, "Log contact") {
		t.Fatalf("take over: %d %s", st, taken)
	}
	if v := getLead(t, s, id); v.Owner == nil || v.Owner.ID != "max-manager" || v.State != "Accepted" {
		t.Fatalf("after the take-over: %+v", v)
	}
	if n := hasEvent(s, t, id, "handed"); n != 2 {
		t.Errorf("%d handed events", n)
	}

	// A forged link does nothing.
	forged := esc3.Links[len(esc3.Links)-1].URL
	forged = forged[:len(forged)-3] + "AAA"
	if st, _ := click(t, forged); st != http.StatusForbidden {
		t.Errorf("forged link: %d", st)
	}

	// The manager disqualifies it from the result page's link, with a note
	// for marketing (a control character is refused first).
	m := regexp.MustCompile(`<a href="(/a/[^"]+)">Disqualify</a>`).FindStringSubmatch(taken)
	if m == nil {
		t.Fatalf("take-over result has no Disqualify link: %s", taken)
	}
	dq := s.URL + m[1]
	if st, page := clickWith(t, dq, url.Values{"reason": {"student"}, "note": {"thesis\x1b[2J"}}); st != http.StatusBadRequest || !strings.Contains(page, "control character") {
		t.Errorf("a note with a control character: %d %s", st, page)
	}
	if st, page := clickWith(t, dq, url.Values{"reason": {"student"}, "note": {"Thesis research, no budget"}}); st != 200 || !strings.Contains(page, "Lead disqualified") {
		t.Fatalf("disqualify: %d %s", st, page)
	}
	var note string
	for _, e := range getLead(t, s, id).Events {
		if e.Kind == "disqualified" {
			note = e.Data["note"]
		}
	}
	if note != "Thesis research, no budget" {
		t.Errorf("disqualified note %q", note)
	}
	waitClosed(t, s, workflows.LeadWorkflowID(id))
	saveHistory(t, s.Temporal, workflows.LeadWorkflowID(id), "lead-missed-contact-nudge-extend-hand-takeover-disqualify")
}

// waitClosed waits until a workflow has completed.
func waitClosed(t *testing.T, s *Stack, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", workflowID, err)
	}
}

// An Update a build does not know is refused with the SDK's "unknown update"
// error, which the gateway and the starter recognise (docs/releases.md).
func TestUnknownUpdateIsRecognised(t *testing.T) {
	// Each escalation here is found by the lead named in its subject; a batch
	// names none (batching has its own tests: batch_test.go), so it is off.
	t.Setenv("BATON_ESCALATION_BATCH_WINDOW", "0")
	s := startStack(t)
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"olga@old.example","name":"Olga Old","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.LeadWorkflowID(res["id"].(string)),
		UpdateName: "hand-v99", Args: []any{workflows.HandInput{}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if !web.IsUnknownUpdate(err) {
		t.Fatalf("an unknown update answered %v", err)
	}
}
