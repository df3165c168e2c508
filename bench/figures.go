package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/testenv"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

const baselineQueue = "bench-baseline"

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
				if i >= n || firstErr.Load() != nil {
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

func (b *Bench) engineBaseline(ctx context.Context, cl client.Client, rep int) (float64, error) {
	logf("figure 1, rep %d: %d one-activity workflows", rep, b.o.baselineN)
	start := time.Now()
	err := parallel(b.o.baselineN, b.o.concurrent, func(i int) error {
		run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("bench-base-%d-%d", rep, i), TaskQueue: baselineQueue}, Trivial)
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	})
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	return float64(b.o.baselineN) / time.Since(start).Seconds(), nil
}

// httpc keeps connections open, as a real source posting many leads would.
var httpc = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: 500, MaxIdleConnsPerHost: 500}}

// benchKey is the API key of the bench's intake source.
var benchKey string

// authorize adds the source's credentials to an intake request.
func authorize(r *http.Request) { r.Header.Set("Authorization", "Bearer "+benchKey) }

// prepareIntake registers the bench as an intake source, as a real form or
// marketing tool would be, with a limit high enough that the bench measures
// Baton, not the limiter.
func prepareIntake(ctx context.Context, b *Bench) error {
	creds, err := b.st.AddSource(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()), 1e6, 1_000_000)
	if err != nil {
		return fmt.Errorf("register the bench as an intake source: %w", err)
	}
	benchKey = creds.APIKey
	return nil
}

func (b *Bench) post(body string) error { return b.postAs(body, "processed") }

// Intake answer modes compared by figure 4: processed (BATON_INTAKE_ACK=processed,
// the bench's gateway: answered once the lead's workflow has recorded the
// touch, new or duplicate known), start (BATON_INTAKE_ACK=start, the
// default, on a second gateway: answered at the durable start, new or
// duplicate as Temporal's start decided it) and respond-async
// (Prefer: respond-async: answered at the durable start, neither known).
// engine is the floor beside them: a bare Signal-with-Start of a
// one-activity workflow from the bench process, at the same rate.
var intakeModes = []string{"processed", "start", "respond-async", "engine"}

// wfGateway is the second gateway, with BATON_INTAKE_ACK=start.
var wfGateway struct {
	url string
	p   *proc
}

// workflowGateway starts the second gateway once.
func (b *Bench) workflowGateway() error {
	if wfGateway.p != nil {
		return wfGateway.p.alive()
	}
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc(b.dir, "gateway-ack-start", filepath.Join(b.dir, "gateway"), nil,
		append(append([]string{}, b.env...), "BATON_HTTP_ADDR="+addr, "BATON_INTAKE_ACK=start"))
	if err != nil {
		return err
	}
	wfGateway.url, wfGateway.p = "http://"+addr, p
	return waitHTTP(wfGateway.url+"/healthz", p)
}

// postAs posts one lead, answered as mode says (intakeModes).
func (b *Bench) postAs(body string, mode string) error {
	url := b.url
	if mode == "start" {
		url = wfGateway.url
	}
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/leads", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if mode == "respond-async" {
		req.Header.Set("Prefer", "respond-async")
	}
	authorize(req)
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("intake answered %d: %s", resp.StatusCode, msg)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	return nil
}

// campaigns imports one policy and one live campaign per acceptance window.
func (b *Bench) campaigns(ctx context.Context, names []string, windows []time.Duration, minScore int) error {
	pols := make([]domain.Policy, len(names))
	for i, name := range names {
		pols[i] = domain.Policy{Name: name, AcceptWithin: domain.Duration(windows[i]), Reminders: []float64{0.5},
			OnMiss: domain.OnMiss{Reassign: 0, Escalate: false}}
		if err := pols[i].Validate(); err != nil {
			return err
		}
	}
	if _, err := b.st.ImportPolicies(ctx, pols, false); err != nil {
		return err
	}
	for _, name := range names {
		if err := b.st.UpsertCampaign(ctx, domain.Campaign{ID: name, Name: name, Owner: domain.Person{Name: "Bench", Email: "bench@example.com"},
			Team: "emea", SLAPolicy: name, MinScore: minScore}, "live", time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// handoff submits leads through the gateway and waits until every offer is
// in the outbox: routed, offered and recorded.
func (b *Bench) handoff(ctx context.Context, rep int) (float64, error) {
	return b.handoffNamed(ctx, fmt.Sprintf("handoff-r%d", rep))
}

func (b *Bench) handoffNamed(ctx context.Context, name string) (float64, error) {
	if err := b.campaigns(ctx, []string{name}, []time.Duration{time.Hour}, 50); err != nil {
		return 0, err
	}
	logf("figure 2 %s: %d leads through POST /api/v1/leads until each offer is recorded", name, b.o.handoffN)
	start := time.Now()
	err := parallel(b.o.handoffN, b.o.concurrent, func(i int) error {
		return b.post(fmt.Sprintf(`{"campaign":%q,"email":"%s-%d@bench.example","score":80}`, name, name, i))
	})
	if err != nil {
		return 0, fmt.Errorf("handoff: %w", err)
	}
	if err := b.waitCount(ctx, offersQuery, name, b.o.handoffN, 10*time.Minute); err != nil {
		return 0, err
	}
	return float64(b.o.handoffN) / time.Since(start).Seconds(), nil
}

// offersQuery counts leads with an offer in the outbox; a lead whose first
// workflow task was retried has its offer under a cycle prefix
// (lead:c4:offer:…: see the note in docs/benchmarks.md).
const offersQuery = `select count(distinct l.id) from outbox o join leads l on o.ledger_key like l.id || ':offer:%' or o.ledger_key like l.id || ':c%:offer:%' where l.campaign_id like $1`

func (b *Bench) waitCount(ctx context.Context, q, campaign string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	last, lastAt := -1, time.Now()
	for {
		var n int
		if err := b.st.Pool.QueryRow(ctx, q, campaign).Scan(&n); err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		for _, p := range []*proc{b.worker, b.gateway, b.server} {
			if err := p.alive(); err != nil {
				return err
			}
		}
		if n != last && time.Since(lastAt) > 10*time.Second {
			logf("  … %d of %d", n, want)
			last, lastAt = n, time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d within %s", n, want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// slaPrecision opens n leads whose acceptance deadlines fall evenly over
// spread, after every lead is open, lets each lapse, and measures how late
// each breach and reminder was recorded against its computed instant.
//
// Leads go round-robin to campaigns whose windows step from w0 to w0+spread,
// with w0 longer than opening them all is expected to take (from the handoff
// rate just measured), so the deadlines land after intake is done and
// figure 3 measures the timers, not intake queueing.
func (b *Bench) slaPrecision(ctx context.Context, prefix string, n int, spread time.Duration, handRate float64, sample bool) (map[string]float64, error) {
	buckets := min(60, n)
	open := time.Duration(float64(n)/math.Max(handRate, 0.5)*1.3*float64(time.Second)) + 10*time.Second
	names := make([]string, buckets)
	windows := make([]time.Duration, buckets)
	for i := range names {
		names[i] = fmt.Sprintf("%s-b%02d", prefix, i)
		windows[i] = open
		if buckets > 1 {
			windows[i] += spread * time.Duration(i) / time.Duration(buckets-1)
		}
		windows[i] = windows[i].Round(time.Second)
	}
	if err := b.campaigns(ctx, names, windows, 50); err != nil {
		return nil, err
	}
	logf("figure 3 %s: opening %d leads; acceptance windows %s..%s (reminders at half)", prefix, n, windows[0], windows[buckets-1])
	start := time.Now()
	err := parallel(n, b.o.concurrent, func(i int) error {
		return b.post(fmt.Sprintf(`{"campaign":%q,"email":"%s-%d@bench.example","score":80}`, names[i%buckets], prefix, i))
	})
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	if err := b.waitCount(ctx, offersQuery, prefix+"-%", n, 15*time.Minute); err != nil {
		return nil, err
	}
	opened := time.Since(start)
	logf("  %d leads open after %s", n, opened.Round(100*time.Millisecond))
	if opened > windows[0] {
		b.res.Notes = append(b.res.Notes, fmt.Sprintf("%s: opening took %s, longer than the first window %s: early deadlines overlapped intake.", prefix, opened.Round(time.Second), windows[0]))
	}
	if sample {
		b.sampleFootprint(ctx, n)
	}
	if err := b.waitCount(ctx, `select count(*) from lead_events e join leads l on l.id = e.lead_id where l.campaign_id like $1 and e.kind = 'lapsed'`,
		prefix+"-%", n, windows[buckets-1]+5*time.Minute); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, k := range []struct{ name, kind, due string }{{"breach", "lapsed", "deadline"}, {"reminder", "reminded", "due"}} {
		var p50, p99, mx float64
		err := b.st.Pool.QueryRow(ctx, `
			select coalesce(percentile_cont(0.5) within group (order by ms), 0), coalesce(percentile_cont(0.99) within group (order by ms), 0), coalesce(max(ms), 0)
			from (select extract(epoch from e.recorded_at - (e.data->>$3)::timestamptz) * 1000 as ms
			      from lead_events e join leads l on l.id = e.lead_id where l.campaign_id like $1 and e.kind = $2) x`,
			prefix+"-%", k.kind, k.due).Scan(&p50, &p99, &mx)
		if err != nil {
			return nil, err
		}
		out[k.name+"_p50"], out[k.name+"_p99"], out[k.name+"_max"] = p50, p99, mx
		// The same, up to the instant the workflow task began (workflow.Now
		// in the event's "fired"): the engine's share of the lateness.
		err = b.st.Pool.QueryRow(ctx, `
			select coalesce(percentile_cont(0.99) within group (order by ms), 0)
			from (select extract(epoch from (e.data->>'fired')::timestamptz - (e.data->>$3)::timestamptz) * 1000 as ms
			      from lead_events e join leads l on l.id = e.lead_id where l.campaign_id like $1 and e.kind = $2) x`,
			prefix+"-%", k.kind, k.due).Scan(&p99)
		if err != nil {
			return nil, err
		}
		out[k.name+"_task_p99"] = p99
	}
	return out, nil
}

// knee doubles the open leads at a short spread until breach p99 passes a
// second, within what is left of the time budget.
func (b *Bench) knee(ctx context.Context, handRate float64) error {
	type step struct {
		Leads       int     `json:"leads"`
		BreachP99ms float64 `json:"breach_p99_ms"`
		BreachMaxms float64 `json:"breach_max_ms"`
		ReminderP99 float64 `json:"reminder_p99_ms"`
		Seconds     float64 `json:"took_s"`
	}
	var steps []step
	capacity := 0
	for n := b.o.kneeStart; n <= b.o.kneeMax; n *= 2 {
		// Opening n leads, their first window (as long again) and the spread.
		est := time.Duration(float64(n)/math.Max(handRate, 0.5)*2.6*float64(time.Second)) + b.o.kneeSpread + 20*time.Second
		if !b.o.fits(est) {
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("The knee stopped before %d leads: about %s more would pass the %s budget (-budget).", n, est.Round(time.Second), b.o.budget))
			break
		}
		t0 := time.Now()
		l, err := b.slaPrecision(ctx, fmt.Sprintf("knee%d", n), n, b.o.kneeSpread, handRate, false)
		if err != nil {
			return err
		}
		s := step{n, l["breach_p99"], l["breach_max"], l["reminder_p99"], time.Since(t0).Seconds()}
		steps = append(steps, s)
		logf("knee: %d leads over %s: breach p99 %.0f ms, max %.0f ms (%.0fs)", n, b.o.kneeSpread, s.BreachP99ms, s.BreachMaxms, s.Seconds)
		if s.BreachP99ms > 1000 {
			break
		}
		capacity = n
	}
	b.res.Series[fmt.Sprintf("3_knee (deadlines over %s)", b.o.kneeSpread)] = steps
	if len(steps) == 0 {
		b.res.Extra["3_knee_leads"] = "not run: no step fitted in the budget (-budget)"
	} else if steps[len(steps)-1].BreachP99ms <= 1000 {
		b.res.Extra["3_knee_leads"] = fmt.Sprintf("p99 stayed ≤ 1 s up to %d leads over %s (the largest tried)", capacity, b.o.kneeSpread)
	} else {
		b.res.Extra["3_knee_leads"] = fmt.Sprintf("p99 ≤ 1 s up to %d leads over %s; passed it at twice that", capacity, b.o.kneeSpread)
	}
	return nil
}

// intakeLatency posts single leads open-loop at a fixed rate (each request on
// its own goroutine at its own instant, so a slow answer never delays the
// next send) and returns p50 and p99 of the answer time. The leads are below
// the campaign's bar, so they nurture: the figure is intake, not routing.
//
// mode is one of intakeModes.
func (b *Bench) intakeLatency(ctx context.Context, name string, rate float64, d time.Duration, mode string) (p50, p99 float64, err error) {
	if mode == "start" {
		if err := b.workflowGateway(); err != nil {
			return 0, 0, err
		}
	}
	if mode != "engine" {
		if err := b.campaigns(ctx, []string{name}, []time.Duration{time.Hour}, 90); err != nil {
			return 0, 0, err
		}
	}
	n := int(rate * d.Seconds())
	logf("figure 4 %s: %d POSTs at %.0f/s (answered: %s)", name, n, rate, mode)
	lat := make([]float64, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t := time.Now()
			var err error
			if mode == "engine" {
				id := fmt.Sprintf("bench-sws-%s-%d-%d", name, began.UnixNano(), i)
				_, err = b.cl.SignalWithStartWorkflow(ctx, id, "touch", i, client.StartWorkflowOptions{ID: id, TaskQueue: baselineQueue}, Trivial)
			} else {
				err = b.postAs(fmt.Sprintf(`{"campaign":%q,"email":"%s-%d@bench.example","score":10}`, name, name, i), mode)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			lat[i] = float64(time.Since(t).Microseconds()) / 1000
		}(i)
	}
	wg.Wait()
	f := failed.Load()
	if f > 0 {
		// A failed POST counts with the time it took to fail; the run goes
		// on, and the failures are reported with the gateway's reason.
		why := ""
		if mode != "engine" {
			gw := b.gateway
			if mode == "start" {
				gw = wfGateway.p
			}
			why = lastLine(gw.logPath, "request failed")
		}
		b.res.Notes = append(b.res.Notes, fmt.Sprintf("%s (%s): %d of %d POSTs failed; the first: %v; the gateway's last failure: %s", name, mode, f, n, firstErr.Load(), why))
		b.res.Extra["4_failed_posts "+name] = f
		logf("  %d of %d failed: %v %s", f, n, firstErr.Load(), why)
	}
	// Let the worker finish the nurture step before the next figure starts.
	if mode == "engine" {
		time.Sleep(2 * time.Second)
	} else if err := b.waitCount(ctx, `select count(*) from lead_events e join leads l on l.id = e.lead_id where l.campaign_id = $1 and e.kind = 'nurturing'`,
		name, n-int(f), 10*time.Minute); err != nil {
		return 0, 0, err
	}
	sort.Float64s(lat)
	return pct(lat, 0.5), pct(lat, 0.99), nil
}

func pct(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(q*float64(len(sorted))))-1)]
}

// intakeSearch tries the rates in turn, for each way of answering, and
// reports the highest whose p99 stays at or under 100 ms.
func (b *Bench) intakeSearch(ctx context.Context) error {
	rates, _ := parseRates(b.o.intakeRates)
	type step struct {
		Rate  float64 `json:"rate_per_s"`
		P50ms float64 `json:"p50_ms"`
		P99ms float64 `json:"p99_ms"`
	}
	for _, mode := range []struct{ name string }{{"processed"}, {"start"}, {"respond-async"}} {
		var steps []step
		best := 0.0
		for _, r := range rates {
			if est := b.o.intakeStep*3 + 10*time.Second; !b.o.fits(est) {
				b.res.Notes = append(b.res.Notes, fmt.Sprintf("The %s rate search stopped before %.0f/s: it would pass the %s budget (-budget).", mode.name, r, b.o.budget))
				break
			}
			p50, p99, err := b.intakeLatency(ctx, fmt.Sprintf("intake-search-%s-%.0f", mode.name, r), r, b.o.intakeStep, mode.name)
			if err != nil {
				return err
			}
			steps = append(steps, step{r, p50, p99})
			logf("intake search (%s): %.0f/s → p50 %.1f ms, p99 %.1f ms", mode.name, r, p50, p99)
			if p99 > 100 {
				break
			}
			best = r
		}
		b.res.Series[fmt.Sprintf("4_intake_search_%s (%s per rate)", mode.name, b.o.intakeStep)] = steps
		b.res.Extra[fmt.Sprintf("4_highest_rate_p99_le_100ms_%s_per_s", mode.name)] = best
	}
	return nil
}

// sampleFootprint reads memory and size while figure 3's leads are open.
func (b *Bench) sampleFootprint(ctx context.Context, open int) {
	for _, p := range []*proc{b.worker, b.gateway, b.server} {
		cur, peak := p.rss()
		b.res.Extra[fmt.Sprintf("5_%s_rss_mib (%d leads open; peak so far)", p.name, open)] = fmt.Sprintf("%.0f (%.0f)", float64(cur)/1024, float64(peak)/1024)
	}
	var size int64
	if err := b.st.Pool.QueryRow(ctx, `select pg_database_size(current_database())`).Scan(&size); err == nil {
		b.res.Extra[fmt.Sprintf("5_database_mib (%d leads open)", open)] = math.Round(float64(size)/1048576*10) / 10
	}
}

// footprint reads what a lead costs: history events per lead on two paths,
// lead events per lead, and the CPU each process used over the whole run.
func (b *Bench) footprint(ctx context.Context) error {
	cfgCl, err := client.Dial(client.Options{HostPort: b.addr, Logger: nil})
	if err != nil {
		return err
	}
	defer cfgCl.Close()
	for _, path := range []struct{ label, campaign string }{
		{"5_history_events_per_lead (to the offer, figure 2)", "handoff-r1"},
		{"5_history_events_per_lead (offer, reminder, breach, figure 3)", "sla-r1-%"},
	} {
		var ids []string
		rows, err := b.st.Pool.Query(ctx, `select workflow_id from leads where campaign_id like $1 order by id limit 20`, path.campaign)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		var counts []float64
		for _, id := range ids {
			it := cfgCl.GetWorkflowHistory(ctx, id, "", false, 0)
			n := 0
			for it.HasNext() {
				if _, err := it.Next(); err != nil {
					return err
				}
				n++
			}
			counts = append(counts, float64(n))
		}
		sort.Float64s(counts)
		b.res.Extra[path.label] = pct(counts, 0.5)
	}
	var evPerLead float64
	if err := b.st.Pool.QueryRow(ctx, `select count(*)::float / greatest(count(distinct lead_id), 1) from lead_events`).Scan(&evPerLead); err != nil {
		return err
	}
	b.res.Extra["5_lead_event_rows_per_lead (all figures)"] = math.Round(evPerLead*10) / 10
	var size int64
	if err := b.st.Pool.QueryRow(ctx, `select pg_database_size(current_database())`).Scan(&size); err != nil {
		return err
	}
	var leads int
	if err := b.st.Pool.QueryRow(ctx, `select count(*) from leads`).Scan(&leads); err != nil {
		return err
	}
	b.res.Extra["5_database_mib_at_end"] = fmt.Sprintf("%.1f with %d leads", float64(size)/1048576, leads)
	for _, p := range []*proc{b.worker, b.gateway, b.server} {
		cur, peak := p.rss()
		b.res.Extra[fmt.Sprintf("5_%s_rss_mib_at_end (peak)", p.name)] = fmt.Sprintf("%.0f (%.0f)", float64(cur)/1024, float64(peak)/1024)
		b.res.Extra[fmt.Sprintf("5_%s_cpu_seconds", p.name)] = math.Round(p.cpuSeconds())
	}
	b.res.Extra["run_wall_seconds"] = math.Round(time.Since(began).Seconds())
	if m := b.worker.scrape(); m != nil {
		b.res.Extra["5_worker_tasks_whole_run (SDK metrics)"] = taskSplit(map[string]float64{}, m)
	}
	return nil
}

// routing is figure 6: assignments per second with 1, 8 and 32 concurrent
// callers against the local PostgreSQL, next to the database's own durable
// single-row INSERT rate with the same callers, measured side by side on a
// fresh database (bench/routing.go).
func (b *Bench) routing(ctx context.Context, rep int, add func(string, float64)) error {
	logf("figure 6, rep %d: routing and single-row inserts with 1, 8, 32 callers (%d each)", rep, b.o.routingN)
	r, err := benchRouting(ctx, b.dbURL, []int{1, 8, 32}, b.o.routingN)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	for _, row := range r.Rows {
		add(fmt.Sprintf("6_assign_per_s_%02dc", row.Callers), row.AssignPerSec)
		add(fmt.Sprintf("6_insert_per_s_%02dc", row.Callers), row.InsertPerSec)
		add(fmt.Sprintf("6_assign_to_insert_%02dc", row.Callers), row.Ratio)
		logf("  %d callers: %.0f assignments/s, %.0f inserts/s (ratio %.3f)", row.Callers, row.AssignPerSec, row.InsertPerSec, row.Ratio)
	}
	b.res.Extra["6_routing_team"] = r.Team
	b.res.Extra[fmt.Sprintf("6_routing_shares (rep %d)", rep)] = r.Shares
	return nil
}

// lastLine is the last line of a log holding substr ("" if none).
func lastLine(path, substr string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return lines[i]
		}
	}
	return ""
}
