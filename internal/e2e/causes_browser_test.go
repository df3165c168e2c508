package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScoreboardCausesInBrowser: routing passes Cy over because Cy is off
// shift, and Bea once she is at her cap; the leader's scoreboard lists
// those causes per rep in "why reps miss", each count opening its leads,
// with a chart of them, legible at 390 px and on a desktop.
func TestScoreboardCausesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	shots := artifacts(t)
	bg := context.Background()
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	otherDay := days[(int(time.Now().UTC().Weekday())+3)%7] // neither yesterday, today nor tomorrow anywhere
	if _, err := s.Store.Pool.Exec(bg, `update people set time_zone = 'UTC', working_hours = $1 where id = 'cy'`,
		map[string][]string{otherDay: {"00:00-24:00"}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	submitOne := func(i int) {
		code, res := submit(t, s, fmt.Sprintf(`{"campaign":"webinar-q3","email":"cause%d@initech.example","name":"Cause %d","score":80}`, i, i))
		if code != 202 {
			t.Fatalf("submit: %d %v", code, res)
		}
		ids = append(ids, res["id"].(string))
		for wait := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if v := getLead(t, s, res["id"].(string)); v.Owner != nil {
				return
			}
			if time.Now().After(wait) {
				t.Fatalf("lead %d not offered", i)
			}
		}
	}
	submitOne(0)
	submitOne(1)
	// Bea holds one lead; a cap of one puts her at it.
	if _, err := s.Store.Pool.Exec(bg, `update people set cap = 1 where id = 'bea'`); err != nil {
		t.Fatal(err)
	}
	submitOne(2)
	var offShift, atCap int
	if err := s.Store.Pool.QueryRow(bg, `select count(*) filter (where rep_id = 'cy' and reason = 'off shift'),
		count(*) filter (where rep_id = 'bea' and reason = 'at cap') from routing_skips`).Scan(&offShift, &atCap); err != nil {
		t.Fatal(err)
	}
	if offShift < 3 || atCap < 1 {
		t.Fatalf("routing_skips: cy off shift %d, bea at cap %d", offShift, atCap)
	}

	ctx := browser(t, chromium)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	signInBrowser(t, ctx, s, "sam.okafor@example.com", shots, "causes-leader")
	for _, vp := range viewports {
		setViewport(t, ctx, vp.width, vp.height, vp.mobile)
		open(t, ctx, s.URL+"/scoreboard")
		has(t, ctx, "scoreboard", "#causes figcaption")
		has(t, ctx, "scoreboard", "#why td.causes details summary")
		why := text(t, ctx, "#why")
		if !strings.Contains(why, "off shift: 3") || !strings.Contains(why, "at cap: ") {
			t.Fatalf("why reps miss:\n%s", why)
		}
		// Each count opens its leads.
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//td[contains(@class,"causes")]//summary[starts-with(text(),"off shift")]`))); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			has(t, ctx, "scoreboard causes", `#why td.causes details[open] a[href="/leads/`+id+`"]`)
		}
		legible(t, ctx, vp.name+" scoreboard causes", vp.width)
		screenshot(t, ctx, shots, vp.name+"-scoreboard-causes.png")
	}
}
