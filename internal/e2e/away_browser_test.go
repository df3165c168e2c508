package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/token"
	"github.com/chromedp/chromedp"
)

// A rep sets their out-of-office from the signed link on a phone: the form
// in their time zone, the confirmation, the period in the database.
func TestRepSetsAwayInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	signer, err := token.NewSigner([]byte(s.Config.SigningKey))
	if err != nil {
		t.Fatal(err)
	}
	link := s.URL + "/away/" + signer.Sign(token.Claims{Lead: "bea", Actor: "bea", Action: "away", Expires: time.Now().Add(time.Hour).Unix()})
	ctx := browser(t, chromium)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("open away link: %v %v", resp, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#away"))); err != nil {
		t.Fatalf("no visible #away button: %v", err)
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > phoneWidth {
		t.Errorf("page is %d px wide on a %d px phone (%v)", w, phoneWidth, err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(body, "Bea Ortiz") || !strings.Contains(body, "Europe/Madrid") {
		t.Fatalf("page text: %q, %v", body, err)
	}
	for sel, v := range map[string]string{"#from": "2030-07-01T09:00", "#until": "2030-07-15T18:00", "#reason": "summer"} {
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("fill %s: %v", sel, err)
		}
	}
	if resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#away"))); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("submit: %v %v", resp, err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#message")))
	if err != nil || !strings.Contains(msg, "Bea Ortiz is out of office from Mon 1 Jul 2030 09:00 CEST until Mon 15 Jul 2030 18:00 CEST") {
		t.Fatalf("message: %q, %v", msg, err)
	}
	ps, err := s.Store.AwayPeriods(context.Background(), "bea", time.Now())
	if err != nil || len(ps) != 1 || !ps[0].From.Equal(time.Date(2030, 7, 1, 7, 0, 0, 0, time.UTC)) || ps[0].Reason != "summer" {
		t.Fatalf("stored: %+v, %v", ps, err)
	}
}
