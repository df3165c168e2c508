package chaos

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options size a run.
type Options struct {
	Topology     string        // cluster (make run-cluster's shape) or dev (make run's)
	Leads        int           // how many leads are submitted, evenly over FaultPeriod
	Faults       int           // at least this many faults, spread over FaultPeriod
	FaultPeriod  time.Duration // how long faults are injected
	AcceptWindow time.Duration // the seconds-scale policy's accept_within
	Seed         int64
	Root, Dir    string
	Bin          string    // worker, gateway and starter (default Root/.bin)
	Log          io.Writer // the stack's output
	Progress     io.Writer // one line per fault and phase
}

// Script is what the test does with one lead.
type Script string

const (
	Accept  Script = "accept"  // accepts by the offer's link
	Decline Script = "decline" // declines by the offer's link
	Ignore  Script = "ignore"  // left alone: reminded, reassigned, reminded, escalated
	Erase   Script = "erase"   // erased (starter lead erase)
)

type lead struct {
	i      int
	script Script
	email  string
	id     string // set by the 2xx
	acked  bool
	// acted: the action's confirmation was seen; tried: a request was sent
	// whose outcome is unknown (timeout, 5xx after the gateway may have acted).
	acted, tried bool
}

// Report is the oracle's verdict and the run's numbers.
type Report struct {
	Seed                                       int64
	Topology                                   string
	Leads, Acked                               int
	Faults                                     map[string]int
	FaultTotal                                 int
	SelfExits                                  int
	Submit2xx, Submit4xx, Submit5xx, Submit503 int
	SubmitNet                                  int
	SubmitAttempts                             int
	Actions, ActionRetries                     int
	Lost                                       []string // acked, then not in PostgreSQL
	WrongState                                 []string // acked, in PostgreSQL, not where its script leads
	DuplicateMail, MissingMail                 []string
	DuplicateSLA                               []string
	LedgerOutboxMismatch                       []string
	Unsettled                                  []string
	LatenessDuringFaults, LatenessAfter        []time.Duration
	Elapsed                                    time.Duration
}

// OK is the verdict: nothing lost, nothing twice, everything where its script leads.
func (r *Report) OK() bool {
	return len(r.Lost) == 0 && len(r.WrongState) == 0 && len(r.DuplicateMail) == 0 && len(r.MissingMail) == 0 && len(r.DuplicateSLA) == 0 &&
		len(r.LedgerOutboxMismatch) == 0 && len(r.Unsettled) == 0
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

func (r *Report) String() string {
	var b strings.Builder
	kinds := []string{}
	for k := range r.Faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "chaos run: topology %s, seed %d, %s\n", r.Topology, r.Seed, r.Elapsed.Round(time.Second))
	fmt.Fprintf(&b, "  faults: %d (", r.FaultTotal)
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, r.Faults[k])
	}
	fmt.Fprintf(&b, "); processes that exited on their own and were restarted: %d\n", r.SelfExits)
	fmt.Fprintf(&b, "  leads: %d submitted, %d got a 2xx; %d requests: %d 2xx, %d 4xx (409: first request still running), %d 5xx (%d of them 503), %d without an answer\n",
		r.Leads, r.Acked, r.SubmitAttempts, r.Submit2xx, r.Submit4xx, r.Submit5xx, r.Submit503, r.SubmitNet)
	fmt.Fprintf(&b, "  rep actions by link and erasures: %d confirmed, %d retries\n", r.Actions, r.ActionRetries)
	fmt.Fprintf(&b, "  SLA actions late by (recorded − due): during faults p50 %s p95 %s max %s (%d); after p50 %s p95 %s max %s (%d)\n",
		pct(r.LatenessDuringFaults, .5).Round(time.Millisecond), pct(r.LatenessDuringFaults, .95).Round(time.Millisecond), pct(r.LatenessDuringFaults, 1).Round(time.Millisecond), len(r.LatenessDuringFaults),
		pct(r.LatenessAfter, .5).Round(time.Millisecond), pct(r.LatenessAfter, .95).Round(time.Millisecond), pct(r.LatenessAfter, 1).Round(time.Millisecond), len(r.LatenessAfter))
	for _, l := range []struct {
		name string
		v    []string
	}{{"lost after a 2xx", r.Lost}, {"in the wrong state", r.WrongState}, {"mail sent twice", r.DuplicateMail}, {"mail missing", r.MissingMail}, {"SLA action recorded twice", r.DuplicateSLA}, {"ledger and outbox disagree", r.LedgerOutboxMismatch}, {"not settled", r.Unsettled}} {
		fmt.Fprintf(&b, "  %-28s %d", l.name+":", len(l.v))
		for i, x := range l.v {
			if i == 5 {
				fmt.Fprintf(&b, " …")
				break
			}
			fmt.Fprintf(&b, "\n    %s", x)
		}
		b.WriteString("\n")
	}
	if r.OK() {
		b.WriteString("  verdict: OK\n")
	} else {
		b.WriteString("  verdict: FAILED\n")
	}
	return b.String()
}

// Run starts a stack, drives it under faults and checks it.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	rng := rand.New(rand.NewSource(o.Seed))
	rep := &Report{Seed: o.Seed, Topology: o.Topology, Leads: o.Leads, Faults: map[string]int{}}
	s := &Stack{Topology: o.Topology, Root: o.Root, Dir: o.Dir, Bin: o.Bin, Log: o.Log}
	defer s.Stop()
	fmt.Fprintf(o.Progress, "starting the %s stack in %s\n", o.Topology, o.Dir)
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	if err := s.setup(ctx, o); err != nil {
		return nil, err
	}

	// The scripts and the fault schedule come from the seed.
	leads := make([]*lead, o.Leads)
	for i := range leads {
		var sc Script
		switch x := rng.Intn(100); {
		case x < 40:
			sc = Accept
		case x < 60:
			sc = Decline
		case x < 85:
			sc = Ignore
		default:
			sc = Erase
		}
		leads[i] = &lead{i: i, script: sc, email: fmt.Sprintf("lead%04d.s%d@chaos.example", i, o.Seed)}
	}
	type fault struct {
		kind  string
		index int
		gap   time.Duration
		down  time.Duration
	}
	kinds := []string{"worker", "gateway", "temporal", "postgres"}
	var plan []fault
	perFault := o.FaultPeriod / time.Duration(max(1, o.Faults))
	for i := 0; i < o.Faults; i++ {
		k := kinds[i%len(kinds)] // every kind twice, then at random; the order is shuffled below
		if i >= 2*len(kinds) {
			k = kinds[rng.Intn(len(kinds))]
		}
		down := time.Second + time.Duration(rng.Int63n(int64(4*time.Second)))
		gap := time.Duration(rng.Int63n(int64(max(perFault-down, 200*time.Millisecond)))) // spread over the period
		plan = append(plan, fault{kind: k, index: rng.Intn(2), gap: gap, down: down})
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })

	var faultsOn atomic.Bool
	faultsOn.Store(true)
	faultEnd := make(chan time.Time, 1)
	superCtx, stopSuper := context.WithCancel(ctx)
	defer stopSuper()
	var selfExits atomic.Int64
	go s.supervise(superCtx, &selfExits)

	// Faults, one at a time.
	var fwg sync.WaitGroup
	fwg.Add(1)
	go func() {
		defer fwg.Done()
		for n, f := range plan {
			select {
			case <-ctx.Done():
				return
			case <-time.After(f.gap):
			}
			fmt.Fprintf(o.Progress, "%s fault %d/%d: %s down for %s\n", time.Now().Format("15:04:05"), n+1, len(plan), f.kind, f.down.Round(100*time.Millisecond))
			if err := s.inject(f.kind, f.index, f.down); err != nil {
				fmt.Fprintf(o.Progress, "  fault failed: %v\n", err)
				continue
			}
			rep.Faults[f.kind]++
			rep.FaultTotal++
		}
		faultsOn.Store(false)
		faultEnd <- time.Now()
	}()

	// Leads, evenly over the fault period, each with its script.
	hc := &http.Client{Timeout: 15 * time.Second}
	var stats struct {
		sync.Mutex
		attempts, ok, s4xx, s5xx, s503, net, actions, retries int
	}
	var lwg sync.WaitGroup
	every := o.FaultPeriod / time.Duration(max(1, o.Leads))
	for _, l := range leads {
		l := l
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			deadline := time.Now().Add(100 * time.Second) // past store.IdempotencyAbandoned
			for time.Now().Before(deadline) && ctx.Err() == nil {
				body := fmt.Sprintf(`{"campaign":"chaos","email":%q,"name":"Lead %d","company":"Chaos %d","score":60}`, l.email, l.i, l.i)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.GatewayURL+"/api/v1/leads", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.APIKey)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("chaos-%d-%d", o.Seed, l.i))
				resp, err := hc.Do(req)
				stats.Lock()
				stats.attempts++
				if err != nil {
					stats.net++
				} else if resp.StatusCode >= 500 {
					stats.s5xx++
					if resp.StatusCode == 503 {
						stats.s503++
					}
				} else if resp.StatusCode/100 == 2 {
					stats.ok++
				} else {
					stats.s4xx++
				}
				stats.Unlock()
				if err == nil {
					var out struct{ ID string }
					json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck
					resp.Body.Close()
					if resp.StatusCode/100 == 2 && out.ID != "" {
						l.id, l.acked = out.ID, true
						break
					}
					if resp.StatusCode/100 == 4 && resp.StatusCode != 429 && resp.StatusCode != 409 {
						fmt.Fprintf(o.Progress, "  lead %d refused: %d\n", l.i, resp.StatusCode)
						return
					}
				}
				time.Sleep(time.Second)
			}
			if !l.acked {
				return
			}
			retries, acted, err := s.act(ctx, l, o.AcceptWindow)
			stats.Lock()
			stats.retries += retries
			if acted {
				stats.actions++
			}
			stats.Unlock()
			if err != nil {
				fmt.Fprintf(o.Progress, "  lead %d (%s): %v\n", l.i, l.script, err)
			}
		}()
		time.Sleep(every)
	}
	lwg.Wait()
	fwg.Wait()
	end := <-faultEnd
	fmt.Fprintf(o.Progress, "%s faults over; waiting for the system to settle\n", time.Now().Format("15:04:05"))

	rep.SubmitAttempts, rep.Submit2xx, rep.Submit4xx, rep.Submit5xx, rep.Submit503, rep.SubmitNet = stats.attempts, stats.ok, stats.s4xx, stats.s5xx, stats.s503, stats.net
	rep.Actions, rep.ActionRetries = stats.actions, stats.retries
	for _, l := range leads {
		if l.acked {
			rep.Acked++
		}
	}
	// Settle: every part running, then until the expected states are reached.
	settle := time.Now().Add(3*o.AcceptWindow + 90*time.Second)
	for {
		if err := s.check(ctx, leads, o.AcceptWindow, end, rep); err != nil {
			return nil, err
		}
		// Quiet: every lead where its script leads, and every mail its
		// events call for sent (notices run beside the clock and may lag).
		if len(rep.Unsettled) == 0 && len(rep.MissingMail) == 0 || time.Now().After(settle) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	rep.WrongState, rep.Unsettled = rep.Unsettled, nil // what never got there
	stopSuper()
	rep.SelfExits = int(selfExits.Load())
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// setup imports the directory, a seconds-scale policy and the campaign.
func (s *Stack) setup(ctx context.Context, o Options) error {
	w := o.AcceptWindow
	pol := fmt.Sprintf("policies:\n  - name: chaos-seconds\n    accept_within: %s\n    first_contact_within: 1h\n    reminders: [0.5]\n    on_miss: {reassign: 1, escalate: true}\n", w)
	camp := fmt.Sprintf("id: chaos\nname: Chaos\nowner:\n  name: Mo Fischer\n  email: mo.fischer@example.com\nteam: emea\nmin_score: 50\naccept_within: %s\nsla_policy: chaos-seconds\n", w)
	pf, cf := filepath.Join(s.Dir, "policies.yaml"), filepath.Join(s.Dir, "campaign.yaml")
	if err := os.WriteFile(pf, []byte(pol), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(cf, []byte(camp), 0o644); err != nil {
		return err
	}
	starter := filepath.Join(s.Bin, "starter")
	for _, args := range [][]string{{"directory", "import", filepath.Join(s.Root, "examples/team.yaml")}, {"policy", "import", pf}, {"campaign", "launch", cf}} {
		if _, err := s.run(ctx, starter, nil, args...); err != nil {
			return err
		}
	}
	// The campaign workflow makes the campaign live a moment after the
	// launch returns: a lead before that is refused (400, not live).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := pgx.Connect(ctx, s.DatabaseURL)
		if err == nil {
			var status string
			err = conn.QueryRow(ctx, `select status from campaigns where id = 'chaos'`).Scan(&status)
			conn.Close(ctx)
			if err == nil && status == "live" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("campaign chaos not live within 2 minutes of its launch (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *Stack) all() []*proc {
	return append(append(append([]*proc{s.temporal}, s.workers...), s.gateways...), s.lb)
}

// supervise restarts any process that exited on its own (a worker that could
// not reach Temporal at start, say), as systemd or Kubernetes would.
func (s *Stack) supervise(ctx context.Context, exits *atomic.Int64) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		for _, p := range s.all() {
			if p == nil {
				continue
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if !down && !p.running() {
				exits.Add(1)
				p.start() //nolint:errcheck
			}
		}
	}
}

// inject takes one part down for d: kill -9 (PostgreSQL: stop -m immediate),
// then starts it again.
func (s *Stack) inject(kind string, index int, d time.Duration) error {
	var p *proc
	switch kind {
	case "worker":
		p = s.workers[index%len(s.workers)]
	case "gateway":
		p = s.gateways[index%len(s.gateways)]
	case "temporal":
		p = s.temporal
	case "postgres":
		if err := s.StopPGImmediate(); err != nil {
			return err
		}
		time.Sleep(d)
		return s.StartPG()
	}
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.kill()
	time.Sleep(d)
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
	return p.start()
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
var h1RE = regexp.MustCompile(`<h1>(.*?)</h1>`)

// act carries out the lead's script; it reports how many tries it took and
// whether the action's confirmation was seen.
func (s *Stack) act(ctx context.Context, l *lead, window time.Duration) (int, bool, error) {
	switch l.script {
	case Ignore:
		return 0, false, nil
	case Erase:
		starter := filepath.Join(s.Bin, "starter")
		// Until an answer or for 3 minutes: the starter fails at once while
		// PostgreSQL is down, and a lead whose worker keeps being killed
		// takes the erase Update only when a workflow task completes.
		deadline := time.Now().Add(3 * time.Minute)
		try := 0
		for ; time.Now().Before(deadline) && ctx.Err() == nil; try++ {
			l.tried = true
			cmd := exec.CommandContext(ctx, starter, "lead", "erase", l.id, "--reason", "erasure-request")
			cmd.Env = append(os.Environ(), s.baseEnv...)
			out, err := cmd.CombinedOutput()
			if err == nil || strings.Contains(strings.ToLower(string(out)), "already erased") {
				l.acted = true
				return try, true, nil
			}
			time.Sleep(2 * time.Second)
		}
		return try, false, fmt.Errorf("erase never confirmed within 3 minutes")
	}
	action := "accept"
	if l.script == Decline {
		action = "reject"
	}
	deadline := time.Now().Add(window)
	tries := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		link, err := s.offerLink(ctx, l.id, action)
		if err != nil || link == "" {
			time.Sleep(300 * time.Millisecond)
			continue
		}
		tries++
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Timeout: 15 * time.Second, Jar: jar}
		resp, err := hc.Get(link)
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRE.FindSubmatch(page)
		if resp.StatusCode != 200 || m == nil {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		form := url.Values{"csrf": {string(m[1])}}
		if action == "reject" {
			form.Set("reason", "bad-fit")
		}
		l.tried = true
		resp, err = hc.PostForm(link, form)
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		h := h1RE.FindSubmatch(page)
		if resp.StatusCode == 200 && h != nil && (strings.Contains(string(h[1]), "accepted") || strings.Contains(string(h[1]), "declined")) {
			l.acted = true
			return tries - 1, true, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return tries, false, nil
}

// offerLink reads the first offer's link for action from the outbox (the
// mail a rep would open), pointed at this stack's entry.
func (s *Stack) offerLink(ctx context.Context, leadID, action string) (string, error) {
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var links []struct{ URL string }
	err = conn.QueryRow(ctx, `select o.links from outbox o join email_ledger l on l.key = o.ledger_key
		where l.kind = 'offer' and l.key like $1 order by o.id limit 1`, leadID+":offer:%:1:%").Scan(&links)
	if err != nil {
		if err == pgx.ErrNoRows {
			return "", nil
		}
		return "", err
	}
	for _, ln := range links {
		u, err := url.Parse(ln.URL)
		if err != nil {
			continue
		}
		tok := strings.TrimPrefix(u.Path, "/a/")
		payload, _, _ := strings.Cut(tok, ".")
		b, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			continue
		}
		var c struct{ X string }
		if json.Unmarshal(b, &c) == nil && c.X == action {
			return s.GatewayURL + u.Path, nil
		}
	}
	return "", nil
}

// check is the oracle. It fills the report's findings afresh.
func (s *Stack) check(ctx context.Context, leads []*lead, window time.Duration, faultEnd time.Time, rep *Report) error {
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rep.Lost, rep.WrongState, rep.DuplicateMail, rep.MissingMail, rep.DuplicateSLA, rep.LedgerOutboxMismatch, rep.Unsettled = nil, nil, nil, nil, nil, nil, nil
	rep.LatenessDuringFaults, rep.LatenessAfter = nil, nil

	states := map[string]string{}
	rows, err := conn.Query(ctx, `select id, state from leads where campaign_id = 'chaos'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return err
		}
		states[id] = st
	}
	if rows.Err() != nil {
		return rows.Err()
	}

	type ev struct {
		kind, key          string
		occurred, recorded time.Time
	}
	events := map[string][]ev{}
	rows, err = conn.Query(ctx, `select lead_id, kind, event_key, occurred_at, recorded_at from lead_events order by lead_id, occurred_at, seq`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var e ev
		if err := rows.Scan(&id, &e.kind, &e.key, &e.occurred, &e.recorded); err != nil {
			return err
		}
		events[id] = append(events[id], e)
	}
	if rows.Err() != nil {
		return rows.Err()
	}
	type ledgerRow struct {
		key, kind, status string
		outbox            int
	}
	ledger := map[string][]ledgerRow{} // lead → its ledger rows
	rows, err = conn.Query(ctx, `select l.key, l.kind, l.status, (select count(*) from outbox o where o.ledger_key = l.key) from email_ledger l`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r ledgerRow
		if err := rows.Scan(&r.key, &r.kind, &r.status, &r.outbox); err != nil {
			return err
		}
		id, _, _ := strings.Cut(r.key, ":")
		ledger[id] = append(ledger[id], r)
	}
	if rows.Err() != nil {
		return rows.Err()
	}
	// An escalation that went out in a batch (docs/email.md, Batching) is
	// its lead's message too: sent when its batch was, with one outbox
	// copy, the batch's (its section is gone from it once the lead is
	// erased, so it counts as no copy then).
	// A batch still open or going out is not settled yet.
	rows, err = conn.Query(ctx, `select i.key, 'escalation', coalesce(l.status, 'sending'),
			case when i.text_part <> '' then (select count(*) from outbox o where o.ledger_key = i.batch_key) else 0 end,
			b.status in ('open', 'sending'), i.batch_key
		from mail_batch_items i join mail_batches b on b.key = i.batch_key left join email_ledger l on l.key = i.batch_key`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r ledgerRow
		var pending bool
		var batch string
		if err := rows.Scan(&r.key, &r.kind, &r.status, &r.outbox, &pending, &batch); err != nil {
			return err
		}
		if pending {
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("%s waits in batch %s", r.key, batch))
			continue
		}
		id, _, _ := strings.Cut(r.key, ":")
		ledger[id] = append(ledger[id], r)
	}
	if rows.Err() != nil {
		return rows.Err()
	}
	levels := map[string]map[string]int{} // lead → "attempt/phase/level" of each escalation → events
	rows, err = conn.Query(ctx, `select lead_id, event_key, coalesce(data->>'phase', ''), coalesce(data->>'level', '') from lead_events where kind = 'escalated'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, key, phase, level string
		if err := rows.Scan(&id, &key, &phase, &level); err != nil {
			return err
		}
		if levels[id] == nil {
			levels[id] = map[string]int{}
		}
		attempt := ""
		if parts := strings.Split(key, ":"); len(parts) >= 2 {
			attempt = parts[1]
		}
		levels[id][attempt+"/"+phase+"/"+level]++
	}
	if rows.Err() != nil {
		return rows.Err()
	}

	for _, l := range leads {
		if !l.acked {
			continue
		}
		st, ok := states[l.id]
		if !ok {
			rep.Lost = append(rep.Lost, fmt.Sprintf("lead %d %s (%s): 2xx, then not in PostgreSQL", l.i, l.id, l.script))
			continue
		}
		count := map[string]int{}
		var offered []time.Time
		for _, e := range events[l.id] {
			count[e.kind]++
			if e.kind == "offered" {
				offered = append(offered, e.occurred)
			}
		}
		// What the script leads to. An action whose answer never came may or
		// may not have happened: either outcome is right.
		want := map[string]bool{}
		switch {
		case l.script == Accept && l.acted:
			want["Accepted"] = true
		case l.script == Erase && l.acted:
			want["Erased"] = true
		case l.script == Erase: // the erasure's answer never came: done or not
			want["Erased"], want["Escalated"] = true, true
		case l.script == Decline && l.acted:
			want["Escalated"] = true // declined, offered to the next rep, left alone
		default:
			want["Escalated"] = true
			if l.tried && l.script == Accept {
				want["Accepted"] = true
			}
		}
		if !want[st] {
			var ws []string
			for k := range want {
				ws = append(ws, k)
			}
			sort.Strings(ws)
			rep.Unsettled = append(rep.Unsettled, fmt.Sprintf("lead %d %s (%s, acted %v): %s, want %s", l.i, l.id, l.script, l.acted, st, strings.Join(ws, " or ")))
		}
		// Exactly once: one event per SLA step, attempt and escalation
		// level; one mail per event; the ledger and the outbox agree (an
		// erasure deletes the outbox copies, by design).
		if count["lapsed"] > len(offered) || count["reminded"] > len(offered) || count["rejected"] > 1 || count["accepted"] > 1 {
			rep.DuplicateSLA = append(rep.DuplicateSLA, fmt.Sprintf("lead %d %s: %v", l.i, l.id, count))
		}
		for step, n := range levels[l.id] {
			if n > 1 {
				rep.DuplicateSLA = append(rep.DuplicateSLA, fmt.Sprintf("lead %d %s: escalation %s recorded %d times", l.i, l.id, step, n))
			}
		}
		m := map[string]int{}
		for _, r := range ledger[l.id] {
			if r.status == "sent" {
				m[r.kind]++
			}
			okRow := (r.status == "sent") == (r.outbox == 1)
			if st == "Erased" {
				okRow = r.outbox == 0
			}
			if !okRow || r.outbox > 1 || r.status == "sending" {
				rep.LedgerOutboxMismatch = append(rep.LedgerOutboxMismatch, fmt.Sprintf("%s: ledger %s, %d outbox rows (lead %s)", r.key, r.status, r.outbox, st))
			}
		}
		// More mails than events is a mail sent twice; fewer is a mail
		// missing, except for an erased lead: erasure stops what was not
		// sent yet.
		for kind, ev := range map[string]string{"offer": "offered", "escalation": "escalated", "reminder": "reminded"} {
			switch {
			case m[kind] > count[ev]:
				rep.DuplicateMail = append(rep.DuplicateMail, fmt.Sprintf("lead %d %s: %d %s mails, %d %s events", l.i, l.id, m[kind], kind, count[ev], ev))
			case m[kind] < count[ev] && st != "Erased":
				rep.MissingMail = append(rep.MissingMail, fmt.Sprintf("lead %d %s: %d %s mails, %d %s events", l.i, l.id, m[kind], kind, count[ev], ev))
			}
		}
		// Lateness: recorded − due, for reminders, lapses and escalations.
		k := 0
		for _, e := range events[l.id] {
			var due time.Time
			switch e.kind {
			case "offered":
				k++
				continue
			case "reminded":
				if k == 0 {
					continue
				}
				due = offered[k-1].Add(window / 2)
			case "lapsed", "escalated":
				if k == 0 {
					continue
				}
				due = offered[k-1].Add(window)
			default:
				continue
			}
			late := e.recorded.Sub(due)
			if e.recorded.Before(faultEnd) {
				rep.LatenessDuringFaults = append(rep.LatenessDuringFaults, late)
			} else {
				rep.LatenessAfter = append(rep.LatenessAfter, late)
			}
		}
	}
	return nil
}
