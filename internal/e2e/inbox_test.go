package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// inboxLink finds the inbox's action link with a label on a lead's card.
func inboxLink(t *testing.T, s *Stack, c *http.Client, leadName, label string) string {
	t.Helper()
	_, page := do(t, c, "GET", s.URL+"/inbox", "", "")
	i := strings.Index(page, leadName)
	if i < 0 {
		t.Fatalf("%s is not in the inbox:\n%s", leadName, page)
	}
	card := page[i:]
	if j := strings.Index(card, "</article>"); j > 0 {
		card = card[:j]
	}
	m := regexp.MustCompile(`href="(/a/[^"]+)">` + regexp.QuoteMeta(label) + `</a>`).FindStringSubmatch(card)
	if m == nil {
		t.Fatalf("no %q on %s's card:\n%s", label, leadName, card)
	}
	return s.URL + m[1]
}

// confirmWith opens an action's confirm page in a signed-in client and posts
// its form with the fields given.
func confirmWith(t *testing.T, c *http.Client, link string, form url.Values) (int, string) {
	t.Helper()
	resp, page := do(t, c, "GET", link, "", "")
	if resp.StatusCode != 200 {
		return resp.StatusCode, page
	}
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("confirm page has no form: %s", page)
	}
	form.Set("csrf", m[1])
	resp, page = do(t, c, "POST", link, "application/x-www-form-urlencoded", form.Encode())
	return resp.StatusCode, page
}

// TestInboxActionsEndToEnd: a signed-in rep declines one lead with a reason,
// accepts another, logs a contact and disqualifies it, all from the inbox,
// on the real workflow.
func TestInboxActionsEndToEnd(t *testing.T) {
	s := startStack(t)
	useLongWindow(t, s)
	_, a := submit(t, s, `{"campaign":"webinar-q3","email":"decline.me@initech.example","name":"Decline Me","company":"Initech","score":80}`)
	waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	declined := a["id"].(string)
	ana := signInHTTP(t, s, "ana.schmidt@example.com")

	// Decline with a reason and a note: the lead goes to the next rep.
	code, page := confirmWith(t, ana, inboxLink(t, s, ana, "Decline Me", "Decline"), url.Values{"reason": {"not-my-territory"}, "note": {"US account"}})
	if code != 200 || !strings.Contains(page, "Lead declined") {
		t.Fatalf("decline: %d %s", code, page)
	}
	waitMail(t, s, "bea.ortiz@example.com", "offer", 10*time.Second)
	v := getLead(t, s, declined)
	if v.Owner == nil || v.Owner.ID != "bea" {
		t.Fatalf("after decline: %+v", v)
	}
	found := false
	for _, e := range v.Events {
		if e.Kind == "rejected" && e.Reason == "not-my-territory" && e.Actor == "rep:ana" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no rejected event with the reason: %+v", v.Events)
	}
	if _, inbox := do(t, ana, "GET", s.URL+"/inbox", "", ""); strings.Contains(inbox, "Decline Me") {
		t.Fatal("the declined lead is still in ana's inbox")
	}

	// Rotation: the next lead goes to cy, the one after to ana.
	submit(t, s, `{"campaign":"webinar-q3","email":"for.cy@initech.example","name":"For Cy","score":80}`)
	waitMail(t, s, "cy.walsh@example.com", "offer", 10*time.Second)
	_, b := submit(t, s, `{"campaign":"webinar-q3","email":"keep.me@globex.example","name":"Keep Me","company":"Globex","score":80}`)
	kept := b["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for getLead(t, s, kept).State != "Offered" {
		if time.Now().After(deadline) {
			t.Fatalf("not offered: %+v", getLead(t, s, kept))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, page := confirmWith(t, ana, inboxLink(t, s, ana, "Keep Me", "Accept"), url.Values{}); code != 200 || !strings.Contains(page, "Lead accepted") {
		t.Fatalf("accept: %d %s", code, page)
	}
	if code, page := confirmWith(t, ana, inboxLink(t, s, ana, "Keep Me", "Log contact"), url.Values{"channel": {"call"}, "note": {"left a voicemail"}}); code != 200 || !strings.Contains(page, "Contact logged") {
		t.Fatalf("contact: %d %s", code, page)
	}
	// Disqualify without a reason is refused and changes nothing; with one, it closes the lead.
	link := inboxLink(t, s, ana, "Keep Me", "Disqualify")
	if code, page := confirmWith(t, ana, link, url.Values{"reason": {""}}); code != 400 {
		t.Fatalf("disqualify without reason: %d %s", code, page)
	}
	if v := getLead(t, s, kept); v.State != "Contacted" {
		t.Fatalf("a refused disqualify changed the lead: %+v", v)
	}
	if code, page := confirmWith(t, ana, link, url.Values{"reason": {"no-budget"}}); code != 200 || !strings.Contains(page, "Lead disqualified") {
		t.Fatalf("disqualify: %d %s", code, page)
	}
	if v := getLead(t, s, kept); v.State != "Disqualified" || v.Reason != "no-budget" {
		t.Fatalf("after disqualify: %+v", v)
	}
	// The timeline shows every step with actor and reason.
	_, tl := do(t, ana, "GET", s.URL+"/leads/"+kept, "", "")
	for _, want := range []string{"<strong>Accepted</strong> by Ana Schmidt (rep)", "<strong>Contact logged</strong> by Ana Schmidt (rep)", "<strong>Disqualified</strong> by Ana Schmidt (rep)", "No budget"} {
		if !strings.Contains(tl, want) {
			t.Fatalf("timeline lacks %q:\n%s", want, tl)
		}
	}
}
