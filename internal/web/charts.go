package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are inline SVG built on the server: no script, no library, readable
// by a screen reader (role="img" with a title and a description) and always
// next to a table of the same numbers.

// Bar is one bar of a horizontal bar chart.
type Bar struct {
	Label   string
	Value   float64
	Display string // shown at the bar's end; the value when empty
	Class   string // good, bad or empty, for the colour
}

// Series is one named series of a column chart.
type Series struct {
	Name   string
	Values []float64
	Color  string
}

// chart colours with a contrast of at least 3:1 against white (WCAG 1.4.11).
const (
	colorBar  = "#0b5cad"
	colorGood = "#1e7b34"
	colorBad  = "#b3261e"
	// colorMarketing marks marketing-side misses.
	colorMarketing = "#6b3fa0"
	colorText      = "#1a1a1a"
	colorGrid      = "#767676"
)

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so axis
// labels read well; zero or less gives 1.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// scale maps v in [0, max] to [0, size]; out-of-range values are clamped. A
// positive value never disappears: it gets at least 2 units.
func scale(v, max, size float64) float64 {
	if max <= 0 || v <= 0 || math.IsNaN(v) {
		return 0
	}
	s := v / max * size
	if s > size {
		s = size
	}
	if s < 2 {
		s = 2
	}
	return s
}

// Percent returns met/(met+missed) as a percentage, and false when there is
// nothing to judge yet.
func Percent(met, missed int) (float64, bool) {
	if met+missed <= 0 {
		return 0, false
	}
	return 100 * float64(met) / float64(met+missed), true
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// HBars draws a horizontal bar chart as a figure: a visible title, one row
// per bar (the label and value are HTML text, so they keep the page's font
// size on a phone; the bar is a small SVG scaled to the row), an axis with
// its unit under the bars, and a dashed target line when target > 0.
// max 0 means the largest value, rounded up. unit follows every number
// ("%", or "" for counts, then named in the title).
func HBars(id, title, unit string, bars []Bar, max, target float64) template.HTML {
	if max <= 0 {
		for _, b := range bars {
			max = math.Max(max, b.Value)
		}
		max = niceMax(max)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<figure id="%s" class="chart hbars" aria-labelledby="%s-t"><figcaption id="%s-t">%s</figcaption>`, esc(id), esc(id), esc(id), esc(title))
	for _, b := range bars {
		color := colorBar
		switch b.Class {
		case "good":
			color = colorGood
		case "bad":
			color = colorBad
		}
		disp := b.Display
		if disp == "" {
			disp = fmtNum(b.Value) + unit
		}
		fmt.Fprintf(&sb, `<div class="hrow"><span class="hlabel">%s</span>`, esc(b.Label))
		fmt.Fprintf(&sb, `<svg class="htrack" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">`)
		fmt.Fprintf(&sb, `<rect x="0" y="0" width="100" height="10" fill="#eceef2"/>`)
		fmt.Fprintf(&sb, `<rect class="bar" x="0" y="0" width="%.1f" height="10" fill="%s"><title>%s: %s</title></rect>`, scale(b.Value, max, 100), color, esc(b.Label), esc(disp))
		if target > 0 && target <= max {
			tx := target / max * 100
			fmt.Fprintf(&sb, `<line class="target" x1="%.1f" y1="0" x2="%.1f" y2="10" stroke="%s" stroke-width="2" stroke-dasharray="3 2" vector-effect="non-scaling-stroke"/>`, tx, tx, colorText)
		}
		fmt.Fprintf(&sb, `</svg><span class="hval">%s</span></div>`, esc(disp))
	}
	mid := "" // counts have no half ticks
	if unit != "" || max/2 == math.Trunc(max/2) {
		mid = fmtNum(max/2) + unit
	}
	fmt.Fprintf(&sb, `<div class="hrow haxis" aria-hidden="true"><span class="hlabel"></span><span class="ticks"><span>0</span><span>%s</span><span>%s%s</span></span><span class="hval"></span></div>`,
		mid, fmtNum(max), unit)
	if target > 0 {
		fmt.Fprintf(&sb, `<p class="legend"><span class="target-key" aria-hidden="true">┆</span> target %s%s</p>`, fmtNum(target), unit)
	}
	sb.WriteString(`</figure>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}

// Columns draws one series as columns over labels (days), as a figure with
// a visible title, a y axis from zero with its unit and x labels in HTML.
func Columns(id, title, unit string, labels []string, s Series) template.HTML {
	const width, height = 100.0, 50.0
	max := 0.0
	for _, v := range s.Values {
		max = math.Max(max, v)
	}
	max = niceMax(max)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<figure id="%s" class="chart cols" aria-labelledby="%s-t"><figcaption id="%s-t">%s</figcaption>`, esc(id), esc(id), esc(id), esc(title))
	fmt.Fprintf(&sb, `<div class="colgrid"><div class="yaxis" aria-hidden="true"><span>%s</span><span>%s</span><span>0</span></div>`, fmtNum(max), esc(unit))
	fmt.Fprintf(&sb, `<svg class="plot" viewBox="0 0 %g %g" preserveAspectRatio="none" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, width, height, esc(title))
	fmt.Fprintf(&sb, `<line x1="0" y1="0.5" x2="%g" y2="0.5" stroke="%s" stroke-dasharray="2 2" vector-effect="non-scaling-stroke"/>`, width, colorGrid)
	fmt.Fprintf(&sb, `<line x1="0" y1="%g" x2="%g" y2="%g" stroke="%s" vector-effect="non-scaling-stroke"/>`, height, width, height, colorGrid)
	if n := len(labels); n > 0 {
		groupW := width / float64(n)
		for i, l := range labels {
			v := 0.0
			if i < len(s.Values) {
				v = s.Values[i]
			}
			h := scale(v, max, height)
			fmt.Fprintf(&sb, `<rect class="col" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s: %s %s</title></rect>`,
				groupW*float64(i)+groupW*0.15, height-h, groupW*0.7, h, s.Color, esc(l), fmtNum(v), esc(unit))
		}
	}
	sb.WriteString(`</svg></div>`)
	if n := len(labels); n > 0 {
		fmt.Fprintf(&sb, `<div class="xaxis" aria-hidden="true"><span>%s</span><span>%s</span><span>%s</span></div>`, esc(labels[0]), esc(labels[n/2]), esc(labels[n-1]))
	}
	sb.WriteString(`</figure>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}
