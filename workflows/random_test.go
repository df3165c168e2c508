package workflows

// TestRandomSchedules: per seed, a random schedule of everything that can
// happen to a lead and to a campaign, run in the time-skipping test
// environment with invariants checked along the way (see docs/testing).
//
//	BATON_SEEDS=n      how many seeds (default 500), from BATON_SEED_BASE (default 1)
//	BATON_SEED=k       run only seed k, and print its schedule
//	BATON_SHRINK=0     do not shrink a failing schedule
//
// A failing seed prints the one command that reproduces it.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func rndEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// rndSeedResult is what one seed found.
type rndSeedResult struct {
	seed       uint64
	violations []string
	schedule   string
	compared   bool // run twice and compared (no two activities ever in flight at once)
}

// runSeed runs both halves of one seed, twice, and compares the traces,
// with a manager's actions on missed leads among the lead's actions.
func runSeed(seed uint64, keep func(int) bool) rndSeedResult { return runSeedWith(seed, keep, true) }

// runSeedWith runs a seed; without missed, the schedule is the one seeds
// drew before the manager's actions on missed leads (issue 16) existed, so
// the regression seeds replay the schedules that found their defects.
func runSeedWith(seed uint64, keep func(int) bool, missed bool) rndSeedResult {
	res := rndSeedResult{seed: seed}
	lp, cp := seedPlans(seed, missed)
	if keep != nil {
		lp.Actions, cp.Actions = rndKeep(lp.Actions, keep, 0), rndKeep(cp.Actions, keep, len(lp.Actions))
	}
	v1, t1, c1 := runLead(lp)
	v2, t2, c2 := runCampaign(cp)
	res.violations = append(v1, v2...)
	res.schedule = fmt.Sprintf("lead: start %s, policy %+v, reps %d, leader %v, min score %d, first score %d, max touches/run %d, second life %v\n  actions %v\ncampaign: %s\n  actions %v",
		rndStamp(lp.Start), lp.Policy, len(lp.Reps), lp.Leader, lp.MinScore, lp.FirstScore, lp.MaxTouches, lp.SecondLife, lp.Actions, cp.summary(), cp.Actions)
	if len(res.violations) > 0 || c1 && c2 {
		return res
	}
	// The generated history replays deterministically: the same schedule
	// run again makes the same events, messages and answers at the same
	// instants.
	res.compared = true
	var v1b, v2b, t1b, t2b []string
	if !c1 {
		v1b, t1b, _ = runLead(lp)
	} else {
		t1 = nil
	}
	if !c2 {
		v2b, t2b, _ = runCampaign(cp)
	} else {
		t2 = nil
	}
	if d := rndDiff(append(t1, t2...), append(t1b, t2b...)); d != "" || len(v1b)+len(v2b) > 0 {
		res.violations = append(res.violations, "determinism: the same schedule ran differently the second time: "+d+strings.Join(append(v1b, v2b...), "; "))
	}
	return res
}

// seedPlans draws a seed's lead and campaign schedules.
func seedPlans(seed uint64, missed bool) (rndLeadPlan, rndCampaignPlan) {
	lp := genLeadPlan(rand.New(rand.NewPCG(seed, 1)))
	if missed {
		lp.Actions = append(lp.Actions, genMissedActions(rand.New(rand.NewPCG(seed, 3)), lp)...)
	}
	return lp, genCampaignPlan(rand.New(rand.NewPCG(seed, 2)))
}

func rndKeep(as []rndAction, keep func(int) bool, off int) []rndAction {
	var out []rndAction
	for i, a := range as {
		if keep(off + i) {
			out = append(out, a)
		}
	}
	return out
}

func rndDiff(a, b []string) string {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("first run %q, second run %q", a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d steps, then %d", len(a), len(b))
	}
	return ""
}

func rndCode(v string) string { return v[:max(0, strings.Index(v, ":"))] }

// shrink drops actions one at a time while the seed still fails with the
// same first invariant; it returns the smallest schedule found.
func shrink(seed uint64, code string, n int) (rndSeedResult, int) {
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	best := runSeed(seed, func(i int) bool { return keep[i] })
	runs := 0
	for i := n - 1; i >= 0 && runs < 80; i-- {
		keep[i] = false
		r := runSeed(seed, func(j int) bool { return keep[j] })
		runs++
		if len(r.violations) > 0 && rndCode(r.violations[0]) == code {
			best = r
			continue
		}
		keep[i] = true
	}
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	return best, kept
}

func TestRandomSchedules(t *testing.T) {
	seeds := []uint64{}
	if s := os.Getenv("BATON_SEED"); s != "" {
		k, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BATON_SEED=%q: %v", s, err)
		}
		seeds = append(seeds, k)
	} else {
		base := rndEnvInt("BATON_SEED_BASE", 1)
		n := rndEnvInt("BATON_SEEDS", 500)
		if testing.Short() && os.Getenv("BATON_SEEDS") == "" {
			n = 100
		}
		for i := 0; i < n; i++ {
			seeds = append(seeds, uint64(base+i))
		}
	}
	start := time.Now()
	// Thousands of short-lived test environments: collect garbage less often.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// The worker's clock runs 0–6 s ahead of the server's whenever a timer
	// is armed from it (timerNow), so timers fire early and must wait out the
	// rest: the SLA check refuses any reminder, breach or escalation early.
	defer withWallClock(aheadByUpTo6s)()
	// Test environments are independent: run seeds side by side.
	workers := max(1, rndEnvInt("BATON_SEED_WORKERS", runtime.GOMAXPROCS(0)))
	var mu sync.Mutex
	var failed []rndSeedResult
	var slow []string
	var compared atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(seeds) {
					return
				}
				t0 := time.Now()
				r := runSeed(seeds[i], nil)
				if d := time.Since(t0); d > 2*time.Second {
					mu.Lock()
					slow = append(slow, fmt.Sprintf("%d:%s", seeds[i], d.Round(100*time.Millisecond)))
					mu.Unlock()
				}
				if r.compared {
					compared.Add(1)
				}
				if len(r.violations) > 0 {
					mu.Lock()
					failed = append(failed, r)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(failed, func(a, b rndSeedResult) int { return int(a.seed) - int(b.seed) })
	if path := os.Getenv("BATON_DUMP"); path != "" {
		var b strings.Builder
		for _, f := range failed {
			for _, v := range f.violations {
				fmt.Fprintf(&b, "%d\t%s\n", f.seed, v)
			}
		}
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
	byCode := map[string][]uint64{}
	for _, f := range failed {
		for _, v := range f.violations {
			c := rndCode(v)
			if !slices.Contains(byCode[c], f.seed) {
				byCode[c] = append(byCode[c], f.seed)
			}
		}
	}
	t.Logf("%d seeds in %s; %d failed; %d run twice for determinism", len(seeds), time.Since(start).Round(time.Millisecond), len(failed), compared.Load())
	if len(slow) > 0 {
		t.Logf("seeds slower than 2s (wall): %v", slow)
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		t.Logf("  %-12s seeds %v", c, byCode[c][:min(len(byCode[c]), 20)])
	}
	if len(seeds) == 1 && len(failed) == 0 {
		r := runSeed(seeds[0], nil)
		t.Logf("seed %d schedule:\n%s", seeds[0], r.schedule)
	}
	for i, f := range failed {
		if i >= 5 {
			t.Errorf("… and %d more failing seeds", len(failed)-5)
			break
		}
		msg := fmt.Sprintf("seed %d: %d invariant(s) broken:\n    %s\n  reproduce: BATON_SEED=%d go test -count=1 -run TestRandomSchedules ./workflows/",
			f.seed, len(f.violations), strings.Join(f.violations[:min(len(f.violations), 6)], "\n    "), f.seed)
		if i == 0 && os.Getenv("BATON_SHRINK") != "0" {
			// The actions runSeed draws, the manager's on missed leads included.
			lp, cp := seedPlans(f.seed, true)
			s, kept := shrink(f.seed, rndCode(f.violations[0]), len(lp.Actions)+len(cp.Actions))
			msg += fmt.Sprintf("\n  shrunk to %d of %d actions, still %q:\n  %s", kept, len(lp.Actions)+len(cp.Actions), rndCode(f.violations[0]), s.schedule)
		} else {
			msg += "\n  schedule: " + f.schedule
		}
		t.Error(msg)
	}
}
