// Command bench measures Baton against the engine under it, side by side in
// one run (the benchmark issue): the engine's own one-activity workflow rate,
// Baton's handoff rate through the gateway, SLA timer lateness with many leads
// open and where it passes a second (the knee), intake latency at a fixed rate
// and the highest rate that keeps it under 100 ms, the footprint, and routing
// against the database's own insert rate.
//
// It starts its own stack like `make run`: a dev server on a SQLite file, a
// fresh database, and the worker and gateway built and run as separate
// processes (so their memory is their own). The engine baseline runs in the
// bench process on its own task queue with the worker settings Baton ships
// (workerapp.Options). Each figure is repeated; the median, min and max go to
// bench/results/<date>.json and .md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/workerapp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

type opts struct {
	reps        int
	baselineN   int
	handoffN    int
	slaLeads    int
	slaSpread   time.Duration
	kneeStart   int
	kneeMax     int
	kneeSpread  time.Duration
	intakeRate  float64
	intakeFor   time.Duration
	intakeRates string
	intakeStep  time.Duration
	routingN    int
	concurrent  int
	partitions1 bool
	pragmas     string
	figures     string
	budget      time.Duration
	tune        string
	out         string
	topology    string
	herd        string
	herdWithin  time.Duration
	weekend     int
}

// fits reports whether work expected to take d still fits in the budget.
func (o opts) fits(d time.Duration) bool { return time.Since(began)+d <= o.budget }

// on reports whether figure f (1, 2, 3, 4, 6, knee, search) was asked for.
func (o opts) on(f string) bool {
	for _, x := range strings.Split(o.figures, ",") {
		if strings.TrimSpace(x) == f {
			return true
		}
	}
	return false
}

func main() {
	var o opts
	flag.IntVar(&o.reps, "reps", envInt("BENCH_REPS", 3), "repetitions of each repeated figure (median, min, max reported)")
	flag.IntVar(&o.baselineN, "baseline", envInt("BENCH_BASELINE_N", 1000), "figure 1: trivial one-activity workflows per repetition")
	flag.IntVar(&o.handoffN, "leads", envInt("BENCH_LEADS", 200), "figure 2: leads submitted through the gateway per repetition")
	flag.IntVar(&o.slaLeads, "sla-leads", envInt("BENCH_SLA_LEADS", 200), "figure 3: leads open at once, whose acceptance deadlines are spread over -sla-spread")
	flag.DurationVar(&o.slaSpread, "sla-spread", envDur("BENCH_SLA_SPREAD", 30*time.Second), "figure 3: the span the deadlines are spread evenly over")
	flag.IntVar(&o.kneeStart, "knee-start", envInt("BENCH_KNEE_START", 200), "figure 3 knee: first lead count; doubled until breach p99 passes 1 s or -knee-max")
	flag.IntVar(&o.kneeMax, "knee-max", envInt("BENCH_KNEE_MAX", 3200), "figure 3 knee: largest lead count tried")
	flag.DurationVar(&o.kneeSpread, "knee-spread", envDur("BENCH_KNEE_SPREAD", 10*time.Second), "figure 3 knee: the (short) span each step's deadlines are spread over")
	flag.Float64Var(&o.intakeRate, "intake-rate", envFloat("BENCH_INTAKE_RATE", 50), "figure 4: POSTs per second, open loop")
	flag.DurationVar(&o.intakeFor, "intake-for", envDur("BENCH_INTAKE_FOR", 20*time.Second), "figure 4: how long each repetition posts at -intake-rate")
	flag.StringVar(&o.intakeRates, "intake-rates", envStr("BENCH_INTAKE_RATES", "10,20,35,50,75,100"), "figure 4: rates tried in turn for the highest with p99 <= 100 ms")
	flag.DurationVar(&o.intakeStep, "intake-step", envDur("BENCH_INTAKE_STEP", 10*time.Second), "figure 4: how long each rate of the search runs")
	flag.IntVar(&o.routingN, "routing", envInt("BENCH_ROUTING_N", 100), "figure 6: assignments (and inserts) per caller, for 1, 8 and 32 callers, per repetition")
	flag.IntVar(&o.concurrent, "concurrency", envInt("BENCH_CONCURRENCY", 50), "concurrent starters / HTTP clients for figures 1-3")
	flag.BoolVar(&o.partitions1, "one-partition", envBool("BENCH_ONE_PARTITION", true), "give the dev server one task-queue partition, as make run does")
	flag.StringVar(&o.pragmas, "sqlite-pragmas", envStr("BENCH_SQLITE_PRAGMAS", strings.Join(sqlitePragmas, ",")), "the dev server's SQLite pragmas, as make run gives them (\"none\" for SQLite's defaults)")
	flag.StringVar(&o.figures, "figures", envStr("BENCH_FIGURES", "1,2,3,4,6,knee,search"), "which figures to run (figure 5, the footprint, always runs)")
	flag.DurationVar(&o.budget, "budget", envDur("BENCH_BUDGET", 15*time.Minute), "the knee and the rate search stop before a step that would end past this much time in all")
	flag.StringVar(&o.tune, "tune", envStr("BENCH_TUNE", "BATON_WORKER_POLLERS=8;BATON_WORKER_POLLERS=2;BATON_WORKER_POLLERS=auto;BATON_WORKER_STICKY_TIMEOUT=30s"+scaleTuneVariants),
		"figure tune: worker settings compared side by side, ';' between variants, each 'VAR=value ...'; runs only when -figures names tune")
	flag.StringVar(&o.out, "out", "bench/results", "folder for the results")
	flag.StringVar(&o.topology, "topology", envStr("BENCH_TOPOLOGY", "dev"), "dev (the dev server on a SQLite file, as make run) or cluster (the Temporal server on PostgreSQL, as make run-cluster; needs make cluster-tools)")
	herdFlags(&o)
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./bench [flags]   (or: make bench)\n\n"+
			"Measures, side by side in one run on a stack like `make run`: the engine's one-activity\n"+
			"workflow rate, Baton's handoff rate, SLA timer lateness and its knee, intake latency,\n"+
			"the footprint, and routing against the database's insert rate.\n"+
			"Every flag also reads an environment variable (BENCH_*, listed in docs/configuration.md).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (o opts) validate() error {
	var bad []string
	if o.reps < 1 {
		bad = append(bad, "-reps must be at least 1")
	}
	for name, n := range map[string]int{"-baseline": o.baselineN, "-leads": o.handoffN, "-sla-leads": o.slaLeads,
		"-knee-start": o.kneeStart, "-routing": o.routingN, "-concurrency": o.concurrent} {
		if n < 1 {
			bad = append(bad, name+" must be at least 1")
		}
	}
	if o.slaSpread < time.Second || o.kneeSpread < time.Second || o.intakeFor < time.Second || o.intakeStep < time.Second {
		bad = append(bad, "spans and durations must be at least 1s")
	}
	if o.intakeRate <= 0 {
		bad = append(bad, "-intake-rate must be positive")
	}
	if o.topology != "dev" && o.topology != "cluster" {
		bad = append(bad, "-topology must be dev or cluster")
	}
	if err := o.validateHerd(); err != nil {
		bad = append(bad, err.Error())
	}
	if _, err := parseVariants(o.tune); err != nil {
		bad = append(bad, err.Error())
	}
	if _, err := parseRates(o.intakeRates); err != nil {
		bad = append(bad, err.Error())
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

func parseRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-intake-rates: %q is not a positive rate", f)
		}
		rates = append(rates, r)
	}
	sort.Float64s(rates)
	return rates, nil
}

func envStr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func envFloat(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

func envBool(k string, d bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func envDur(k string, d time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

var began = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s [%5.0fs]  "+format+"\n", append([]any{time.Now().Format("15:04:05"), time.Since(began).Seconds()}, args...)...)
}

// Stat is a figure over repetitions.
type Stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func stat(xs []float64) Stat {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return Stat{}
	}
	return Stat{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1], Runs: xs}
}

// Results is what a run writes.
type Results struct {
	Date    string          `json:"date"`
	Machine string          `json:"machine"`
	Options map[string]any  `json:"options"`
	Figures map[string]Stat `json:"figures"`
	Series  map[string]any  `json:"series"`
	Extra   map[string]any  `json:"extra"`
	Notes   []string        `json:"notes"`
	Took    string          `json:"took"`
}

// Bench is the running stack.
type Bench struct {
	o        opts
	st       *store.Store
	url      string // the gateway
	addr     string // Temporal
	queue    string
	server   *proc
	worker   *proc
	dir      string
	dbURL    string
	gateway  *proc
	baseline worker.Worker
	res      *Results
	env      []string // the worker's and gateway's settings
	cl       client.Client
}

func run(o opts) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "baton-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf("building the worker and the gateway")
	if err := buildBinaries(dir); err != nil {
		return err
	}
	var addr string
	var server *proc
	if o.topology == "cluster" {
		logf("starting the Temporal server on PostgreSQL (deploy/cluster/temporal) and a fresh database")
		var dropT func()
		if addr, server, dropT, err = clusterServer(ctx, dir); err != nil {
			return err
		}
		defer dropT()
	} else {
		logf("starting a dev server on a SQLite file (one task-queue partition: %v) and a fresh database", o.partitions1)
		if addr, server, err = devServer(dir, o.partitions1, o.pragmas); err != nil {
			return err
		}
	}
	defer server.stop()
	dbURL, drop, err := testenv.CreateDatabase(ctx)
	if err != nil {
		return err
	}
	defer drop()
	atFatal(drop)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := seed(ctx, st); err != nil {
		return err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	b := &Bench{o: o, st: st, dir: dir, dbURL: dbURL, addr: addr, server: server, queue: "baton-bench", url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	env := []string{"DATABASE_URL=" + dbURL, "TEMPORAL_ADDRESS=" + addr, "BATON_SIGNING_KEY=" + strings.Repeat("bench-key-", 4),
		"BATON_TASK_QUEUE=" + b.queue, "BATON_HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port), "BATON_PUBLIC_URL=" + b.url,
		"SENDGRID_API_KEY=", "BATON_DEV_OUTBOX=true", // mail to the local outbox, as `make run`
		// Figure 4's "processed" is this gateway (and figure 2 posts here, as
		// in every earlier run); start is the second gateway's (wfGateway).
		"BATON_INTAKE_ACK=processed"}
	b.env = env
	if b.worker, err = startProc(dir, "worker", filepath.Join(dir, "worker"), nil, env); err != nil {
		return err
	}
	defer func() { b.worker.stop() }() // tuning replaces it
	if b.gateway, err = startProc(dir, "gateway", filepath.Join(dir, "gateway"), nil, env); err != nil {
		return err
	}
	defer b.gateway.stop()
	defer func() {
		if wfGateway.p != nil {
			wfGateway.p.stop()
		}
	}()
	if err := waitHTTP(b.url+"/healthz", b.gateway); err != nil {
		return err
	}
	if err := prepareIntake(ctx, b); err != nil {
		return err
	}
	// Figure 1's worker: in this process, its own queue, Baton's settings.
	for _, kv := range env { // the same settings as the worker process
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	cl, err := tclient.Dial(cfg, slog.New(slog.NewTextHandler(discard{}, nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	b.cl = cl
	b.baseline = worker.New(cl, baselineQueue, workerapp.Options(cfg))
	b.baseline.RegisterWorkflow(Trivial)
	b.baseline.RegisterActivity(Noop)
	b.baseline.RegisterWorkflow(HerdTimer)
	if err := b.baseline.Start(); err != nil {
		return err
	}
	defer b.baseline.Stop()

	b.res = &Results{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Figures: map[string]Stat{},
		Series: map[string]any{}, Extra: map[string]any{},
		Options: map[string]any{"reps": o.reps, "baseline": o.baselineN, "leads": o.handoffN, "sla_leads": o.slaLeads,
			"sla_spread": o.slaSpread.String(), "knee": fmt.Sprintf("%d..%d over %s", o.kneeStart, o.kneeMax, o.kneeSpread),
			"intake":  fmt.Sprintf("%.0f/s for %s; search %s at %s each", o.intakeRate, o.intakeFor, o.intakeRates, o.intakeStep),
			"routing": o.routingN, "concurrency": o.concurrent, "budget": o.budget.String(), "one_partition": o.partitions1, "sqlite_pragmas": o.pragmas, "figures": o.figures,
			"server": serverLabel(o.topology), "worker_env": workerEnv()}}
	figs := map[string][]float64{}
	add := func(k string, v float64) { figs[k] = append(figs[k], v) }
	hand := 5.0 // leads/s; figure 2 measures it, figure 3 sizes its windows by it
	for rep := 1; rep <= o.reps; rep++ {
		if o.on("1") {
			c0 := b.cpuNow(ctx)
			base, err := b.engineBaseline(ctx, cl, rep)
			if err != nil {
				return err
			}
			addCPUSplit(add, "1", c0, b.cpuNow(ctx), o.baselineN)
			add("1_engine_baseline_wf_per_s", base)
			logf("rep %d: baseline %.1f wf/s", rep, base)
		}
		if o.on("2") {
			c0 := b.cpuNow(ctx)
			h, err := b.handoff(ctx, rep)
			if err != nil {
				return err
			}
			addCPUSplit(add, "2", c0, b.cpuNow(ctx), o.handoffN)
			hand = h
			add("2_handoff_leads_per_s", h)
			if base := figs["1_engine_baseline_wf_per_s"]; len(base) == rep {
				add("2_handoff_ratio_to_baseline", h/base[rep-1])
			}
			logf("rep %d: handoff %.1f leads/s", rep, h)
		}
		if o.on("3") {
			l, err := b.slaPrecision(ctx, fmt.Sprintf("sla-r%d", rep), o.slaLeads, o.slaSpread, hand, rep == 1)
			if err != nil {
				return err
			}
			for _, k := range []string{"breach_p50", "breach_p99", "breach_max", "reminder_p50", "reminder_p99", "reminder_max", "breach_task_p99", "reminder_task_p99"} {
				add("3_"+k+"_ms", l[k])
			}
			logf("rep %d: breach lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms; reminder p99 %.0f ms", rep, l["breach_p50"], l["breach_p99"], l["breach_max"], l["reminder_p99"])
		}
		if o.on("4") {
			for i := range intakeModes { // each repetition starts with another mode
				mode := intakeModes[(i+rep-1)%len(intakeModes)]
				key := map[string]string{"processed": "4_intake", "respond-async": "4_intake_async", "start": "4_intake_start", "engine": "4_engine_sws"}[mode]
				p50, p99, err := b.intakeLatency(ctx, fmt.Sprintf("%s-r%d", strings.ReplaceAll(key, "_", "-"), rep), o.intakeRate, o.intakeFor, mode)
				if err != nil {
					return err
				}
				add(key+"_p50_ms", p50)
				add(key+"_p99_ms", p99)
				logf("rep %d: intake at %.0f/s (answered %s): p50 %.1f ms, p99 %.1f ms", rep, o.intakeRate, mode, p50, p99)
			}
		}
		if o.on("6") {
			if err := b.routing(ctx, rep, add); err != nil {
				return err
			}
		}
	}
	for k, v := range figs {
		b.res.Figures[k] = stat(v)
	}
	if hs, ok := b.res.Figures["2_handoff_leads_per_s"]; ok {
		hand = hs.Median
	}
	if o.on("search") {
		if err := b.intakeSearch(ctx); err != nil {
			return err
		}
	}
	if o.on("herd") {
		if err := b.herds(ctx, cl); err != nil {
			return err
		}
	}
	if o.on("tune") {
		if err := b.tuning(ctx, env); err != nil {
			return err
		}
	}
	if o.on("scale") { // bench/scale.go: make bench-scale
		if err := b.scale(ctx, env); err != nil {
			return err
		}
	}
	if o.on("knee") {
		if err := b.knee(ctx, hand); err != nil {
			return err
		}
	}
	if err := b.footprint(ctx); err != nil {
		return err
	}
	b.res.Took = time.Since(began).Round(time.Second).String()
	return write(o.out, *b.res)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func serverLabel(topology string) string {
	if topology == "cluster" {
		return "Temporal server 1.29.1 on PostgreSQL (deploy/cluster/temporal, 4 shards), as make run-cluster"
	}
	return "temporal CLI v1.5.1 dev server (server 1.29), SQLite file, as make run"
}

func machine() string {
	host, _ := os.Hostname()
	cpus := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpus = strconv.Itoa(strings.Count(string(b), "processor\t:"))
	}
	return fmt.Sprintf("%s, %s CPUs", host, cpus)
}

// seed imports the example directory (three reps in one team).
func seed(ctx context.Context, st *store.Store) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	if err != nil {
		return err
	}
	dir, err := domain.ParseDirectory(data)
	if err != nil {
		return err
	}
	_, err = st.ImportDirectory(ctx, dir, false)
	return err
}

// figureNames are the Markdown labels of the figures, in order.
var figureNames = []struct{ key, label string }{
	{"1_engine_baseline_wf_per_s", "1. engine baseline: one-activity workflows/s"},
	{"2_handoff_leads_per_s", "2. handoff: leads/s, POST to offer recorded"},
	{"2_handoff_ratio_to_baseline", "2. handoff ÷ baseline (target ≥ 0.9 on every repetition)"},
	{"1_cpu_ms_total", "1. CPU-ms per baseline workflow, all processes"},
	{"1_cpu_ms_server", "1. of which the Temporal server"},
	{"1_cpu_ms_bench", "1. of which the bench process (the baseline's worker and starters)"},
	{"1_cpu_ms_postgres", "1. of which PostgreSQL"},
	{"2_cpu_ms_total", "2. CPU-ms per lead handed off, all processes"},
	{"2_cpu_ms_server", "2. of which the Temporal server"},
	{"2_cpu_ms_worker", "2. of which Baton's worker"},
	{"2_cpu_ms_gateway", "2. of which the gateway"},
	{"2_cpu_ms_postgres", "2. of which PostgreSQL"},
	{"2_cpu_ms_bench", "2. of which the bench process (HTTP clients, polling)"},
	{"3_breach_p50_ms", "3. breach lateness p50 (ms)"},
	{"3_breach_p99_ms", "3. breach lateness p99 (ms; target ≤ 1000)"},
	{"3_breach_max_ms", "3. breach lateness max (ms)"},
	{"3_breach_task_p99_ms", "3. of which until the workflow task began, p99 (ms)"},
	{"3_reminder_p50_ms", "3. reminder lateness p50 (ms)"},
	{"3_reminder_p99_ms", "3. reminder lateness p99 (ms)"},
	{"3_reminder_max_ms", "3. reminder lateness max (ms)"},
	{"3_reminder_task_p99_ms", "3. reminder: until the workflow task began, p99 (ms)"},
	{"4_intake_p50_ms", "4. intake latency p50, answered when processed: the workflow recorded it (ms)"},
	{"4_intake_p99_ms", "4. intake latency p99, answered when processed (ms; target ≤ 100)"},
	{"4_intake_start_p50_ms", "4. intake latency p50, BATON_INTAKE_ACK=start: durable start, new or duplicate known (ms)"},
	{"4_intake_start_p99_ms", "4. intake latency p99, BATON_INTAKE_ACK=start (ms; target ≤ 100)"},
	{"4_intake_async_p50_ms", "4. intake latency p50, Prefer: respond-async (ms)"},
	{"4_intake_async_p99_ms", "4. intake latency p99, Prefer: respond-async (ms; target ≤ 100)"},
	{"4_engine_sws_p50_ms", "4. engine: bare Signal-with-Start p50, same rate (ms)"},
	{"4_engine_sws_p99_ms", "4. engine: bare Signal-with-Start p99, same rate (ms)"},
	{"6_assign_per_s_01c", "6. routing: assignments/s, 1 caller"},
	{"6_insert_per_s_01c", "6. PostgreSQL single-row INSERT/s, 1 caller"},
	{"6_assign_to_insert_01c", "6. assignments ÷ inserts, 1 caller"},
	{"6_assign_per_s_08c", "6. routing: assignments/s, 8 callers"},
	{"6_insert_per_s_08c", "6. PostgreSQL single-row INSERT/s, 8 callers"},
	{"6_assign_to_insert_08c", "6. assignments ÷ inserts, 8 callers"},
	{"6_assign_per_s_32c", "6. routing: assignments/s, 32 callers"},
	{"6_insert_per_s_32c", "6. PostgreSQL single-row INSERT/s, 32 callers"},
	{"6_assign_to_insert_32c", "6. assignments ÷ inserts, 32 callers"},
}

func write(dir string, res Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("2006-01-02T150405Z")
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stamp+".json"), b, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Baton bench %s\n\nMachine: %s. Took %s.\n\nOptions: ", res.Date, res.Machine, res.Took)
	okeys := make([]string, 0, len(res.Options))
	for k := range res.Options {
		okeys = append(okeys, k)
	}
	sort.Strings(okeys)
	for i, k := range okeys {
		if i > 0 {
			md.WriteString("; ")
		}
		fmt.Fprintf(&md, "%s=%v", k, res.Options[k])
	}
	fmt.Fprintf(&md, ".\n\n| figure | median | min | max |\n|---|---|---|---|\n")
	seen := map[string]bool{}
	row := func(label string, s Stat) {
		fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", label, num(s.Median), num(s.Min), num(s.Max))
	}
	for _, f := range figureNames {
		if s, ok := res.Figures[f.key]; ok {
			row(f.label, s)
			seen[f.key] = true
		}
	}
	keys := make([]string, 0, len(res.Figures))
	for k := range res.Figures {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		row(k, res.Figures[k])
	}
	for _, group := range []struct {
		title string
		m     map[string]any
	}{{"Series", res.Series}, {"Footprint and other readings", res.Extra}} {
		if len(group.m) == 0 {
			continue
		}
		fmt.Fprintf(&md, "\n%s:\n\n", group.title)
		ks := make([]string, 0, len(group.m))
		for k := range group.m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			v, _ := json.Marshal(group.m[k])
			fmt.Fprintf(&md, "- %s: %s\n", k, v)
		}
	}
	if len(res.Notes) > 0 {
		fmt.Fprintf(&md, "\n%s\n", strings.Join(res.Notes, "\n"))
	}
	if err := os.WriteFile(filepath.Join(dir, stamp+".md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	logf("wrote %s/%s.{json,md}", dir, stamp)
	return nil
}

func num(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
}

// workerEnv lists the worker settings this run took from the environment
// (BATON_WORKER_*, TEMPORAL_COMPRESSION), or "defaults": a result file says
// what it measured.
func workerEnv() string {
	var set []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BATON_WORKER_") || k == "TEMPORAL_COMPRESSION" {
			set = append(set, kv)
		}
	}
	if len(set) == 0 {
		return "defaults"
	}
	sort.Strings(set)
	return strings.Join(set, " ")
}
