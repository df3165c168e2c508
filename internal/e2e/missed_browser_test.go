package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestManagerMissedFirstContactInBrowser walks the manager's path from the
// escalation of a missed first contact (the most common miss) to an action,
// in Chromium on a phone and a desktop, asserting the next action on each
// page: the email's Nudge link → the nudge sent, with the lead's overdue
// deadline and the actions left → on the phone, Hand to a rep → a named
// rep → the new holder's fresh deadline; on the desktop, the lead page →
// Take over → the lead is the manager's, with Log contact. Screenshots go to
// testdata/artifacts.
func TestManagerMissedFirstContactInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	// Each escalation here is found by the lead named in its subject; a batch
	// names none (batching has its own tests: batch_test.go), so it is off.
	t.Setenv("BATON_ESCALATION_BATCH_WINDOW", "0")
	s := startStack(t)
	useMissedPolicy(t, s)
	shots := artifacts(t)
	ctx := browser(t, chromium)
	ctx, cancel := context.WithTimeout(ctx, 170*time.Second)
	defer cancel()
	click := func(sel string) {
		t.Helper()
		act := chromedp.Click(chromedp.CSS(sel))
		if strings.HasPrefix(sel, "//") {
			act = chromedp.Click(chromedp.Search(sel))
		}
		if _, err := chromedp.RunResponse(ctx, act); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	wait := func(page, sel string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: no %s: %v", page, sel, err)
		}
	}
	for i, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		name := fmt.Sprintf("Milo %s", vp.name)
		id, rep, esc := acceptMissed(t, s, fmt.Sprintf("milo%d@hooli.example", i), name)
		p := vp.name + "-missed-"

		// The escalation email's Nudge link: what the rep will get, then sent.
		open(t, ctx, linkOf(t, esc, "Nudge "))
		wait("nudge page", "#nudge")
		if page := text(t, ctx, "main"); !strings.Contains(page, "log the contact") || !strings.Contains(page, "First contact by") {
			t.Errorf("nudge page:\n%s", page)
		}
		legible(t, ctx, vp.name+" nudge page", vp.width)
		screenshot(t, ctx, shots, p+"1-nudge.png")
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#note"), "They asked for a call today")); err != nil {
			t.Fatal(err)
		}
		click("#nudge")
		wait("nudge result", "#next")
		if h := text(t, ctx, "h1"); h != "Nudge sent" {
			t.Fatalf("after the nudge: %q: %s", h, text(t, ctx, "main"))
		}
		if d := text(t, ctx, "#deadline"); !strings.HasPrefix(d, "First contact by") || !strings.Contains(d, "overdue") {
			t.Errorf("nudge result deadline: %q", d)
		}
		has(t, ctx, "nudge result", `#next .actions a`)
		if acts := text(t, ctx, "#next .actions"); !strings.Contains(acts, "Hand to a rep") || !strings.Contains(acts, "Take over") {
			t.Errorf("nudge result offers %q", acts)
		}
		has(t, ctx, "nudge result", `#next a[href="/inbox"]`)
		legible(t, ctx, vp.name+" nudge result", vp.width)
		screenshot(t, ctx, shots, p+"2-nudged.png")

		if vp.mobile {
			// Hand to a named rep from the result page.
			click(`//a[text()="Hand to a rep"]`)
			wait("hand-over page", "#hand")
			opts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#to option")).map(o => o.value).filter(v => v)`))
			if err != nil || len(opts) == 0 {
				t.Fatalf("hand-over offers no named rep: %v %v", opts, err)
			}
			to := opts[0]
			if to == rep {
				t.Fatalf("the holder %s is offered as the new holder", rep)
			}
			legible(t, ctx, vp.name+" hand-over page", vp.width)
			screenshot(t, ctx, shots, p+"3-hand.png")
			if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#to"), to), chromedp.SendKeys(chromedp.CSS("#reason"), rep+" is off sick")); err != nil {
				t.Fatal(err)
			}
			click("#hand")
			wait("hand-over result", "#next")
			if h := text(t, ctx, "h1"); h != "Lead handed over" {
				t.Fatalf("after the hand-over: %q: %s", h, text(t, ctx, "main"))
			}
			if d := text(t, ctx, "#deadline"); !strings.HasPrefix(d, "First contact by") {
				t.Errorf("hand-over result deadline: %q", d)
			}
			has(t, ctx, "hand-over result", `#next a[href^="/leads/`+id+`?t="]`)
			has(t, ctx, "hand-over result", `#next a[href="/inbox"]`)
			legible(t, ctx, vp.name+" hand-over result", vp.width)
			screenshot(t, ctx, shots, p+"4-handed.png")
			if v := getLead(t, s, id); v.Owner == nil || v.Owner.ID != to {
				t.Errorf("handed to %s, held by %+v", to, v.Owner)
			}
			continue
		}
		// The lead page from the result page: the nudge on the record, the actions left.
		click(`//a[text()="Open the lead"]`)
		wait("lead page", "#timeline")
		if tl := text(t, ctx, "#timeline"); !strings.Contains(tl, "Rep nudged by the manager") || !strings.Contains(tl, "They asked for a call today") {
			t.Errorf("lead page history:\n%s", tl)
		}
		has(t, ctx, "lead page", "#actions a")
		legible(t, ctx, vp.name+" lead page", vp.width)
		screenshot(t, ctx, shots, p+"3-lead.png")
		click(`//p[@id="actions"]/a[text()="Take over"]`)
		wait("take-over page", "#hand-self")
		screenshot(t, ctx, shots, p+"4-take-over.png")
		click("#hand-self")
		wait("take-over result", "#next")
		if h := text(t, ctx, "h1"); h != "The lead is yours" {
			t.Fatalf("after the take-over: %q: %s", h, text(t, ctx, "main"))
		}
		if d := text(t, ctx, "#deadline"); !strings.HasPrefix(d, "First contact by") {
			t.Errorf("take-over result deadline: %q", d)
		}
		has(t, ctx, "take-over result", `#next a[href^="mailto:"]`)
		if acts := text(t, ctx, "#next p.actions:not(.primary)"); !strings.Contains(acts, "Log contact") {
			t.Errorf("take-over result offers %q", acts)
		}
		legible(t, ctx, vp.name+" take-over result", vp.width)
		screenshot(t, ctx, shots, p+"5-taken-over.png")
		if v := getLead(t, s, id); v.Owner == nil || v.Owner.ID != "max-manager" {
			t.Errorf("taken over, held by %+v", v.Owner)
		}
	}
}
