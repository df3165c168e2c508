package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// artifacts is where browser tests keep their screenshots: $BATON_ARTIFACTS,
// else internal/e2e/testdata/artifacts/<test> (ignored by git).
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BATON_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	t.Logf("screenshots in %s", abs)
	return dir
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// signInBrowser signs in through the pages: the form, the link from the
// outbox, the confirm button. It ends on the role's landing page.
func signInBrowser(t *testing.T, ctx context.Context, s *Stack, email, shots, name string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.URL+"/signin")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	); err != nil {
		t.Fatalf("sign-in form: %v", err)
	}
	if h := text(t, ctx, "h1"); h != "Check your email" {
		t.Fatalf("after asking for a link: %q", h)
	}
	link := waitMail(t, s, email, "signin", 5*time.Second).Links[0].URL
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#signin"))); err != nil {
		t.Fatalf("sign-in link page: %v", err)
	}
	screenshot(t, ctx, shots, name+"-signin.png")
	accessible(t, ctx, "sign-in confirm page")
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#signin"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// accessible checks what a page owes a screen reader and a keyboard user:
// a language, one h1, a label for every field, a name for every chart and
// link, and a visible focus ring on the first Tab stop.
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const p = [];
		if (document.documentElement.lang !== "en") p.push("html has no lang");
		if (document.querySelectorAll("h1").length !== 1) p.push(document.querySelectorAll("h1").length + " h1 elements");
		for (const f of document.querySelectorAll("input:not([type=hidden]), select, textarea"))
			if (!f.labels || f.labels.length === 0) p.push("field without a label: " + (f.id || f.name));
		for (const s of document.querySelectorAll("svg.chart"))
			if (s.getAttribute("role") !== "img" || !s.querySelector("title") || !s.querySelector("title").textContent) p.push("chart without a name: " + s.id);
		for (const a of document.querySelectorAll("a, button"))
			if (!a.textContent.trim()) p.push("link or button without text");
		return p;
	})()`))
	if err != nil {
		t.Fatalf("%s: accessibility check: %v", page, err)
	}
	if len(problems) > 0 {
		t.Errorf("%s: %s", page, strings.Join(problems, "; "))
	}
	// Keyboard: on a freshly loaded page, the first Tab stop shows a focus ring.
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	outline, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement; if (!e || e === document.body) return "nothing focused"; const s = getComputedStyle(e); return s.outlineStyle + " " + s.outlineWidth; })()`))
	if err != nil || !strings.HasPrefix(outline, "solid 3px") {
		t.Errorf("%s: the first Tab stop has no visible focus ring (%q, %v)", page, outline, err)
	}
}

// visibleSizes returns, for each element matching sel, its rendered width
// and height in CSS pixels.
func visibleSizes(t *testing.T, ctx context.Context, sel string) [][2]float64 {
	t.Helper()
	sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[][2]float64](`Array.from(document.querySelectorAll(`+"`"+sel+"`"+`)).map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })`))
	if err != nil {
		t.Fatalf("sizes of %s: %v", sel, err)
	}
	return sizes
}

// TestPagesInBrowser: a rep clicks from the offer email to an accepted lead,
// signs in by magic link and finds it in the inbox and its timeline; the
// leader signs in and the scoreboard's charts render with data.
func TestPagesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	shots := artifacts(t)
	ctx := browser(t, chromium)

	// A lead nobody takes, on startStack's 3s window: lapses, reassignment
	// and an escalation for the scoreboard.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"late@globex.example","name":"Lena Late","company":"Globex","score":70}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	waitMail(t, s, "max.becker@example.com", "escalation", 3*window+10*time.Second)
	useLongWindow(t, s)

	// The offer email's link, in the browser, to an accepted lead.
	code, res = submit(t, s, `{"campaign":"webinar-q3","email":"priya.nair@initech.example","name":"Priya Nair","company":"Initech","country":"gb","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	var rep, repEmail string
	deadline := time.Now().Add(10 * time.Second)
	for rep == "" {
		if v := getLead(t, s, id); v.State == "Offered" && v.Owner != nil {
			rep, repEmail = v.Owner.ID, v.Owner.Email
		} else if time.Now().After(deadline) {
			t.Fatalf("lead not offered: %+v", v)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == ""; {
		_, body := do(t, http.DefaultClient, "GET", s.URL+"/api/v1/outbox?to="+repEmail, "", "")
		if strings.Contains(body, "Priya Nair") {
			m := waitMail(t, s, repEmail, "offer", time.Second)
			if strings.Contains(m.Subject, "Priya Nair") {
				link = m.Links[0].URL
			}
		}
		if link == "" {
			if time.Now().After(deadline) {
				t.Fatalf("no offer of Priya Nair to %s", repEmail)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#accept"))); err != nil {
		t.Fatalf("confirm page: %v", err)
	}
	screenshot(t, ctx, shots, "1-offer-confirm.png")
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#accept")))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#message"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, shots, "2-accepted.png")
	if h := text(t, ctx, "h1"); resp.Status != 200 || h != "Lead accepted" {
		t.Fatalf("accept: HTTP %d %q", resp.Status, h)
	}
	if v := getLead(t, s, id); v.State != "Accepted" || v.Owner.ID != rep {
		t.Fatalf("after accept: %+v", v)
	}
	// The same link again: refused, it works once.
	if resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(link)); err != nil || resp.Status != 403 {
		t.Fatalf("reused link in the browser: %v %v", resp, err)
	}
	screenshot(t, ctx, shots, "3-reused-link.png")

	// The rep signs in by magic link and finds the lead in the inbox.
	signInBrowser(t, ctx, s, repEmail, shots, "4-rep")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("article.lead"))); err != nil {
		t.Fatalf("inbox: %v", err)
	}
	screenshot(t, ctx, shots, "5-inbox.png")
	accessible(t, ctx, "inbox")
	inbox := text(t, ctx, "main")
	if !strings.Contains(inbox, "Priya Nair") || !strings.Contains(inbox, "My SLA record") {
		t.Fatalf("inbox:\n%s", inbox)
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > phoneWidth {
		t.Errorf("inbox is %dpx wide on a %dpx phone (%v)", w, phoneWidth, err)
	}
	// The timeline, opened from the inbox.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="/leads/`+id+`"]`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#timeline"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, shots, "6-timeline.png")
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > phoneWidth {
		t.Errorf("timeline is %dpx wide on a %dpx phone (%v)", w, phoneWidth, err)
	}
	accessible(t, ctx, "timeline")
	if tl := text(t, ctx, "#timeline"); !strings.Contains(tl, "Accepted") || !strings.Contains(tl, "Offered to a rep") || !strings.Contains(tl, "(rep)") {
		t.Fatalf("timeline:\n%s", tl)
	}
	// Sign out.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`nav button`))); err != nil {
		t.Fatal(err)
	}

	// The leader signs in: the scoreboard's charts render with data.
	signInBrowser(t, ctx, s, "sam.okafor@example.com", shots, "7-leader")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#over-time"))); err != nil {
		t.Fatalf("scoreboard: %v", err)
	}
	screenshot(t, ctx, shots, "8-scoreboard.png")
	accessible(t, ctx, "scoreboard")
	for _, chart := range []string{"#by-team", "#by-rep", "#over-time"} {
		sz := visibleSizes(t, ctx, chart)
		if len(sz) != 1 || sz[0][0] < 100 || sz[0][1] < 30 {
			t.Fatalf("chart %s renders at %v", chart, sz)
		}
	}
	nonZero := func(sel string) int {
		n := 0
		for _, wh := range visibleSizes(t, ctx, sel) {
			if wh[0] > 0 && wh[1] > 0 {
				n++
			}
		}
		return n
	}
	if n, m := nonZero("#over-time rect.col"), nonZero("#esc-time rect.col"); n < 1 || m < 1 { // today's breaches and escalation, one chart each
		t.Fatalf("breaches chart has %d visible columns, escalations %d", n, m)
	}
	// One bar per rep; the rep who accepted shows, the reps who let it lapse are at 0%.
	if n, all := nonZero("#by-rep rect.bar"), len(visibleSizes(t, ctx, "#by-rep rect.bar")); all != 3 || n < 1 {
		t.Fatalf("rep chart has %d bars, %d visible", all, n)
	}
	if n := nonZero("#by-team rect.bar"); n < 1 {
		t.Fatalf("team chart has %d visible bars", n)
	}
	// The leader's inbox: the escalated lead's deadline has passed; the
	// countdown script (progressive enhancement) keeps the server's words.
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.URL+"/inbox")); err != nil {
		t.Fatal(err)
	}
	server := text(t, ctx, ".countdown")
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.batonTick(); document.querySelector(".countdown").textContent`))
	if err != nil || !strings.HasPrefix(server, "overdue by ") || !strings.HasPrefix(after, "overdue by ") {
		t.Fatalf("countdown: server %q, script %q (%v)", server, after, err)
	}
	screenshot(t, ctx, shots, "8b-leader-inbox.png")
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.URL+"/scoreboard")); err != nil {
		t.Fatal(err)
	}
	// The campaign page's funnel, from the scoreboard.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="/campaigns/webinar-q3"]`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#funnel"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, shots, "9-campaign.png")
	accessible(t, ctx, "campaign page")
	if n := nonZero("#funnel rect.bar"); n < 3 { // captured, MQL, accepted
		t.Fatalf("funnel has %d visible bars", n)
	}
}
