package main

import (
	"strings"
	"testing"
)

func TestScaleStepsAndPlot(t *testing.T) {
	if s, err := parseSteps("1000, 10000,100000"); err != nil || len(s) != 3 || s[2] != 100000 {
		t.Errorf("steps = %v, %v", s, err)
	}
	for _, bad := range []string{"1000,1000", "10000,1000", "many", "0"} {
		if _, err := parseSteps(bad); err == nil {
			t.Errorf("steps %q accepted", bad)
		}
	}
	svg := rssSVG("t", []svgSeries{{Label: "a<b", X: []float64{1000, 10000, 100000}, Y: []float64{160, 170, 175}}}, 250)
	for _, want := range []string{"<svg", "1k", "100k", "target 250 MiB", "a&lt;b", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the plot lacks %q", want)
		}
	}
	if niceStep(43) != 50 || niceStep(0.7) != 1 || humanCount(1e6) != "1M" {
		t.Error("axis helpers")
	}
}
