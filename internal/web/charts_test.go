package web

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

func TestNiceMax(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0, 1}, {-3, 1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {10, 10}, {11, 20}, {99, 100}, {100, 100}, {240, 500},
	} {
		if got := niceMax(c.in); got != c.want {
			t.Errorf("niceMax(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}

func TestScale(t *testing.T) {
	for _, c := range []struct{ v, max, size, want float64 }{
		{0, 10, 100, 0}, {5, 10, 100, 50}, {10, 10, 100, 100}, {20, 10, 100, 100}, // clamped
		{0.01, 10, 100, 2}, // a positive value stays visible
		{-1, 10, 100, 0}, {5, 0, 100, 0},
	} {
		if got := scale(c.v, c.max, c.size); got != c.want {
			t.Errorf("scale(%g, %g, %g) = %g, want %g", c.v, c.max, c.size, got, c.want)
		}
	}
}

func TestPercent(t *testing.T) {
	if _, ok := Percent(0, 0); ok {
		t.Error("Percent(0, 0) judged nothing as a percentage")
	}
	if p, ok := Percent(3, 1); !ok || p != 75 {
		t.Errorf("Percent(3, 1) = %g, %v", p, ok)
	}
	if p, _ := Percent(0, 4); p != 0 {
		t.Errorf("Percent(0, 4) = %g", p)
	}
}

var rectWidth = regexp.MustCompile(`<rect class="bar" x="[^"]+" y="[^"]+" width="([0-9.]+)"`)

func TestHBars(t *testing.T) {
	h := string(HBars("f", "Funnel <of> leads", "", []Bar{{Label: "Captured", Value: 10}, {Label: "MQL & more", Value: 5}, {Label: "Converted", Value: 0}}, 0, 0))
	if !strings.HasPrefix(h, `<figure id="f" class="chart hbars" aria-labelledby="f-t"><figcaption id="f-t">Funnel &lt;of&gt; leads</figcaption>`) {
		t.Fatalf("no visible title: %s", h)
	}
	if !strings.Contains(h, "MQL &amp; more") || strings.Contains(h, "MQL & more") {
		t.Fatalf("label not escaped: %s", h)
	}
	m := rectWidth.FindAllStringSubmatch(h, -1)
	if len(m) != 3 {
		t.Fatalf("%d bars, want 3: %s", len(m), h)
	}
	w := make([]float64, 3)
	for i := range m {
		w[i], _ = strconv.ParseFloat(m[i][1], 64)
	}
	// 10 is the (nice) maximum: full width; 5 is half; 0 is nothing.
	if w[0] != 100 || w[1] != 50 || w[2] != 0 {
		t.Fatalf("bar widths %v", w)
	}
	if !strings.Contains(h, `<span class="ticks"><span>0</span><span>5</span><span>10</span></span>`) || strings.Contains(h, "target") {
		t.Fatalf("axis or stray target: %s", h)
	}
	// A fixed maximum (percentages) is honoured, with the unit and the target line.
	h = string(HBars("p", "pct", "%", []Bar{{Label: "a", Value: 50}}, 100, 90))
	m = rectWidth.FindAllStringSubmatch(h, -1)
	if len(m) != 1 || m[0][1] != "50.0" || !strings.Contains(h, `<line class="target" x1="90.0"`) ||
		!strings.Contains(h, "<span>100%</span>") || !strings.Contains(h, "target 90%") || !strings.Contains(h, `<span class="hval">50%</span>`) {
		t.Fatalf("50 of 100, target 90: %s", h)
	}
}

func TestColumns(t *testing.T) {
	h := string(Columns("c", "Escalations per day", "escalations", []string{"1 Jan", "2 Jan", "3 Jan"}, Series{Name: "Escalations", Values: []float64{1, 4, 0}, Color: colorBar}))
	if n := strings.Count(h, `class="col"`); n != 3 {
		t.Fatalf("%d columns, want 3: %s", n, h)
	}
	if !strings.Contains(h, "<figcaption id=\"c-t\">Escalations per day</figcaption>") || !strings.Contains(h, "<title>2 Jan: 4 escalations</title>") {
		t.Fatalf("title or column title missing: %s", h)
	}
	if !strings.Contains(h, `<div class="yaxis" aria-hidden="true"><span>5</span><span>escalations</span><span>0</span></div>`) ||
		!strings.Contains(h, `<span>1 Jan</span><span>2 Jan</span><span>3 Jan</span>`) {
		t.Fatalf("axes: %s", h)
	}
	// The tallest column (4 of a nice max of 5) is 4/5 of the plot height.
	if !strings.Contains(h, `height="40.00" fill="#0b5cad"><title>2 Jan`) {
		t.Fatalf("tallest column: %s", h)
	}
	if empty := string(Columns("e", "none", "", nil, Series{})); !strings.HasSuffix(empty, "</figure>") {
		t.Fatalf("empty chart: %s", empty)
	}
}

func TestCountdown(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{90 * time.Minute, "in 1h 30m"}, {5 * time.Minute, "in 5m"}, {-20 * time.Minute, "overdue by 20m"},
		{26 * time.Hour, "in 1d 2h"}, {-(49*time.Hour + 10*time.Minute), "overdue by 2d 1h"}, {0, "in 0m"},
		{-10 * time.Second, "overdue by 0m"}, {10 * time.Second, "in 0m"},
	} {
		if got := Countdown(now, now.Add(c.d)); got != c.want {
			t.Errorf("Countdown(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestTeamSLA(t *testing.T) {
	reps := []store.RepSLA{
		{RepID: "ana", TeamID: "emea", TeamName: "EMEA", RepMetrics: domain.RepMetrics{SLA: domain.Ratio{N: 5, Of: 6}, MissedAccept: []string{"a"}}},
		{RepID: "bea", TeamID: "emea", TeamName: "EMEA", RepMetrics: domain.RepMetrics{SLA: domain.Ratio{N: 1, Of: 3}, MissedContact: []string{"b", "c"}}},
		{RepID: "zed", TeamID: "us", TeamName: "US", RepMetrics: domain.RepMetrics{SLA: domain.Ratio{N: 0, Of: 2}, MissedAccept: []string{"d", "e"}}},
	}
	got := TeamSLA(reps)
	if len(got) != 2 || got[0].TeamID != "emea" || got[1].TeamID != "us" {
		t.Fatalf("teams: %+v", got)
	}
	if e := got[0]; e.Met() != 6 || e.Missed() != 3 || len(e.MissedAccept) != 1 || len(e.MissedContact) != 2 {
		t.Fatalf("emea: %+v (met %d missed %d)", e, e.Met(), e.Missed())
	}
	if p, ok := Percent(got[1].Met(), got[1].Missed()); !ok || p != 0 {
		t.Fatalf("us: %g %v", p, ok)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/inbox": "/inbox", "/leads/ld_x?y=1": "/leads/ld_x?y=1",
		"https://evil.example/": "", "//evil.example/": "", `/\evil.example`: "", "inbox": "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var rgb [3]float64
		for i := range rgb {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				rgb[i] = c / 12.92
			} else {
				rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TestContrast: text meets WCAG AA (4.5:1) on the page and card backgrounds;
// chart marks and the focus ring meet the 3:1 for graphics (1.4.11).
func TestContrast(t *testing.T) {
	const white, page, header = "#ffffff", "#f6f7f9", "#0b3d6e"
	for _, c := range []struct {
		fg, bg string
		min    float64
	}{
		{colorText, white, 4.5}, {colorText, page, 4.5}, {"#4a5260", white, 4.5}, {"#4a5260", page, 4.5}, // body, muted
		{"#0b5cad", white, 4.5}, {"#0b5cad", page, 4.5}, {white, "#0b5cad", 4.5}, {white, header, 4.5}, // links, buttons, header
		{"#b3261e", white, 4.5},                                                                                              // overdue countdown
		{colorBar, white, 3}, {colorGood, white, 3}, {colorBad, white, 3}, {colorMarketing, white, 3}, {colorGrid, white, 3}, // chart marks
		{"#767676", white, 3},                       // field borders
		{"#b35000", white, 3}, {"#b35000", page, 3}, // the keyboard focus ring (static/baton.css)
	} {
		if got := contrast(c.fg, c.bg); got < c.min {
			t.Errorf("%s on %s: contrast %.2f, want at least %.1f", c.fg, c.bg, got, c.min)
		}
	}
}

// TestFocusRingContrast reads the focus rings the layout actually uses.
func TestFocusRingContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/baton.css")
	if err != nil {
		t.Fatal(err)
	}
	rings := regexp.MustCompile(`outline:3px solid (#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1)
	if len(rings) == 0 {
		t.Fatal("baton.css has no 3px focus ring")
	}
	for _, r := range rings {
		for _, bg := range []string{"#ffffff", "#f6f7f9"} {
			if c := contrast(r[1], bg); c < 3 {
				t.Errorf("focus ring %s on %s: contrast %.2f < 3", r[1], bg, c)
			}
		}
	}
}

func TestByMarketer(t *testing.T) {
	views := []marketingView{
		{CampaignStat: store.CampaignStat{ID: "a", OwnerName: "Mo", OwnerEmail: "mo@x.example"},
			Stats:  domain.CampaignStats{MQLs: 4, Metrics: domain.Metrics{Acceptance: domain.Ratio{N: 3, Of: 4}}},
			Commit: store.Commitments{MQLsPerWeek: 2, MinAcceptance: 0.8}, VolumeMet: true, QualityMet: false},
		{CampaignStat: store.CampaignStat{ID: "b", OwnerName: "Mo", OwnerEmail: "MO@x.example"},
			Stats: domain.CampaignStats{MQLs: 1, Metrics: domain.Metrics{Acceptance: domain.Ratio{N: 0, Of: 1}}}},
		{CampaignStat: store.CampaignStat{ID: "c", OwnerName: "Lu", OwnerEmail: "lu@x.example"}},
	}
	got := ByMarketer(views)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	mo, lu := got[0], got[1]
	if mo.Campaigns != 2 || mo.MQL != 5 || mo.Acceptance != (domain.Ratio{N: 3, Of: 5}) || mo.AcceptancePct() != "60% (3 of 5 decided leads)" || mo.CommitmentText != "1 of 2 met" {
		t.Fatalf("mo: %+v", mo)
	}
	if lu.AcceptancePct() != "no decided leads yet" || lu.CommitmentText != "none in the specs" {
		t.Fatalf("lu: %+v", lu)
	}
}

func TestExtendChoicesFollowThePolicy(t *testing.T) {
	got := extendChoices(time.Minute)
	if len(got) != 3 || got[0].Value != "15s" || got[1].Value != "30s" || got[2].Value != "1m0s" {
		t.Errorf("60 s window: %+v", got)
	}
	got = extendChoices(4 * time.Hour)
	if len(got) != 3 || got[0].Label != "1h of business time" || got[2].Value != "4h0m0s" {
		t.Errorf("4 h window: %+v", got)
	}
	for _, c := range append(extendChoices(90*time.Second), extendChoices(3*time.Hour)...) {
		d, err := time.ParseDuration(c.Value)
		if err != nil || d <= 0 {
			t.Errorf("choice %+v does not parse", c)
		}
	}
	if extendChoices(0) != nil {
		t.Error("no window, no choices")
	}
}

func TestInboxQueuesPutWinnableFirst(t *testing.T) {
	contacted := time.Now()
	rows := []inboxRow{
		{InboxLead: store.InboxLead{ID: "late", State: "Offered", OwnerID: "ana", OwnerName: "Ana"}, Overdue: true},
		{InboxLead: store.InboxLead{ID: "offer", State: "Offered", OwnerID: "ana", OwnerName: "Ana"}},
		{InboxLead: store.InboxLead{ID: "call", State: "Accepted", OwnerID: "bea", OwnerName: "Bea"}},
		{InboxLead: store.InboxLead{ID: "follow", State: "Accepted", OwnerID: "bea", OwnerName: "Bea", ContactedAt: &contacted}},
	}
	qs := Queues(rows, "", "", false)
	var got []string
	for _, q := range qs {
		got = append(got, fmt.Sprintf("%s:%d", q.ID, len(q.Rows)))
	}
	if strings.Join(got, " ") != "accept:1 contact:1 overdue:1 follow-up:1" || qs[0].Rows[0].ID != "offer" {
		t.Errorf("queues %v", got)
	}
	if qs := Queues(rows, "bea", "contact", false); len(qs) != 1 || len(qs[0].Rows) != 1 || qs[0].Rows[0].ID != "call" {
		t.Errorf("filtered %+v", qs)
	}
	mixed := []inboxRow{rows[1], {InboxLead: store.InboxLead{ID: "b-offer", State: "Offered", OwnerID: "bea", OwnerName: "Bea"}},
		{InboxLead: store.InboxLead{ID: "a-offer2", State: "Offered", OwnerID: "ana", OwnerName: "Ana"}}}
	if q := Queues(mixed, "", "accept", true)[0].Rows; q[0].ID != "offer" || q[1].ID != "a-offer2" || q[0].GroupHead != "Ana" || q[1].GroupHead != "" || q[2].GroupHead != "Bea" {
		t.Errorf("manager's queue not grouped by rep: %+v", q)
	}
	g := ByOwner(rows)
	if len(g) != 2 || g[0].Name != "Ana" || g[0].Counts["overdue"] != 1 || g[0].Counts["accept"] != 1 || g[1].Total != 2 {
		t.Errorf("groups %+v", g)
	}
}
