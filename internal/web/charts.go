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

// HBars draws a horizontal bar chart; max 0 means the largest value, rounded up.
func HBars(id, title string, bars []Bar, max float64) template.HTML {
	const width, labelW, rowH, valueW = 360.0, 120.0, 30.0, 48.0
	if max <= 0 {
		for _, b := range bars {
			max = math.Max(max, b.Value)
		}
		max = niceMax(max)
	}
	height := rowH*float64(len(bars)) + 8
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %g %g" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(id), width, height)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title>`, esc(id), esc(title))
	barW := width - labelW - valueW
	for i, b := range bars {
		y := 4 + rowH*float64(i)
		color := colorBar
		switch b.Class {
		case "good":
			color = colorGood
		case "bad":
			color = colorBad
		}
		disp := b.Display
		if disp == "" {
			disp = fmtNum(b.Value)
		}
		w := scale(b.Value, max, barW)
		fmt.Fprintf(&sb, `<text x="%g" y="%g" font-size="11" fill="%s" text-anchor="end">%s</text>`, labelW-6, y+rowH/2+4, colorText, esc(truncate(b.Label, 16)))
		fmt.Fprintf(&sb, `<rect class="bar" x="%g" y="%g" width="%.1f" height="%g" fill="%s"><title>%s: %s</title></rect>`,
			labelW, y+4, w, rowH-10, color, esc(b.Label), esc(disp))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%g" font-size="12" fill="%s">%s</text>`, labelW+w+4, y+rowH/2+4, colorText, esc(disp))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}

// Columns draws grouped columns, one group per label (a day), one column per
// series, with a legend and a y axis from zero.
func Columns(id, title string, labels []string, series []Series) template.HTML {
	const width, height, left, bottom, top = 360.0, 200.0, 28.0, 34.0, 22.0
	max := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	max = niceMax(max)
	plotW, plotH := width-left-4, height-bottom-top
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %g %g" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), esc(id), width, height)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title>`, esc(id), esc(title))
	// Axis: zero and the maximum.
	fmt.Fprintf(&sb, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s"/>`, left, top+plotH, width-4, top+plotH, colorGrid)
	fmt.Fprintf(&sb, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-dasharray="2 3"/>`, left, top, width-4, top, colorGrid)
	fmt.Fprintf(&sb, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="%s">%s</text>`, left-3, top+4, colorText, fmtNum(max))
	fmt.Fprintf(&sb, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="%s">0</text>`, left-3, top+plotH+4, colorText)
	// Legend.
	x := left
	for _, s := range series {
		fmt.Fprintf(&sb, `<rect x="%g" y="4" width="10" height="10" fill="%s"/><text x="%g" y="13" font-size="11" fill="%s">%s</text>`,
			x, s.Color, x+14, colorText, esc(s.Name))
		x += 24 + 7*float64(len(s.Name))
	}
	if n := len(labels); n > 0 && len(series) > 0 {
		groupW := plotW / float64(n)
		colW := math.Max(1, (groupW-2)/float64(len(series)))
		every := int(math.Ceil(float64(n) / 7)) // at most ~7 date labels
		for i, l := range labels {
			gx := left + groupW*float64(i) + 1
			for j, s := range series {
				v := 0.0
				if i < len(s.Values) {
					v = s.Values[i]
				}
				h := scale(v, max, plotH)
				fmt.Fprintf(&sb, `<rect class="col" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					gx+colW*float64(j), top+plotH-h, colW, h, s.Color, esc(l), esc(s.Name), fmtNum(v))
			}
			if i%every == 0 {
				fmt.Fprintf(&sb, `<text x="%.1f" y="%g" font-size="10" fill="%s">%s</text>`, gx, height-bottom+14, colorText, esc(l))
			}
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
