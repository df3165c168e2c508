// Command bench measures Baton against the engine under it, side by side in
// one run (see the benchmark issue): the engine's own one-activity workflow
// rate, Baton's handoff rate through the gateway, and how late SLA breaches
// and reminders fire. It starts its own stack like `make run` (dev server on
// a SQLite file, a fresh database, the worker and the gateway in-process),
// repeats each figure, and writes bench/results/<date>.json and .md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/internal/workerapp"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

type opts struct {
	reps       int
	baselineN  int
	handoffN   int
	slaLeads   int
	slaSpread  time.Duration
	slaWindow  time.Duration
	concurrent int
	out        string
}

func main() {
	var o opts
	flag.IntVar(&o.reps, "reps", envInt("BENCH_REPS", 3), "repetitions of each figure (median, min, max reported)")
	flag.IntVar(&o.baselineN, "baseline", envInt("BENCH_BASELINE_N", 400), "figure 1: trivial one-activity workflows per repetition")
	flag.IntVar(&o.handoffN, "leads", envInt("BENCH_LEADS", 200), "figure 2: leads submitted through the gateway per repetition")
	flag.IntVar(&o.slaLeads, "sla-leads", envInt("BENCH_SLA_LEADS", 200), "figure 3: leads whose deadlines are spread over -sla-spread")
	flag.DurationVar(&o.slaSpread, "sla-spread", envDur("BENCH_SLA_SPREAD", 60*time.Second), "figure 3: the span the deadlines are spread over")
	flag.DurationVar(&o.slaWindow, "sla-window", envDur("BENCH_SLA_WINDOW", 10*time.Second), "figure 3: acceptance window of each lead (reminder at half)")
	flag.IntVar(&o.concurrent, "concurrency", envInt("BENCH_CONCURRENCY", 50), "concurrent starters / HTTP clients")
	flag.StringVar(&o.out, "out", "bench/results", "folder for the results")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./bench [flags]\n\nMeasures the engine baseline, Baton's handoff rate and SLA timer lateness side by side.\nEvery flag also reads an environment variable (BENCH_*).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
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

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
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
	Notes   []string        `json:"notes"`
	Extra   map[string]any  `json:"extra"`
}

// devServer starts `temporal server start-dev` on a SQLite file, as make run does.
func devServer(dir string) (string, func(), error) {
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return "", nil, err
	}
	var ports [4]int
	for i := range ports {
		if ports[i], err = testenv.FreePort(); err != nil {
			return "", nil, err
		}
	}
	logFile, _ := os.Create(filepath.Join(dir, "temporal.log"))
	args := append([]string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error"}, workflows.SearchAttributeFlags()...)
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	stop := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() } //nolint:errcheck
	for i := 0; i < 300; i++ {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: tclient.QuietLoggerSDK()})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return addr, stop, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("dev server did not start; see %s", logFile.Name())
}

// Trivial is figure 1's workflow: one activity that returns at once.
func Trivial(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, Noop).Get(ctx, nil)
}

// Noop is figure 1's activity.
func Noop(context.Context) error { return nil }

func parallel(n, conc int, f func(i int) error) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	return nil
}

func run(o opts) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "baton-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf("starting a dev server on a SQLite file and a fresh database")
	addr, stopServer, err := devServer(dir)
	if err != nil {
		return err
	}
	defer stopServer()
	dbURL, drop, err := testenv.CreateDatabase(ctx)
	if err != nil {
		return err
	}
	defer drop()
	os.Setenv("DATABASE_URL", dbURL)
	os.Setenv("TEMPORAL_ADDRESS", addr)
	os.Setenv("BATON_SIGNING_KEY", strings.Repeat("bench-key-", 4))
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	cl, err := tclient.Dial(cfg, slog.New(slog.NewTextHandler(discard{}, nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	signer, _ := token.NewSigner([]byte(cfg.SigningKey))
	srv := &web.Server{Store: st, Temporal: cl, Signer: signer, Outbox: true, Log: slog.New(slog.NewTextHandler(discard{}, nil)),
		Intake: &intake.Service{Temporal: cl, Store: st, TaskQueue: cfg.TaskQueue}}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	cfg.PublicURL = hs.URL
	w, err := workerapp.New(cfg, cl, st)
	if err != nil {
		return err
	}
	// Figure 1 runs on the same worker, so both share its settings.
	w.RegisterWorkflow(Trivial)
	w.RegisterActivity(Noop)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	if err := seed(ctx, st); err != nil {
		return err
	}

	res := Results{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Figures: map[string]Stat{}, Extra: map[string]any{},
		Options: map[string]any{"reps": o.reps, "baseline": o.baselineN, "leads": o.handoffN, "sla_leads": o.slaLeads,
			"sla_spread": o.slaSpread.String(), "sla_window": o.slaWindow.String(), "concurrency": o.concurrent,
			"server": "temporal CLI v1.5.1 dev server, SQLite file (as make run)"}}
	var base, hand, ratio []float64
	var p50, p99, max, rp99 []float64
	for rep := 1; rep <= o.reps; rep++ {
		b, err := baseline(ctx, cl, cfg.TaskQueue, o, rep)
		if err != nil {
			return err
		}
		h, err := handoff(ctx, hs.URL, st, o, rep)
		if err != nil {
			return err
		}
		base, hand, ratio = append(base, b), append(hand, h), append(ratio, h/b)
		logf("rep %d: baseline %.1f wf/s, handoff %.1f leads/s (ratio %.2f)", rep, b, h, h/b)
		l, err := slaLateness(ctx, hs.URL, st, o, rep)
		if err != nil {
			return err
		}
		p50, p99, max, rp99 = append(p50, l["breach_p50"]), append(p99, l["breach_p99"]), append(max, l["breach_max"]), append(rp99, l["reminder_p99"])
		logf("rep %d: breach lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms; reminder p99 %.0f ms", rep, l["breach_p50"], l["breach_p99"], l["breach_max"], l["reminder_p99"])
	}
	res.Figures["1_engine_baseline_wf_per_s"] = stat(base)
	res.Figures["2_handoff_leads_per_s"] = stat(hand)
	res.Figures["2_handoff_ratio_to_baseline"] = stat(ratio)
	res.Figures["3_breach_lateness_p50_ms"] = stat(p50)
	res.Figures["3_breach_lateness_p99_ms"] = stat(p99)
	res.Figures["3_breach_lateness_max_ms"] = stat(max)
	res.Figures["3_reminder_lateness_p99_ms"] = stat(rp99)
	if err := footprint(ctx, st, &res); err != nil {
		return err
	}
	return write(o.out, res)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

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
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		return err
	}
	return nil
}

func useWindow(ctx context.Context, st *store.Store, name string, accept time.Duration, reminders []float64) error {
	pol := domain.Policy{Name: name, AcceptWithin: domain.Duration(accept), Reminders: reminders,
		OnMiss: domain.OnMiss{Reassign: 0, Escalate: false}}
	if err := pol.Validate(); err != nil {
		return err
	}
	if _, err := st.ImportPolicies(ctx, []domain.Policy{pol}, false); err != nil {
		return err
	}
	return st.UpsertCampaign(ctx, domain.Campaign{ID: name, Name: name, Owner: domain.Person{Name: "Bench", Email: "bench@example.com"},
		Team: "emea", SLAPolicy: name}, "live", time.Hour)
}

func baseline(ctx context.Context, cl client.Client, queue string, o opts, rep int) (float64, error) {
	logf("figure 1, rep %d: %d one-activity workflows", rep, o.baselineN)
	start := time.Now()
	err := parallel(o.baselineN, o.concurrent, func(i int) error {
		run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-base-%d-%d", rep, i), TaskQueue: queue}, Trivial)
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	})
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	return float64(o.baselineN) / time.Since(start).Seconds(), nil
}

func post(url, body string) error {
	resp, err := http.Post(url+"/api/v1/leads", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		var p map[string]any
		json.NewDecoder(resp.Body).Decode(&p) //nolint:errcheck
		return fmt.Errorf("intake answered %d: %v", resp.StatusCode, p)
	}
	return nil
}

// handoff submits leads through the gateway and waits until every offer is
// in the outbox: routed, offered and recorded.
func handoff(ctx context.Context, url string, st *store.Store, o opts, rep int) (float64, error) {
	name := fmt.Sprintf("bench-handoff-%d", rep)
	if err := useWindow(ctx, st, name, time.Hour, nil); err != nil {
		return 0, err
	}
	logf("figure 2, rep %d: %d leads through POST /api/v1/leads", rep, o.handoffN)
	start := time.Now()
	err := parallel(o.handoffN, o.concurrent, func(i int) error {
		return post(url, fmt.Sprintf(`{"campaign":%q,"email":"h%d-%d@bench.example","score":80}`, name, rep, i))
	})
	if err != nil {
		return 0, fmt.Errorf("handoff: %w", err)
	}
	if err := waitCount(ctx, st, `select count(*) from outbox o join leads l on o.ledger_key like l.id || ':offer:%' where l.campaign_id = $1`, name, o.handoffN, 10*time.Minute); err != nil {
		return 0, err
	}
	return float64(o.handoffN) / time.Since(start).Seconds(), nil
}

func waitCount(ctx context.Context, st *store.Store, q, arg string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var n int
		if err := st.Pool.QueryRow(ctx, q, arg).Scan(&n); err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d within %s", n, want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// slaLateness submits leads at a steady rate over the spread, so their
// deadlines are spread too, lets every one lapse, and measures how late each
// breach and reminder was recorded against its computed instant.
func slaLateness(ctx context.Context, url string, st *store.Store, o opts, rep int) (map[string]float64, error) {
	name := fmt.Sprintf("bench-sla-%d", rep)
	if err := useWindow(ctx, st, name, o.slaWindow, []float64{0.5}); err != nil {
		return nil, err
	}
	logf("figure 3, rep %d: %d leads over %s, window %s", rep, o.slaLeads, o.slaSpread, o.slaWindow)
	gap := o.slaSpread / time.Duration(o.slaLeads)
	start := time.Now()
	err := parallel(o.slaLeads, o.concurrent, func(i int) error {
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		return post(url, fmt.Sprintf(`{"campaign":%q,"email":"s%d-%d@bench.example","score":80}`, name, rep, i))
	})
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	if err := waitCount(ctx, st, `select count(*) from lead_events e join leads l on l.id = e.lead_id where l.campaign_id = $1 and e.kind = 'lapsed'`,
		name, o.slaLeads, o.slaWindow+5*time.Minute); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for kind, field := range map[string]string{"breach": "lapsed", "reminder": "reminded"} {
		dueKey := "deadline"
		if field == "reminded" {
			dueKey = "due"
		}
		var p50, p99, mx float64
		err := st.Pool.QueryRow(ctx, `
			select percentile_cont(0.5) within group (order by ms), percentile_cont(0.99) within group (order by ms), max(ms)
			from (select extract(epoch from e.recorded_at - (e.data->>$3)::timestamptz) * 1000 as ms
			      from lead_events e join leads l on l.id = e.lead_id where l.campaign_id = $1 and e.kind = $2) x`,
			name, field, dueKey).Scan(&p50, &p99, &mx)
		if err != nil {
			return nil, err
		}
		out[kind+"_p50"], out[kind+"_p99"], out[kind+"_max"] = p50, p99, mx
	}
	return out, nil
}

func footprint(ctx context.Context, st *store.Store, res *Results) error {
	var size int64
	if err := st.Pool.QueryRow(ctx, `select pg_database_size(current_database())`).Scan(&size); err != nil {
		return err
	}
	var evPerLead float64
	if err := st.Pool.QueryRow(ctx, `select count(*)::float / greatest(count(distinct lead_id), 1) from lead_events`).Scan(&evPerLead); err != nil {
		return err
	}
	res.Extra["database_bytes"] = size
	res.Extra["lead_events_per_lead"] = evPerLead
	var rss int64
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					rss, _ = strconv.ParseInt(f[1], 10, 64)
				}
			}
		}
	}
	res.Extra["bench_process_rss_kib (worker + gateway in-process)"] = rss
	res.Notes = append(res.Notes, "Figures 4 (intake latency at a fixed rate), 6 (routing vs pgbench) and the SLA capacity knee are not measured yet.")
	return nil
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
	fmt.Fprintf(&md, "# Baton bench %s\n\nMachine: %s. Options: %v.\n\n| figure | median | min | max |\n|---|---|---|---|\n", res.Date, res.Machine, res.Options)
	keys := make([]string, 0, len(res.Figures))
	for k := range res.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := res.Figures[k]
		fmt.Fprintf(&md, "| %s | %.2f | %.2f | %.2f |\n", k, s.Median, s.Min, s.Max)
	}
	fmt.Fprintf(&md, "\nExtra: %v\n\n%s\n", res.Extra, strings.Join(res.Notes, "\n"))
	if err := os.WriteFile(filepath.Join(dir, stamp+".md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	logf("wrote %s/%s.{json,md}", dir, stamp)
	return nil
}

