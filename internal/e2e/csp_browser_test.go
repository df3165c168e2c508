package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestPagesUnderTheCSPInBrowser (issue 15, finding 5): with the gateway's
// Content-Security-Policy, Chromium loads every page without a single
// violation or script error, the style sheet and the inbox's countdown
// script work, and a script injected inline does not run.
func TestPagesUnderTheCSPInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	shots := artifacts(t)
	useLongWindow(t, s)
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"csp@initech.example","name":"Cas Policy","company":"Initech","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	var repEmail string
	for deadline := time.Now().Add(10 * time.Second); repEmail == ""; time.Sleep(100 * time.Millisecond) {
		if v := getLead(t, s, id); v.State == "Offered" && v.Owner != nil {
			repEmail = v.Owner.Email
		} else if time.Now().After(deadline) {
			t.Fatalf("lead not offered: %+v", v)
		}
	}

	ctx := browser(t, chromium)
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			if strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
				return // there is none
			}
			if e.Entry.Level == log.EntryLevelError || e.Entry.Source == log.EntrySourceSecurity || strings.Contains(e.Entry.Text, "Content Security Policy") {
				problems = append(problems, string(e.Entry.Source)+": "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatal(err)
	}

	signInBrowser(t, ctx, s, repEmail, shots, "1-rep")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("article.lead"))); err != nil {
		t.Fatalf("inbox: %v", err)
	}
	screenshot(t, ctx, shots, "2-inbox.png")
	// The style sheet applies, and the countdown script runs and ticks.
	check, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const p = [];
		const bg = getComputedStyle(document.querySelector("header")).backgroundColor;
		if (bg !== "rgb(11, 61, 110)") p.push("header background " + bg + ": the style sheet did not apply");
		if (typeof window.batonTick !== "function") p.push("the countdown script did not run");
		else {
			const el = document.querySelector("[data-deadline]");
			if (!el) p.push("no countdown");
			else { el.textContent = "stale"; window.batonTick(); if (!/^(in|overdue by) /.test(el.textContent)) p.push("countdown after a tick: " + el.textContent); }
		}
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = true";
		document.body.appendChild(s);
		if (window.__inlineRan) p.push("an inline script ran");
		return p;
	})()`))
	if err != nil || len(check) > 0 {
		t.Fatalf("inbox under the CSP: %v %v", check, err)
	}
	// The injected script is refused by the policy, as it should be; that
	// refusal is the only violation allowed.
	mu.Lock()
	var rest []string
	for _, p := range problems {
		if !strings.Contains(p, "Content Security Policy") || !strings.Contains(p, "inline script") {
			rest = append(rest, p)
		}
	}
	problems = nil
	mu.Unlock()
	if len(rest) > 0 {
		t.Errorf("inbox: %s", strings.Join(rest, "\n"))
	}

	// The timeline and the sign-in pages, then the leader's scoreboard with its charts.
	for _, path := range []string{"/leads/" + id, "/campaigns"} {
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.URL+path)); err != nil {
			t.Fatal(err)
		}
	}
	// Sign out with the page's own form (its token, same origin).
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`nav button`))); err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); h != "Signed out" {
		t.Fatalf("sign out in the browser: %q", h)
	}
	signInBrowser(t, ctx, s, "sam.okafor@example.com", shots, "3-leader")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#over-time"))); err != nil {
		t.Fatalf("scoreboard: %v", err)
	}
	screenshot(t, ctx, shots, "4-scoreboard.png")
	if sz := visibleSizes(t, ctx, "#by-team"); len(sz) != 1 || sz[0][0] < 100 {
		t.Errorf("chart #by-team renders at %v", sz)
	}
	time.Sleep(200 * time.Millisecond) // late log entries
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("pages under the CSP: %s", strings.Join(problems, "\n"))
	}
}
