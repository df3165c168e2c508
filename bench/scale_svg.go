package main

import (
	"fmt"
	"math"
	"os"
	"strings"
)

// svgSeries is one line of the RSS plot.
type svgSeries struct {
	Label string
	X, Y  []float64 // open leads, MiB
}

// writeScaleSVG draws the worker's RSS against open leads (log scale) with
// the 250 MiB target, from one scale run.
func writeScaleSVG(path string, steps []scaleStep, settings string) error {
	s := svgSeries{Label: "worker RSS, " + settings}
	h := svgSeries{Label: "worker Go heap in use"}
	for _, st := range steps {
		s.X, s.Y = append(s.X, float64(st.Open)), append(s.Y, st.WorkerRSSMiB)
		h.X, h.Y = append(h.X, float64(st.Open)), append(h.Y, st.HeapInuseMiB)
	}
	return os.WriteFile(path, []byte(rssSVG("Baton worker memory against open leads (make bench-scale)", []svgSeries{s, h}, 250)), 0o644)
}

// rssSVG renders series on a log-x, linear-y chart with a target line.
func rssSVG(title string, series []svgSeries, target float64) string {
	const W, H, L, R, T, B = 640.0, 400.0, 70.0, 20.0, 40.0, 90.0
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), target*1.2
	for _, s := range series {
		for i := range s.X {
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymax = math.Max(ymax, s.Y[i]*1.1)
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 1000, 100000
	}
	lo, hi := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
	if hi <= lo {
		hi = lo + 1
	}
	ystep := niceStep(ymax / 5)
	ymax = math.Ceil(ymax/ystep) * ystep
	px := func(x float64) float64 { return L + (math.Log10(x)-lo)/(hi-lo)*(W-L-R) }
	py := func(y float64) float64 { return H - B - y/ymax*(H-T-B) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", L, esc(title))
	for e := lo; e <= hi; e++ {
		x := px(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, T, x, H-B)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, H-B+16, humanCount(math.Pow(10, e)))
	}
	for y := 0.0; y <= ymax; y += ystep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", L, py(y), W-R, py(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", L-6, py(y)+4, y)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">open leads (log scale)</text>`+"\n", (L+W-R)/2, H-B+34)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">MiB</text>`+"\n", (T+H-B)/2)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="6 4"/>`+"\n", L, py(target), W-R, py(target))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#c00" text-anchor="end">target %.0f MiB</text>`+"\n", W-R-4, py(target)-5, target)
	colors := []string{"#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"}
	for i, s := range series {
		c := colors[i%len(colors)]
		var pts []string
		for j := range s.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		for j := range s.X {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", px(s.X[j]), py(s.Y[j]), c)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s" text-anchor="middle">%.0f</text>`+"\n", px(s.X[j]), py(s.Y[j])-8, c, s.Y[j])
		}
		ly := H - B + 52 + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", L, ly-4, L+24, ly-4, c)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", L+30, ly, esc(s.Label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func humanCount(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.0fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.0fk", x/1e3)
	default:
		return fmt.Sprintf("%.0f", x)
	}
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
