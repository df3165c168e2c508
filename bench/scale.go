package main

// The scale figure (`make bench-scale`, issue 14 items 1, 4 and 7): open
// leads in steps (1,000, 10,000, 100,000 by default) through the CSV import,
// each waiting on a long acceptance window, and at every step read what the
// open leads cost: the worker's RSS and heap (a pprof heap profile), the CPU
// of the dev server against the worker's, the sticky cache's size, hits and
// misses, history events and bytes per lead, the growth of Temporal's SQLite
// file and of Baton's tables per lead. At every step a small probe of leads
// with deadlines spread over -scale-probe-spread measures breach lateness
// with that many leads open, so the lateness at 100,000 open stands beside
// the lateness at 1,000 in the same run.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

var (
	scaleSteps       = flag.String("scale-steps", envStr("BENCH_SCALE_STEPS", "1000,10000,100000"), "figure scale: open leads after each step (cumulative, increasing)")
	scaleWindow      = flag.Duration("scale-window", envDur("BENCH_SCALE_WINDOW", 24*time.Hour), "figure scale: the held leads' acceptance window (they wait on it; reminder at half)")
	scaleProbe       = flag.Int("scale-probe", envInt("BENCH_SCALE_PROBE", 200), "figure scale: leads in each step's lateness probe (0: none)")
	scaleProbeSpread = flag.Duration("scale-probe-spread", envDur("BENCH_SCALE_PROBE_SPREAD", 30*time.Second), "figure scale: the span the probe's deadlines are spread over")
	scaleBatch       = flag.Int("scale-batch", envInt("BENCH_SCALE_BATCH", 500), "figure scale: rows per drain step (starter lead import --batch)")
	scaleParallel    = flag.Int("scale-parallel", envInt("BENCH_SCALE_PARALLEL", 32), "figure scale: lead workflows the drain starts at once (starter lead import --parallel)")
	scaleWorkerEnv   = flag.String("scale-worker", envStr("BENCH_SCALE_WORKER", ""), "figure scale: worker settings for the run, 'VAR=value ...' (BATON_WORKER_* only; empty: the shipped defaults)")
	scaleFor         = flag.Duration("scale-for", envDur("BENCH_SCALE_FOR", 0), "figure scale: stop opening leads after this long (0: no limit); the step under way is then measured with the leads open so far")
	scaleHistory     = flag.Int("scale-history-sample", envInt("BENCH_SCALE_HISTORY_SAMPLE", 20), "figure scale: lead histories read per step for events and bytes per lead")
)

// scaleStep is what one step read.
type scaleStep struct {
	Open            int                `json:"open_leads"`
	Added           int                `json:"added"`
	StageRowsPerS   float64            `json:"stage_rows_per_s"`
	StageSeconds    float64            `json:"stage_s"`
	DrainLeadsPerS  float64            `json:"drain_leads_per_s"`
	ToLastOfferS    float64            `json:"to_last_offer_s"`
	WorkerRSSMiB    float64            `json:"worker_rss_mib"`
	WorkerPeakMiB   float64            `json:"worker_peak_rss_mib"`
	WorkerPeakStep  float64            `json:"worker_peak_rss_during_step_mib"`
	HeapInuseMiB    float64            `json:"worker_heap_inuse_mib"`
	StackInuseMiB   float64            `json:"worker_stack_inuse_mib"`
	Goroutines      float64            `json:"worker_goroutines"`
	Sticky          map[string]float64 `json:"worker_sticky_cache"`
	CPU             map[string]float64 `json:"cpu_s_during_step"`
	ServerRSSMiB    float64            `json:"server_rss_mib"`
	SQLiteMiB       float64            `json:"temporal_store_mib"` // the SQLite file, or the cluster's databases
	SQLiteKiBPer    float64            `json:"temporal_store_kib_per_added_lead"`
	BatonMiB        float64            `json:"baton_tables_mib"`
	BatonKiBPer     float64            `json:"baton_kib_per_added_lead"`
	BatonTables     map[string]float64 `json:"baton_table_kib_per_added_lead"`
	HistoryEvents   float64            `json:"history_events_per_lead"`
	HistoryBytes    float64            `json:"history_bytes_per_lead"`
	ProbeBreachP50  float64            `json:"probe_breach_p50_ms"`
	ProbeBreachP99  float64            `json:"probe_breach_p99_ms"`
	ProbeBreachMax  float64            `json:"probe_breach_max_ms"`
	ProbeTaskP99    float64            `json:"probe_breach_task_p99_ms"`
	ProbeReminder99 float64            `json:"probe_reminder_p99_ms"`
	HeapTop         string             `json:"heap_profile"`
	Seconds         float64            `json:"took_s"`
	StoppedAt       string             `json:"stopped,omitempty"`
}

// errScaleTime ends a step's drain when -scale-for is up.
var errScaleTime = errors.New("the -scale-for time is up")

// scaleDeadline is when -scale-for ends (zero: never).
var scaleDeadline time.Time

func parseSteps(s string) ([]int, error) {
	var out []int
	last := 0
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= last {
			return nil, fmt.Errorf("-scale-steps: %q is not a count above the step before", f)
		}
		out = append(out, n)
		last = n
	}
	return out, nil
}

// scaleWorkerVars reads -scale-worker like one -tune variant.
func scaleWorkerVars() ([]string, error) {
	if strings.TrimSpace(*scaleWorkerEnv) == "" {
		return nil, nil
	}
	v, err := parseVariants(*scaleWorkerEnv)
	if err != nil {
		return nil, fmt.Errorf("-scale-worker: %w", err)
	}
	if len(v) != 1 {
		return nil, fmt.Errorf("-scale-worker: one set of settings, no ';'")
	}
	return v[0], nil
}

// scale runs the figure on a worker of its own (metrics and pprof on a free
// loopback port, the -scale-worker settings).
func (b *Bench) scale(ctx context.Context, env []string) error {
	steps, err := parseSteps(*scaleSteps)
	if err != nil {
		return err
	}
	extra, err := scaleWorkerVars()
	if err != nil {
		return err
	}
	mport, err := testenv.FreePort()
	if err != nil {
		return err
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", mport)
	b.worker.stop()
	wenv := append(append(append([]string{}, env...), "BATON_METRICS_ADDR="+metricsAddr, "BATON_WORKER_PPROF=true"), extra...)
	if b.worker, err = startProc(b.dir, "worker-scale", filepath.Join(b.dir, "worker"), nil, wenv); err != nil {
		return err
	}
	if err := waitHTTP("http://"+metricsAddr+"/metrics", b.worker); err != nil {
		return err
	}
	settings := "the shipped defaults"
	if len(extra) > 0 {
		settings = strings.Join(extra, " ")
	}
	b.res.Options["scale"] = fmt.Sprintf("steps %s; window %s; probe %d over %s; drain batch %d, parallel %d; worker: %s",
		*scaleSteps, *scaleWindow, *scaleProbe, *scaleProbeSpread, *scaleBatch, *scaleParallel, settings)
	if len(clusterDBs) > 0 {
		b.res.Options["server"] = "the make run-cluster Temporal server (go.temporal.io/server v1.29.1) on PostgreSQL, 4 history shards (-topology cluster)"
	}
	cl, err := client.Dial(client.Options{HostPort: b.addr, Logger: nil})
	if err != nil {
		return err
	}
	defer cl.Close()
	const campaign = "scale-hold"
	if err := b.campaigns(ctx, []string{campaign}, []time.Duration{*scaleWindow}, 50); err != nil {
		return err
	}
	profDir := filepath.Join(b.o.out, "scale-"+time.Now().UTC().Format("2006-01-02T150405Z"))
	if err := os.MkdirAll(profDir, 0o755); err != nil {
		return err
	}
	if *scaleFor > 0 {
		scaleDeadline = time.Now().Add(*scaleFor)
	}
	prev := b.scaleReading(ctx, metricsAddr)
	var out []scaleStep
	open := 0
	handRate := 20.0
	for i, n := range steps {
		t0 := time.Now()
		logf("scale step %d of %d: opening %d more leads (to %d open) through the CSV import", i+1, len(steps), n-open, n)
		st := scaleStep{Open: n, Added: n - open}
		if err := b.scaleImport(ctx, cl, campaign, open, n, &st); err != nil {
			return err
		}
		n = st.Open // fewer when -scale-for stopped the step
		if st.DrainLeadsPerS > 0 {
			handRate = st.DrainLeadsPerS
		}
		time.Sleep(5 * time.Second) // let the last tasks settle before reading memory
		cur := b.scaleReading(ctx, metricsAddr)
		b.scaleFill(&st, prev, cur)
		if err := b.scaleHistory(ctx, cl, campaign, &st); err != nil {
			return err
		}
		if st.HeapTop, err = b.heapProfile(metricsAddr, profDir, n); err != nil {
			logf("  heap profile: %v", err)
		}
		logf("  %d open: worker RSS %.0f MiB (peak %.0f), heap in use %.0f MiB, sticky cache %v; CPU s server %.0f / worker %.0f; Temporal's store +%.1f KiB/lead, Baton +%.1f KiB/lead; history %.0f events, %.0f bytes per lead",
			n, st.WorkerRSSMiB, st.WorkerPeakMiB, st.HeapInuseMiB, st.Sticky["temporal_sticky_cache_size"], st.CPU["temporal"], st.CPU["worker-scale"], st.SQLiteKiBPer, st.BatonKiBPer, st.HistoryEvents, st.HistoryBytes)
		if *scaleProbe > 0 {
			l, err := b.slaPrecision(ctx, fmt.Sprintf("scaleprobe%d", n), *scaleProbe, *scaleProbeSpread, handRate, false)
			if err != nil {
				return err
			}
			st.ProbeBreachP50, st.ProbeBreachP99, st.ProbeBreachMax = l["breach_p50"], l["breach_p99"], l["breach_max"]
			st.ProbeTaskP99, st.ProbeReminder99 = l["breach_task_p99"], l["reminder_p99"]
			logf("  probe with %d open: breach p50 %.0f ms, p99 %.0f ms, max %.0f ms (until the task began, p99 %.0f ms); reminder p99 %.0f ms",
				n, st.ProbeBreachP50, st.ProbeBreachP99, st.ProbeBreachMax, st.ProbeTaskP99, st.ProbeReminder99)
		}
		// The probe's leads are open too; the next reading starts after them.
		prev = b.scaleReading(ctx, metricsAddr)
		st.Seconds = math.Round(time.Since(t0).Seconds())
		out = append(out, st)
		open = n // the held leads; the probes' leads come on top
		b.res.Series["scale"] = out
		b.scaleFigures(out)
		if st.StoppedAt != "" {
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("Scale: -scale-for (%s) ended the step to %d at %s; it is measured with the %d leads open then.", *scaleFor, steps[i], st.StoppedAt, n))
			break
		}
	}
	if err := writeScaleSVG(filepath.Join(profDir, "rss.svg"), out, settings); err != nil {
		return err
	}
	b.res.Extra["scale_files"] = profDir + " (heap profiles, rss.svg)"
	return nil
}

// scaleFigures puts each step's headline numbers among the figures.
func (b *Bench) scaleFigures(steps []scaleStep) {
	for _, s := range steps {
		k := fmt.Sprintf("S %7d open: ", s.Open)
		one := func(name string, v float64) { b.res.Figures[k+name] = stat([]float64{v}) }
		one("worker RSS MiB (target ≤ 250 at 100k)", s.WorkerRSSMiB)
		one("worker heap in use MiB", s.HeapInuseMiB)
		one("worker goroutine stacks MiB", s.StackInuseMiB)
		one("worker sticky cache (workflows)", s.Sticky["temporal_sticky_cache_size"])
		one("breach p99 ms (probe)", s.ProbeBreachP99)
		one("history events per lead", s.HistoryEvents)
		one("history bytes per lead", s.HistoryBytes)
		one("Temporal's store KiB per lead", s.SQLiteKiBPer)
		one("Baton tables KiB per lead", s.BatonKiBPer)
		one("import: drain leads/s", s.DrainLeadsPerS)
		one("import: staging rows/s", s.StageRowsPerS)
	}
}

// scaleImport writes a CSV of the leads from..to-1, stages it and drains it
// with the worker's ImportDrainWorkflow, as `starter lead import` does, and
// waits until every lead's offer is recorded.
func (b *Bench) scaleImport(ctx context.Context, cl client.Client, campaign string, from, to int, st *scaleStep) error {
	path := filepath.Join(b.dir, fmt.Sprintf("scale-%d-%d.csv", from, to))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "campaign,email,name,company,country,score")
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "%s,lead-%07d@scale.example,Lead %d,Company %d,DE,80\n", campaign, i, i, i%997)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()
	svc := &intake.Service{Store: b.st, TaskQueue: b.queue}
	rep, err := svc.Stage(ctx, path, intake.StageOptions{})
	if err != nil {
		return fmt.Errorf("stage %s: %w", path, err)
	}
	if rep.New != to-from || len(rep.Bad) > 0 {
		return fmt.Errorf("stage %s: %d staged, %d bad; want %d staged", path, rep.New, len(rep.Bad), to-from)
	}
	st.StageRowsPerS, st.StageSeconds = math.Round(rep.RowsPerSecond()), rep.Elapsed.Seconds()
	logf("  staged %d rows in %s (%.0f rows/s); draining (batch %d, parallel %d)", rep.Rows, rep.Elapsed.Round(time.Millisecond), rep.RowsPerSecond(), *scaleBatch, *scaleParallel)
	var before int
	if err := b.st.Pool.QueryRow(ctx, `select count(*) from leads where campaign_id = $1 and offered_at is not null`, campaign).Scan(&before); err != nil {
		return err
	}
	start := time.Now()
	_, err = cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.ImportDrainWorkflowID(rep.Import.ID), TaskQueue: b.queue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.ImportDrainWorkflow, workflows.ImportDrainInput{ImportID: rep.Import.ID, Batch: *scaleBatch, Parallel: *scaleParallel})
	if err != nil {
		return fmt.Errorf("start the drain: %w", err)
	}
	want := to - from
	var peak int64
	err = b.progress(ctx, fmt.Sprintf("offers (step to %d)", to), want, 2*time.Second, func() (int, error) {
		if _, p := b.worker.rss(); p > peak {
			peak = p
		}
		var n int
		err := b.st.Pool.QueryRow(ctx, `select count(*) from leads where campaign_id = $1 and offered_at is not null`, campaign).Scan(&n)
		return n - before, err
	})
	if errors.Is(err, errScaleTime) {
		// Stop the drain, let the submissions under way finish, and measure
		// the leads open now.
		if err := cl.TerminateWorkflow(ctx, workflows.ImportDrainWorkflowID(rep.Import.ID), "", "bench: -scale-for is up"); err != nil {
			return err
		}
		got, stable := -1, 0
		for stable < 3 {
			time.Sleep(3 * time.Second)
			var n int
			if err := b.st.Pool.QueryRow(ctx, `select count(*) from leads where campaign_id = $1 and offered_at is not null`, campaign).Scan(&n); err != nil {
				return err
			}
			if n == got {
				stable++
			} else {
				got, stable = n, 0
			}
		}
		want = got - before
		st.Open, st.Added = got, want
		st.StoppedAt = fmt.Sprintf("%d of %d", want, to-from)
		logf("  -scale-for is up: the drain is stopped with %d of %d offered; measuring those", want, to-from)
		err = nil
	}
	if err != nil {
		return err
	}
	// The offer mail is the last step of a handoff: time to the last one.
	var last time.Time
	if err := b.st.Pool.QueryRow(ctx, `select coalesce(max(sent_at), now()) from email_ledger where kind = 'offer' and created_at >= $1`, start).Scan(&last); err != nil {
		return err
	}
	im, err := b.st.ImportByID(ctx, rep.Import.ID)
	if err != nil {
		return err
	}
	if im.Failed > 0 || (im.Pending > 0 && st.StoppedAt == "") {
		return fmt.Errorf("import %d: %d failed, %d pending after every offer", im.ID, im.Failed, im.Pending)
	}
	st.ToLastOfferS = math.Round(last.Sub(start).Seconds()*10) / 10
	st.DrainLeadsPerS = math.Round(float64(want)/math.Max(last.Sub(start).Seconds(), 0.001)*10) / 10
	st.WorkerPeakStep = math.Round(float64(peak) / 1024)
	logf("  %d leads started and offered in %s (%.1f leads/s)", want, last.Sub(start).Round(time.Second), st.DrainLeadsPerS)
	return nil
}

// progress polls count every interval until it reaches want, printing N of
// M, the rate and the time left every 10 s, and stops with the log of any
// child process that has exited.
func (b *Bench) progress(ctx context.Context, what string, want int, every time.Duration, count func() (int, error)) error {
	start, lastLog := time.Now(), time.Now()
	for {
		n, err := count()
		if err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if !scaleDeadline.IsZero() && time.Now().After(scaleDeadline) {
			return errScaleTime
		}
		for _, p := range []*proc{b.worker, b.gateway, b.server} {
			if err := p.alive(); err != nil {
				return childExited(p)
			}
		}
		if time.Since(lastLog) >= 10*time.Second {
			el := time.Since(start).Seconds()
			rate := float64(n) / el
			eta := "?"
			if rate > 0 {
				eta = (time.Duration(float64(want-n)/rate) * time.Second).String()
			}
			cur, _ := b.worker.rss()
			logf("  … %s: %d of %d, %.1f/s, ETA %s (worker RSS %.0f MiB, server CPU %.0f s, worker CPU %.0f s)", what, n, want, rate, eta,
				float64(cur)/1024, b.server.cpuSeconds(), b.worker.cpuSeconds())
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// childExited names the process that exited, with its log's last lines (as
// an error: the scale figure's own wait loop returns it).
func childExited(p *proc) error {
	return fmt.Errorf("%s exited (%v); the end of %s:\n%s", p.name, p.cmd.ProcessState, p.logPath, logTail(p.logPath, 30))
}

// reading is a snapshot of the counters a step is measured between.
type reading struct {
	cpu     map[string]float64
	sqlite  int64
	tables  map[string]int64
	metrics map[string]float64
}

func (b *Bench) scaleReading(ctx context.Context, metricsAddr string) reading {
	r := reading{cpu: map[string]float64{}, tables: map[string]int64{}}
	for _, p := range []*proc{b.worker, b.gateway, b.server} {
		r.cpu[p.name] = p.cpuSeconds()
	}
	if len(clusterDBs) > 0 { // the cluster's PostgreSQL works for Temporal too
		r.cpu["postgres_for_temporal"] = b.postgresCPU(ctx, clusterDBs)
	}
	r.cpu["postgres_for_baton"] = b.postgresCPU(ctx, []string{b.dbName(ctx)})
	r.sqlite = b.temporalStoreBytes(ctx)
	rows, err := b.st.Pool.Query(ctx, `select c.relname, pg_total_relation_size(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and c.relkind = 'r'`)
	if err == nil {
		for rows.Next() {
			var name string
			var size int64
			if rows.Scan(&name, &size) == nil {
				r.tables[name] = size
			}
		}
		rows.Close()
	}
	r.metrics = workerMetrics(metricsAddr)
	return r
}

// workerMetrics reads the worker's Prometheus text: Go memory, goroutines
// and the sticky cache's counters.
func workerMetrics(addr string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		if !(strings.Contains(name, "sticky") || name == "go_goroutines" || name == "go_memstats_heap_inuse_bytes" || name == "go_memstats_stack_inuse_bytes" || name == "go_memstats_sys_bytes") {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fs[0], 64); err == nil {
			out[name] = math.Max(out[name], v) // one series per name here; the SDK repeats some under two label sets
		}
	}
	return out
}

func (b *Bench) scaleFill(st *scaleStep, prev, cur reading) {
	cr, pk := b.worker.rss()
	st.WorkerRSSMiB, st.WorkerPeakMiB = math.Round(float64(cr)/1024), math.Round(float64(pk)/1024)
	sr, _ := b.server.rss()
	st.ServerRSSMiB = math.Round(float64(sr) / 1024)
	st.HeapInuseMiB = math.Round(cur.metrics["go_memstats_heap_inuse_bytes"]/1048576*10) / 10
	st.StackInuseMiB = math.Round(cur.metrics["go_memstats_stack_inuse_bytes"]/1048576*10) / 10
	st.Goroutines = cur.metrics["go_goroutines"]
	st.Sticky = map[string]float64{}
	for k, v := range cur.metrics {
		if strings.Contains(k, "sticky") {
			if strings.HasSuffix(k, "_size") {
				st.Sticky[k] = v
			} else {
				st.Sticky[k] = v - prev.metrics[k] // counters: during the step
			}
		}
	}
	st.CPU = map[string]float64{}
	for k, v := range cur.cpu {
		st.CPU[k] = math.Max(0, math.Round(v-prev.cpu[k]))
	}
	added := float64(max(st.Added, 1))
	st.SQLiteMiB = math.Round(float64(cur.sqlite)/1048576*10) / 10
	st.SQLiteKiBPer = math.Round(float64(cur.sqlite-prev.sqlite)/1024/added*100) / 100
	var total, ptotal int64
	st.BatonTables = map[string]float64{}
	for k, v := range cur.tables {
		total += v
		ptotal += prev.tables[k]
		if d := v - prev.tables[k]; d > 0 {
			st.BatonTables[k] = math.Round(float64(d)/1024/added*100) / 100
		}
	}
	st.BatonMiB = math.Round(float64(total)/1048576*10) / 10
	st.BatonKiBPer = math.Round(float64(total-ptotal)/1024/added*100) / 100
}

// scaleHistory reads the histories of a sample of the step's leads: events
// and bytes (each event's encoded size) per lead, the medians.
func (b *Bench) scaleHistory(ctx context.Context, cl client.Client, campaign string, st *scaleStep) error {
	rows, err := b.st.Pool.Query(ctx, `select workflow_id from leads where campaign_id = $1 order by created_at desc limit $2`, campaign, *scaleHistory)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var evs, bytes []float64
	for _, id := range ids {
		it := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n, size := 0, 0
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return err
			}
			n++
			size += proto.Size(e)
		}
		evs = append(evs, float64(n))
		bytes = append(bytes, float64(size))
	}
	sort.Float64s(evs)
	sort.Float64s(bytes)
	st.HistoryEvents, st.HistoryBytes = pct(evs, 0.5), pct(bytes, 0.5)
	return nil
}

// heapProfile saves the worker's heap profile (after a GC) and returns the
// top of `go tool pprof -top` by bytes in use.
func (b *Bench) heapProfile(metricsAddr, dir string, open int) (string, error) {
	resp, err := http.Get("http://" + metricsAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("heap profile: %s", resp.Status)
	}
	path := filepath.Join(dir, fmt.Sprintf("worker-heap-%d.pb.gz", open))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", err
	}
	f.Close()
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=15", "-sample_index=inuse_space", filepath.Join(b.dir, "worker"), path).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".pb.gz")+".txt", top, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// postgresCPU is the CPU-seconds so far of the PostgreSQL backends connected
// to the databases (connection pools keep them for the run; a backend that
// ended between two readings takes its time with it).
func (b *Bench) postgresCPU(ctx context.Context, dbs []string) float64 {
	rows, err := b.st.Pool.Query(ctx, `select pid from pg_stat_activity where datname = any($1)`, dbs)
	if err != nil {
		return 0
	}
	defer rows.Close()
	var total float64
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		total += cpuOf(strconv.Itoa(pid))
	}
	return total
}

func (b *Bench) dbName(ctx context.Context) string {
	var n string
	b.st.Pool.QueryRow(ctx, `select current_database()`).Scan(&n) //nolint:errcheck
	return n
}
