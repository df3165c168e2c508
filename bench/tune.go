package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// parseVariants reads -tune: variants split by ';', each a list of
// BATON_WORKER_* (or TEMPORAL_COMPRESSION) assignments split by spaces.
func parseVariants(s string) ([][]string, error) {
	var out [][]string
	for _, v := range strings.Split(s, ";") {
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		for _, kv := range f {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || !strings.HasPrefix(k, "BATON_WORKER_") && k != "TEMPORAL_COMPRESSION" {
				return nil, fmt.Errorf("-tune: %q is not a BATON_WORKER_*=value or TEMPORAL_COMPRESSION=value setting", kv)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// tuning compares worker settings side by side: for each round, each variant
// in turn gets a fresh worker process with its settings, then figure 2
// (handoff) and figure 3 (breach lateness) run on it. Interleaving the
// variants round by round spreads the machine's noise over all of them.
func (b *Bench) tuning(ctx context.Context, env []string) error {
	variants, _ := parseVariants(b.o.tune)
	hand := map[string][]float64{}
	p99 := map[string][]float64{}
	rp99 := map[string][]float64{}
	cpu := map[string][]float64{}
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = strings.Join(v, " ")
	}
	for round := 1; round <= b.o.reps; round++ {
		for i, v := range variants {
			b.worker.stop()
			w, err := startProc(b.dir, fmt.Sprintf("worker-tune-%d-%d", round, i), filepath.Join(b.dir, "worker"), nil, append(append([]string{}, env...), v...))
			if err != nil {
				return err
			}
			b.worker = w
			logf("tune round %d: worker with %s", round, names[i])
			// Warm up, unmeasured: right after a worker was replaced, the first
			// tasks sometimes waited about a minute to be dispatched (a lead's
			// first workflow task scheduled 16:32:09, started 16:33:00 on the new
			// worker, 2026-11-27), which would be charged to this variant.
			if err := b.warmUp(ctx, fmt.Sprintf("tune-w-%d-%d", round, i)); err != nil {
				return err
			}
			c0 := b.cpuNow(ctx)
			h, err := b.handoffNamed(ctx, fmt.Sprintf("tune-h-%d-%d", round, i))
			if err != nil {
				return err
			}
			addCPUSplit(func(k string, v float64) { cpu[names[i]+"|"+k] = append(cpu[names[i]+"|"+k], v) }, "handoff", c0, b.cpuNow(ctx), b.o.handoffN)
			l, err := b.slaPrecision(ctx, fmt.Sprintf("tune-s-%d-%d", round, i), b.o.slaLeads, b.o.slaSpread, h, false)
			if err != nil {
				return err
			}
			hand[names[i]] = append(hand[names[i]], h)
			p99[names[i]] = append(p99[names[i]], l["breach_p99"])
			rp99[names[i]] = append(rp99[names[i]], l["reminder_p99"])
			logf("tune round %d, %s: handoff %.1f leads/s, breach p99 %.0f ms, reminder p99 %.0f ms", round, names[i], h, l["breach_p99"], l["reminder_p99"])
		}
	}
	for _, n := range names {
		b.res.Figures["tune: "+n+": handoff leads/s"] = stat(hand[n])
		b.res.Figures["tune: "+n+": breach p99 ms"] = stat(p99[n])
		b.res.Figures["tune: "+n+": reminder p99 ms"] = stat(rp99[n])
		for _, p := range append(cpuParts, "total") {
			b.res.Figures["tune: "+n+": handoff CPU-ms per lead, "+p] = stat(cpu[n+"|handoff_cpu_ms_"+p])
		}
	}
	return nil
}

// warmUp hands off a few leads and waits for their offers, unmeasured.
func (b *Bench) warmUp(ctx context.Context, name string) error {
	saved := b.o.handoffN
	b.o.handoffN = min(50, saved)
	defer func() { b.o.handoffN = saved }()
	_, err := b.handoffNamed(ctx, name)
	return err
}
