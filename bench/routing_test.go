package main

import (
	"context"
	"math"
	"testing"

	"github.com/batonhq/baton/internal/testenv"
)

// One small run: every caller count gives both rates, and the weighted
// shares come out 1:2:3.
func TestBenchRouting(t *testing.T) {
	// BENCH_ROUTING_N sets the assignments per caller (default 30: a quick check).
	res, err := benchRouting(context.Background(), testenv.AdminURL(), []int{1, 8, 32}, envInt("BENCH_ROUTING_N", 30))
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.String())
	if len(res.Rows) != 3 {
		t.Fatalf("rows = %+v", res.Rows)
	}
	for _, r := range res.Rows {
		if r.AssignPerSec <= 0 || r.InsertPerSec <= 0 || math.IsInf(r.AssignPerSec, 0) {
			t.Errorf("row %+v", r)
		}
	}
	for id, want := range map[string]float64{"r1": 1.0 / 6, "r2": 2.0 / 6, "r3": 3.0 / 6} {
		if got := res.Shares[id]; math.Abs(got-want) > 0.01 {
			t.Errorf("%s share %.3f, want %.3f", id, got, want)
		}
	}
}
