package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The two screens every role's path is walked on.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{{"phone", phoneWidth, phoneHeight, true}, {"desktop", 1280, 900, false}}

func setViewport(t *testing.T, ctx context.Context, w, h int64, mobile bool) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if mobile {
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h, opts...)); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, ctx context.Context, u string) int64 {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return resp.Status
}

// legible checks that a page has no text under 12 px and does not scroll
// sideways at the viewport's width.
func legible(t *testing.T, ctx context.Context, page string, width int64) {
	t.Helper()
	small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const bad = [];
		for (const e of document.querySelectorAll("body *")) {
			let own = false;
			for (const n of e.childNodes) if (n.nodeType === 3 && n.textContent.trim()) own = true;
			if (!own) continue;
			const r = e.getBoundingClientRect();
			if (r.width === 0 || r.height === 0) continue;
			const fs = parseFloat(getComputedStyle(e).fontSize);
			if (fs < 12) bad.push(e.tagName + " " + fs + "px: " + e.textContent.trim().slice(0, 30));
		}
		return bad;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(small) > 0 {
		t.Errorf("%s: text under 12 px: %s", page, strings.Join(small, "; "))
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); err != nil || w > width {
		t.Errorf("%s is %d px wide on a %d px screen (%v)", page, w, width, err)
	}
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`nav button`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
}

// has asserts that a selector matches at least one visible element: the
// next action a page owes its reader.
func has(t *testing.T, ctx context.Context, page, sel string) {
	t.Helper()
	for _, wh := range visibleSizes(t, ctx, sel) {
		if wh[0] > 0 && wh[1] > 0 {
			return
		}
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	t.Fatalf("%s: no visible %s on the page:\n%s", page, sel, body)
}

// offerLink waits for the offer of a lead (by name) and returns its rep,
// the rep's email and the email's links.
func offerOf(t *testing.T, s *Stack, id, name string) (rep, email string, links []string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v := getLead(t, s, id); v.State == "Offered" && v.Owner != nil {
			rep, email = v.Owner.ID, v.Owner.Email
			m := waitMail(t, s, email, "offer", 10*time.Second)
			if strings.Contains(m.Subject, name) {
				for _, l := range m.Links {
					links = append(links, l.URL)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no offer of %s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRolePathsInBrowser walks each role's main path on a phone and a
// desktop and asserts that every result page offers the next action: the
// rep from the offer email to an accepted lead, its first-contact deadline
// and Log contact, and on to a logged contact; the manager from an
// escalation email to handing the lead to a named rep, and the team view;
// the marketer to the campaign's shared numbers; the leader to a scoreboard
// readable on a phone. Screenshots go to testdata/artifacts.
func TestRolePathsInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	shots := artifacts(t)
	ctx := browser(t, chromium)
	ctx, cancel := context.WithTimeout(ctx, 170*time.Second)
	defer cancel()

	// A lead nobody takes on startStack's 3 s window: it escalates to the manager.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"late@globex.example","name":"Lena Late","company":"Globex","score":70}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	late := res["id"].(string)
	esc := waitMail(t, s, "max.becker@example.com", "escalation", 3*window+15*time.Second)
	// From here on, a policy with a first-contact clock and a reminder half-way.
	if _, err := s.Store.Pool.Exec(context.Background(), `update campaigns set policy_name = 'demo-seconds', accept_window_seconds = 60 where id = 'webinar-q3'`); err != nil {
		t.Fatal(err)
	}

	// --- The rep, once per screen: offer link → accept → next steps → log contact → next steps.
	for i, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		name := fmt.Sprintf("Rita %s", vp.name)
		code, res := submit(t, s, fmt.Sprintf(`{"campaign":"webinar-q3","email":"rita%d@initech.example","name":%q,"company":"Initech","country":"gb","score":80}`, i, name))
		if code != 202 {
			t.Fatalf("submit: %d %v", code, res)
		}
		id := res["id"].(string)
		_, repEmail, links := offerOf(t, s, id, name)
		open(t, ctx, links[0])
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#accept"))); err != nil {
			t.Fatalf("offer confirm: %v", err)
		}
		screenshot(t, ctx, shots, vp.name+"-rep-1-offer.png")
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#accept"))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#next"))); err != nil {
			t.Fatalf("accepted page has no next steps: %v", err)
		}
		screenshot(t, ctx, shots, vp.name+"-rep-2-accepted.png")
		legible(t, ctx, vp.name+" accepted page", vp.width)
		if d := text(t, ctx, "#deadline"); !strings.HasPrefix(d, "First contact by") || !strings.Contains(d, "in ") {
			t.Errorf("accepted page deadline: %q", d)
		}
		has(t, ctx, "accepted page", `#next a[href^="mailto:"]`)
		has(t, ctx, "accepted page", `#next a[href="/inbox"]`)
		has(t, ctx, "accepted page", `#next a[href^="/leads/`+id+`?t="]`)
		// Log contact, from the result page.
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.Search(`//a[text()="Log contact"]`))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#contact"))); err != nil {
			t.Fatalf("log contact page: %v", err)
		}
		if page := text(t, ctx, "main"); !strings.Contains(page, "First contact by") || strings.Contains(page, "Accept by") {
			t.Errorf("the Log contact page shows the wrong deadline:\n%s", page)
		}
		screenshot(t, ctx, shots, vp.name+"-rep-3-log-contact.png")
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#contact"))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#next"))); err != nil {
			t.Fatalf("contact page has no next steps: %v", err)
		}
		if h := text(t, ctx, "h1"); h != "Contact logged" {
			t.Fatalf("after logging: %q", h)
		}
		has(t, ctx, "contact logged page", `#next .actions a`) // convert, recycle, disqualify
		screenshot(t, ctx, shots, vp.name+"-rep-4-contacted.png")
		// The lead page from the result page: state, actions, readable history in the rep's zone.
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.Search(`//a[text()="Open the lead"]`))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#timeline"))); err != nil {
			t.Fatal(err)
		}
		has(t, ctx, "lead page", "#actions a")
		if tl := text(t, ctx, "#timeline"); !strings.Contains(tl, "Contact logged") || !strings.Contains(tl, "Qualified (MQL)") || strings.Contains(tl, "contact-due") {
			t.Errorf("lead page history:\n%s", tl)
		}
		legible(t, ctx, vp.name+" lead page", vp.width)
		screenshot(t, ctx, shots, vp.name+"-rep-5-lead.png")
		if i == 0 {
			// The rep's inbox, as a work queue, first screen shows leads.
			signInBrowser(t, ctx, s, repEmail, shots, vp.name+"-rep")
		}
	}
	for _, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		open(t, ctx, s.URL+"/inbox")
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#summary"))); err != nil {
			t.Fatal(err)
		}
		if sum := text(t, ctx, "#summary"); !strings.Contains(sum, "Accept now: 0") || !strings.Contains(sum, "Contact now: 0") || !strings.Contains(sum, "In follow-up: 1") {
			t.Errorf("inbox summary: %q", sum)
		}
		has(t, ctx, "rep inbox", "#q-follow-up article.lead .actions a")
		if top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("article.lead").getBoundingClientRect().top`)); err != nil || top > float64(vp.height) {
			t.Errorf("%s: the first lead starts at %.0f px, below the first screen (%v)", vp.name, top, err)
		}
		legible(t, ctx, vp.name+" rep inbox", vp.width)
		screenshot(t, ctx, shots, vp.name+"-rep-6-inbox.png")
	}
	signOut(t, ctx)

	// --- The manager: the escalation email's hand-over link → a named rep → next steps; the team view.
	var reassign string
	for _, l := range esc.Links {
		if strings.Contains(l.Label, "next rep") || strings.Contains(l.Label, "Hand") {
			reassign = l.URL
		}
	}
	if reassign == "" {
		t.Fatalf("escalation email has no hand-over link: %+v", esc.Links)
	}
	setViewport(t, ctx, phoneWidth, phoneHeight, true)
	if st := open(t, ctx, reassign); st != 200 {
		t.Fatalf("hand-over page: HTTP %d: %s", st, text(t, ctx, "main"))
	}
	screenshot(t, ctx, shots, "phone-manager-1-handover.png")
	opts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#to option")).map(o => o.value)`))
	if err != nil || len(opts) < 2 {
		t.Fatalf("hand-over offers no named rep: %v %v", opts, err)
	}
	to := opts[len(opts)-1]
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#to"), to), chromedp.SendKeys(chromedp.CSS("#reason"), "Cy is on leave")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#reassign"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#message"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, shots, "phone-manager-2-handed-over.png")
	if h := text(t, ctx, "h1"); h != "Lead reassigned" {
		t.Fatalf("hand-over: %q: %s", h, text(t, ctx, "main"))
	}
	has(t, ctx, "hand-over result", `#next a[href="/inbox"]`)
	if v := getLead(t, s, late); v.Owner == nil || v.Owner.ID != to {
		t.Errorf("handed to %s, held by %+v", to, v.Owner)
	}
	// The used hand-over link explains itself, with the ways on.
	open(t, ctx, s.URL+"/signin") // a fresh navigation, not a reload of the form's answer
	if st := open(t, ctx, reassign); st != http.StatusForbidden {
		t.Errorf("used hand-over link: HTTP %d", st)
	}
	has(t, ctx, "used link page", "#links a")
	screenshot(t, ctx, shots, "phone-manager-3-used-link.png")
	signInBrowser(t, ctx, s, "max.becker@example.com", shots, "phone-manager")
	for _, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		open(t, ctx, s.URL+"/inbox")
		has(t, ctx, "manager inbox", "#by-rep")
		has(t, ctx, "manager inbox", "#by-rep a")
		legible(t, ctx, vp.name+" manager inbox", vp.width)
		screenshot(t, ctx, shots, vp.name+"-manager-4-team.png")
		// The handed lead runs on its own 3 s policy (it started before the
		// switch to demo-seconds), so by now its clock may have moved it from
		// Accept now on: the rep filter must show it in whichever queue it is,
		// and that queue's filter must keep it.
		open(t, ctx, s.URL+"/inbox?rep="+to)
		has(t, ctx, "filtered team view", `article.lead a[href="/leads/`+late+`"]`)
		sec, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('article.lead a[href="/leads/`+late+`"]').closest("section.queue").id`))
		if err != nil || !strings.HasPrefix(sec, "q-") {
			t.Fatalf("the handed lead is in no queue section: %q %v", sec, err)
		}
		q := strings.TrimPrefix(sec, "q-")
		open(t, ctx, s.URL+"/inbox?queue="+q+"&rep="+to)
		has(t, ctx, "filtered team view", "#q-"+q+" article.lead")
		screenshot(t, ctx, shots, vp.name+"-manager-5-filtered.png")
	}
	signOut(t, ctx)

	// --- The marketer: the campaign page's shared numbers, what each counts, how commitments are judged.
	signInBrowser(t, ctx, s, "mo.fischer@example.com", shots, "phone-marketer")
	for _, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		open(t, ctx, s.URL+"/campaigns/webinar-q3")
		has(t, ctx, "campaign page", `#metrics tr[data-metric="acceptance"]`)
		has(t, ctx, "campaign page", "#judging")
		if m := text(t, ctx, "#metrics"); !strings.Contains(m, "decided lead") || !strings.Contains(m, "deadline") {
			t.Errorf("campaign numbers do not say what they count:\n%s", m)
		}
		legible(t, ctx, vp.name+" campaign page", vp.width)
		screenshot(t, ctx, shots, vp.name+"-marketer-1-campaign.png")
		open(t, ctx, s.URL+"/inbox")
		if h := text(t, ctx, "h1"); h != "Leads of my campaigns" {
			t.Errorf("marketer inbox: %q", h)
		}
		screenshot(t, ctx, shots, vp.name+"-marketer-2-inbox.png")
	}
	signOut(t, ctx)

	// --- The leader: a scoreboard readable on a phone, answering why reps miss.
	signInBrowser(t, ctx, s, "sam.okafor@example.com", shots, "phone-leader")
	for _, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		open(t, ctx, s.URL+"/scoreboard")
		has(t, ctx, "scoreboard", "#by-rep figcaption")
		has(t, ctx, "scoreboard", "#by-rep .ticks")
		has(t, ctx, "scoreboard", "#by-rep .legend") // the target, named
		if n := len(visibleSizes(t, ctx, "#by-rep line.target")); n == 0 {
			t.Errorf("the rep chart draws no target line")
		}
		has(t, ctx, "scoreboard", "#why")
		has(t, ctx, "scoreboard", "#why details summary") // missed deadlines open their leads
		legible(t, ctx, vp.name+" scoreboard", vp.width)
		screenshot(t, ctx, shots, vp.name+"-leader-1-scoreboard.png")
	}

}
