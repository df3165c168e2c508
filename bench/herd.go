package main

// The herd (issue 14, item 2): many SLA clocks due at one instant. Three
// cases, each beside the engine's own herd (the same number of bare timers
// at one instant, on the bench's baseline worker, in the same run):
//   - N leads with one shared acceptance deadline (no reminders);
//   - the Monday morning: leads that arrive while an office-hours policy is
//     closed (a simulated weekend) all start their clock at the opening, so
//     their reminders fall at one instant and their deadlines at another.
// A deadline relative to each offer cannot make one instant; business hours
// can, and that is exactly how a real herd forms. The policy's calendar is
// closed now and opens at the start of a minute after every lead is open
// (opening + window is then every lead's deadline).

import (
	"context"
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

func herdFlags(o *opts) {
	flag.StringVar(&o.herd, "herd", envStr("BENCH_HERD", "2000,10000"), "figure herd: lead counts, each with one shared deadline instant (and as many bare timers for the engine)")
	flag.DurationVar(&o.herdWithin, "herd-within", envDur("BENCH_HERD_WITHIN", 10*time.Second), "figure herd: the target, every breach recorded within this of its instant")
	flag.IntVar(&o.weekend, "weekend", envInt("BENCH_WEEKEND", 2000), "figure herd: leads arriving over a simulated weekend on an office-hours policy (reminders and deadlines due at the opening); 0 skips it")
}

func (o opts) validateHerd() error {
	if _, err := parseCounts(o.herd); err != nil {
		return err
	}
	if o.weekend < 0 {
		return fmt.Errorf("-weekend must not be negative")
	}
	return nil
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-herd: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// HerdTimer is the engine's herd: one timer to an instant, then one local
// activity that reads the wall clock. It returns the lateness at the start of
// the workflow task (workflow.Now) and in the worker's code, in ms.
func HerdTimer(ctx workflow.Context, at time.Time) ([2]float64, error) {
	if d := at.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return [2]float64{}, err
		}
	}
	task := float64(workflow.Now(ctx).Sub(at).Microseconds()) / 1000
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var woke time.Time
	if err := workflow.ExecuteLocalActivity(lctx, WallClock).Get(ctx, &woke); err != nil {
		return [2]float64{}, err
	}
	return [2]float64{task, float64(woke.Sub(at).Microseconds()) / 1000}, nil
}

// WallClock is HerdTimer's local activity.
func WallClock(context.Context) (time.Time, error) { return time.Now(), nil }

// herdStats are a herd's lateness figures, in ms.
type herdStats struct {
	N         int     `json:"n"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	TaskP50   float64 `json:"task_p50_ms"` // until the workflow task began
	TaskP99   float64 `json:"task_p99_ms"`
	TaskMax   float64 `json:"task_max_ms"`
	OpenedS   float64 `json:"opened_s,omitempty"`  // how long opening them took
	EarlyS    float64 `json:"margin_s,omitempty"`  // time left between the last open and the instant
	Within    bool    `json:"all_within_target"`   // every one within -herd-within
	WorkerCPU float64 `json:"worker_cpu_s"`        // over the herd's firing
	ServerCPU float64 `json:"server_cpu_s"`        // over the herd's firing
	BenchCPU  float64 `json:"bench_process_cpu_s"` // the engine herd's worker lives in the bench process
}

func summarize(late, task []float64) herdStats {
	sort.Float64s(late)
	sort.Float64s(task)
	s := herdStats{N: len(late), P50: pct(late, 0.5), P99: pct(late, 0.99), TaskP50: pct(task, 0.5), TaskP99: pct(task, 0.99)}
	if len(late) > 0 {
		s.Max = late[len(late)-1]
	}
	if len(task) > 0 {
		s.TaskMax = task[len(task)-1]
	}
	return s
}

// herds runs every herd case; each result goes under Series and Figures.
func (b *Bench) herds(ctx context.Context, cl client.Client) error {
	counts, _ := parseCounts(b.o.herd)
	hand := 20.0 // leads/s, until figure 2 says otherwise
	if hs, ok := b.res.Figures["2_handoff_leads_per_s"]; ok && hs.Median > 0 {
		hand = hs.Median
	}
	for _, n := range counts {
		eng, err := b.engineHerd(ctx, cl, n)
		if err != nil {
			return err
		}
		baton, err := b.leadHerd(ctx, fmt.Sprintf("herd%d", n), n, hand, false)
		if err != nil {
			return err
		}
		b.recordHerd(fmt.Sprintf("herd_%d", n), n, eng, baton["breach"])
	}
	if b.o.weekend > 0 {
		eng, err := b.engineHerd(ctx, cl, b.o.weekend)
		if err != nil {
			return err
		}
		r, err := b.leadHerd(ctx, "weekend", b.o.weekend, hand, true)
		if err != nil {
			return err
		}
		b.recordHerd(fmt.Sprintf("herd_weekend_%d", b.o.weekend), b.o.weekend, eng, r["breach"])
		b.res.Series[fmt.Sprintf("herd_weekend_%d: Monday reminders (at one instant)", b.o.weekend)] = r["reminder"]
		b.res.Figures[fmt.Sprintf("herd weekend %d: reminder lateness p99 (ms)", b.o.weekend)] = stat([]float64{r["reminder"].P99})
		b.res.Figures[fmt.Sprintf("herd weekend %d: reminder lateness max (ms)", b.o.weekend)] = stat([]float64{r["reminder"].Max})
	}
	return nil
}

func (b *Bench) recordHerd(key string, n int, eng, baton herdStats) {
	b.res.Series[key+": engine, bare timers"] = eng
	b.res.Series[key+": Baton, breaches"] = baton
	f := func(label string, v float64) {
		b.res.Figures[fmt.Sprintf("%s: %s", strings.ReplaceAll(key, "_", " "), label)] = stat([]float64{v})
	}
	f("breach lateness p50 (ms)", baton.P50)
	f("breach lateness p99 (ms)", baton.P99)
	f(fmt.Sprintf("breach lateness max (ms; target ≤ %d)", b.o.herdWithin.Milliseconds()), baton.Max)
	f("breach: until the workflow task began, p99 (ms)", baton.TaskP99)
	f("engine bare timers, in the worker's code: p50 (ms)", eng.P50)
	f("engine bare timers, in the worker's code: p99 (ms)", eng.P99)
	f("engine bare timers, in the worker's code: max (ms)", eng.Max)
	f("engine bare timers: until the workflow task began, p99 (ms)", eng.TaskP99)
	if eng.Max > 0 {
		f("breach max ÷ engine max", baton.Max/eng.Max)
	}
	logf("%s: Baton breaches p50/p99/max %.0f/%.0f/%.0f ms (task began p99 %.0f); engine timers %.0f/%.0f/%.0f ms (task began p99 %.0f)",
		key, baton.P50, baton.P99, baton.Max, baton.TaskP99, eng.P50, eng.P99, eng.Max, eng.TaskP99)
}

// engineHerd starts n bare timer workflows due at one instant on the
// baseline worker and reads how late each woke.
func (b *Bench) engineHerd(ctx context.Context, cl client.Client, n int) (herdStats, error) {
	est := time.Duration(float64(n)/50*float64(time.Second)) + 15*time.Second
	at := time.Now().Add(est).Truncate(time.Second)
	logf("herd: engine, %d bare timers due at %s", n, at.Format("15:04:05"))
	runs := make([]client.WorkflowRun, n)
	tag := time.Now().UnixNano()
	err := parallel(n, b.o.concurrent, func(i int) error {
		r, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-herd-%d-%d", tag, i), TaskQueue: baselineQueue}, HerdTimer, at)
		runs[i] = r
		return err
	})
	if err != nil {
		return herdStats{}, fmt.Errorf("engine herd: %w", err)
	}
	s := herdStats{EarlyS: time.Until(at).Seconds()}
	time.Sleep(time.Until(at))
	w0, s0, me0 := b.worker.cpuSeconds(), b.server.cpuSeconds(), selfCPU()
	late := make([]float64, n)
	task := make([]float64, n)
	err = parallel(n, b.o.concurrent, func(i int) error {
		var r [2]float64
		if err := runs[i].Get(ctx, &r); err != nil {
			return err
		}
		task[i], late[i] = r[0], r[1]
		return nil
	})
	if err != nil {
		return herdStats{}, fmt.Errorf("engine herd: %w", err)
	}
	out := summarize(late, task)
	out.EarlyS = s.EarlyS
	out.Within = out.Max <= float64(b.o.herdWithin.Milliseconds())
	out.WorkerCPU, out.ServerCPU, out.BenchCPU = b.worker.cpuSeconds()-w0, b.server.cpuSeconds()-s0, selfCPU()-me0
	return out, nil
}

// leadHerd opens n leads through the gateway on a policy whose calendar is
// closed now and opens at one instant after they are all open, then waits
// for every breach and reads the lateness of each breach (and reminder)
// against its computed instant.
func (b *Bench) leadHerd(ctx context.Context, name string, n int, hand float64, reminders bool) (map[string]herdStats, error) {
	window := 20 * time.Second
	if reminders {
		window = time.Minute // the reminders at half-way, the deadlines half a minute later
	}
	openEst := time.Duration(float64(n)/math.Max(hand, 1)*1.5*float64(time.Second)) + 30*time.Second
	opening := time.Now().UTC().Add(openEst).Truncate(time.Minute).Add(time.Minute)
	if opening.Add(window).Day() != opening.Day() {
		return nil, fmt.Errorf("herd %s: the opening %s and its window would cross midnight UTC; run it later", name, opening.Format("15:04"))
	}
	day := strings.ToLower(opening.Weekday().String()[:3])
	spec := bizclock.Spec{TimeZone: "UTC", Hours: map[string][]string{day: {opening.Format("15:04") + "-24:00"}}}
	pol := domain.Policy{Name: name, AcceptWithin: domain.Duration(window), Calendar: domain.CalendarTeam, BusinessHours: spec,
		OnMiss: domain.OnMiss{Reassign: 0, Escalate: false}}
	if reminders {
		pol.Reminders = []float64{0.5}
	}
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if _, err := b.st.ImportPolicies(ctx, []domain.Policy{pol}, false); err != nil {
		return nil, err
	}
	if err := b.st.UpsertCampaign(ctx, domain.Campaign{ID: name, Name: name, Owner: domain.Person{Name: "Bench", Email: "bench@example.com"},
		Team: "emea", SLAPolicy: name, MinScore: 50}, "live", time.Hour); err != nil {
		return nil, err
	}
	logf("herd %s: opening %d leads while the office is closed; it opens at %s UTC, every deadline at %s", name, n,
		opening.Format("15:04:05"), opening.Add(window).Format("15:04:05"))
	start := time.Now()
	err := parallel(n, b.o.concurrent, func(i int) error {
		return b.post(fmt.Sprintf(`{"campaign":%q,"email":"%s-%d@bench.example","score":80}`, name, name, i))
	})
	if err != nil {
		return nil, fmt.Errorf("herd %s: %w", name, err)
	}
	if err := b.waitCount(ctx, offersQuery, name, n, 30*time.Minute); err != nil {
		return nil, err
	}
	opened := time.Since(start)
	margin := time.Until(opening)
	logf("  %d leads open after %s; %s before the opening", n, opened.Round(100*time.Millisecond), margin.Round(time.Second))
	if margin < 0 {
		b.res.Notes = append(b.res.Notes, fmt.Sprintf("herd %s: opening the leads took %s and ran %s past the office's opening: the clocks of the last leads started late, not at one instant.", name, opened.Round(time.Second), (-margin).Round(time.Second)))
	}
	var w0, s0 float64
	if d := time.Until(opening); d > 0 {
		time.Sleep(d)
	}
	w0, s0 = b.worker.cpuSeconds(), b.server.cpuSeconds()
	m0 := b.worker.scrape()
	if err := b.waitCount(ctx, `select count(*) from lead_events e join leads l on l.id = e.lead_id where l.campaign_id = $1 and e.kind = 'lapsed'`,
		name, n, window+30*time.Minute); err != nil {
		return nil, err
	}
	if m0 != nil {
		b.res.Series[fmt.Sprintf("herd %s: the worker's tasks while it fired (SDK metrics)", name)] = taskSplit(m0, b.worker.scrape())
	}
	out := map[string]herdStats{}
	for _, k := range []struct{ name, kind, due string }{{"breach", "lapsed", "deadline"}, {"reminder", "reminded", "due"}} {
		rows, err := b.st.Pool.Query(ctx, `
			select extract(epoch from e.recorded_at - (e.data->>$3)::timestamptz) * 1000,
			       extract(epoch from (e.data->>'fired')::timestamptz - (e.data->>$3)::timestamptz) * 1000,
			       (e.data->>$3)::timestamptz
			from lead_events e join leads l on l.id = e.lead_id where l.campaign_id = $1 and e.kind = $2`, name, k.kind, k.due)
		if err != nil {
			return nil, err
		}
		var late, task []float64
		instants := map[time.Time]int{}
		for rows.Next() {
			var l, t float64
			var due time.Time
			if err := rows.Scan(&l, &t, &due); err != nil {
				rows.Close()
				return nil, err
			}
			late, task = append(late, l), append(task, t)
			instants[due.UTC()]++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		s := summarize(late, task)
		s.OpenedS, s.EarlyS = math.Round(opened.Seconds()), math.Round(margin.Seconds())
		s.Within = s.Max <= float64(b.o.herdWithin.Milliseconds())
		s.WorkerCPU, s.ServerCPU = b.worker.cpuSeconds()-w0, b.server.cpuSeconds()-s0
		out[k.name] = s
		if len(instants) > 1 {
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("herd %s: the %ss fell at %d distinct instants, not one.", name, k.name, len(instants)))
		}
	}
	return out, nil
}

// selfCPU is the bench process's own CPU time so far (its baseline worker).
func selfCPU() float64 { return cpuOf("self") }
