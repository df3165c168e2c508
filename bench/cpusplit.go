package main

import (
	"context"
	"fmt"
)

// cpuParts names the processes a figure's CPU is split over, in table order.
var cpuParts = []string{"server", "worker", "gateway", "bench", "postgres"}

// cpuNow reads the CPU-seconds so far of each part: the Temporal server, the
// worker, the gateways, the bench process (figure 1's workers and the load
// generators live there) and the PostgreSQL backends of Baton's database and
// (on the cluster) Temporal's.
func (b *Bench) cpuNow(ctx context.Context) map[string]float64 {
	dbs := append([]string{b.dbName(ctx)}, clusterDBs...)
	gw := b.gateway.cpuSeconds()
	if wfGateway.p != nil {
		gw += wfGateway.p.cpuSeconds()
	}
	return map[string]float64{"server": b.server.cpuSeconds(), "worker": b.worker.cpuSeconds(),
		"gateway": gw, "bench": selfCPU(), "postgres": b.postgresCPU(ctx, dbs)}
}

// addCPUSplit records, for n units of work (workflows, leads) done between
// two readings, each part's CPU-milliseconds per unit and their total: the
// profile that says which process limits a rate on a machine of few cores.
func addCPUSplit(add func(string, float64), prefix string, before, after map[string]float64, n int) {
	var total float64
	for _, p := range cpuParts {
		ms := (after[p] - before[p]) * 1000 / float64(n)
		total += ms
		add(fmt.Sprintf("%s_cpu_ms_%s", prefix, p), ms)
	}
	add(prefix+"_cpu_ms_total", total)
}
