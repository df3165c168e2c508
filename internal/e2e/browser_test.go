package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The phone-sized viewport the pages are checked on (an iPhone 12–15).
const phoneWidth, phoneHeight = 390, 844

// chromiumPath is Debian's Chromium, or BATON_CHROMIUM. A missing browser fails
// the test: the browser layer is part of `make test`, never silently skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("BATON_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("Chromium is not installed at %s (%v): run `make browser` (installs Debian's chromium) or set BATON_CHROMIUM to a Chromium binary", p, err)
	}
	return p
}

// browser starts a headless Chromium with a fresh profile, for at most 60s.
func browser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// Cleanups run last-in first-out: the browser exits before its profile
	// directory (t.TempDir above) is removed.
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight,
		chromedp.EmulateScale(2), chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	return bctx
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// TestRepAcceptsInBrowser is the rep's path in a real browser: open the offer
// link on a phone, confirm, see the result; a tampered link is refused.
func TestRepAcceptsInBrowser(t *testing.T) {
	chromium := chromiumPath(t) // before the stack, to fail fast
	s := startStack(t)
	// Screenshots stay for a look when BATON_SCREENSHOTS names a folder.
	shots := os.Getenv("BATON_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// startStack's 3s window is for the timer paths; a rep in a browser gets
	// a window that a slow CI machine cannot miss, so the click is never late.
	root, _ := testenv.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	camp, err := domain.ParseCampaign(data)
	if err != nil {
		t.Fatal(err)
	}
	camp.AcceptWithin = domain.Duration(2 * time.Minute)
	camp.SLAPolicy = "" // the default policy, so the 2-minute window applies
	if err := s.Store.UpsertCampaign(context.Background(), camp, "live", s.Config.DefaultAcceptWindow); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, chromium)

	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"priya.nair@initech.example","name":"Priya Nair","company":"Initech","country":"gb","score":80}`)
	if code != 202 || res["new"] != true {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	offer := waitMail(t, s, "ana.schmidt@example.com", "offer", 10*time.Second)
	if len(offer.Links) != 2 || offer.Links[0].Label != "Accept lead" {
		t.Fatalf("offer: %+v", offer)
	}
	link := offer.Links[0].URL

	// The confirm page.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
	if err != nil {
		t.Fatalf("open offer link: %v", err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("confirm page: HTTP %d", resp.Status)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#accept"))); err != nil {
		t.Fatalf("confirm page has no visible #accept: %v", err)
	}
	screenshot(t, ctx, shots, "1-confirm.png")
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(heading, "Priya Nair") {
		t.Fatalf("confirm heading %q does not name the lead", heading)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Initech") || !strings.Contains(body, "Ana Schmidt") {
		t.Fatalf("confirm page misses the company or the rep:\n%s", body)
	}
	label, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("button#accept")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(label) != "Accept lead" {
		t.Fatalf("button says %q, want %q", label, "Accept lead")
	}
	viewport, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(document.querySelector('meta[name="viewport"]') || {}).content || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(viewport, "width=device-width") {
		t.Fatalf("confirm page has no responsive <meta name=viewport> (content %q)", viewport)
	}
	// Nothing overflows the phone's width (no sideways scrolling).
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > phoneWidth {
		// Not fatal, so the rest of the path still runs and screenshots.
		t.Errorf("confirm page is %dpx wide on a %dpx screen, so it scrolls sideways (%v): a long unbreakable value such as the email overflows the table; td{overflow-wrap:anywhere} in internal/web/static/baton.css fixes it", w, phoneWidth, err)
	}
	// A keyboard user reaches the button with Tab (it is the first stop).
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if active, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`)); err != nil || active != "accept" {
		t.Fatalf("after one Tab the focus is on %q, want the accept button (%v)", active, err)
	}
	if v := getLead(t, s, id); v.State != "Offered" {
		t.Fatalf("opening the link changed the lead: %s", v.State)
	}

	// Click: the form posts, the result page says so.
	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#accept")))
	if err != nil {
		t.Fatalf("click accept: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#message"))); err != nil {
		t.Fatalf("no #message after accepting: %v", err)
	}
	screenshot(t, ctx, shots, "2-accepted.png")
	if heading, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || heading != "Lead accepted" {
		t.Fatalf("after the click: HTTP %d, heading %q", resp.Status, heading)
	}
	v := getLead(t, s, id)
	if v.State != "Accepted" || v.Owner == nil || v.Owner.ID != "ana" || v.AcceptedAt == nil {
		t.Fatalf("lead after the browser accept: %+v", v)
	}

	// A tampered link is refused, in the browser and over plain HTTP.
	tampered := link[:len(link)-3] + "AAA"
	if tampered == link {
		tampered = link[:len(link)-3] + "BBB"
	}
	if resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(tampered)); err != nil {
		t.Fatalf("open tampered link: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#message"))); err != nil {
		t.Fatalf("no #message on the tampered link: %v", err)
	}
	screenshot(t, ctx, shots, "3-tampered.png")
	if heading, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden || heading != "This link cannot be used" {
		t.Fatalf("tampered link: HTTP %d, heading %q", resp.Status, heading)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('form, #accept').length`)); err != nil || n != 0 {
		t.Fatalf("the refusal page offers a form (%d, %v)", n, err)
	}
	if r, page := do(t, http.DefaultClient, "GET", tampered, "", ""); r.StatusCode != http.StatusForbidden || !strings.Contains(page, "This link cannot be used") {
		t.Fatalf("tampered link over HTTP: %d %s", r.StatusCode, page)
	}
	after := getLead(t, s, id)
	if after.State != "Accepted" || after.Owner == nil || after.Owner.ID != "ana" || after.AcceptedAt == nil || !after.AcceptedAt.Equal(*v.AcceptedAt) || len(after.Events) != len(v.Events) {
		t.Fatalf("the tampered link changed the lead: before %+v, after %+v", v, after)
	}
}
