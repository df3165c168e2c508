package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// weightedYAML is a team of three reps weighted 1, 2 and 3, and a second team
// territories can send leads to.
const weightedYAML = `
sales_leader: {id: sam-leader, name: Sam Okafor, email: sam.okafor@example.com}
teams:
  - id: sales
    manager: {id: mgr, name: Mia Manager, email: mia@example.com}
    reps:
      - {id: w1, name: Rep One, email: w1@example.com, weight: 1%s}
      - {id: w2, name: Rep Two, email: w2@example.com, weight: 2%s}
      - {id: w3, name: Rep Three, email: w3@example.com, weight: 3%s}
  - id: dach
    manager: {id: dach-mgr, name: Dora Manager, email: dora@example.com}
    reps:
      - {id: dieter, name: Dieter, email: dieter@example.com}
`

func weighted(caps ...int) string {
	c := []any{"", "", ""}
	for i, n := range caps {
		c[i] = fmt.Sprintf(", cap: %d", n)
	}
	return fmt.Sprintf(weightedYAML, c...)
}

func assignTeam(t *testing.T, s *store.Store, lead string, attempt int, exclude ...string) (string, error) {
	t.Helper()
	a, err := s.Assign(testCtx(t), lead, attempt, "sales", exclude)
	return a.Rep.ID, err
}

// checkShare fails unless each rep's count is within one of its weighted
// share of the total.
func checkShare(t *testing.T, counts map[string]int, weights map[string]int) {
	t.Helper()
	total, wsum := 0, 0
	for id, w := range weights {
		total += counts[id]
		wsum += w
	}
	for id, w := range weights {
		share := float64(total*w) / float64(wsum)
		if c := float64(counts[id]); c <= share-1 || c >= share+1 {
			t.Errorf("%s (weight %d) got %v of %d, share %.2f (counts %v)", id, w, c, total, share, counts)
		}
	}
}

func dbCounts(t *testing.T, s *store.Store) map[string]int {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `select rep_id, count(*) from assignments group by rep_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		m[id] = n
	}
	return m
}

// 32 goroutines assign 3,000 leads to a team weighted 1:2:3, each lead twice
// at once (a retried activity racing its first run): every rep's share is
// within one of its weighted share, and each (lead, attempt) counts once.
func TestRoutingConcurrentWeightedShare(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, weighted())
	const leads, workers = 3000, 32
	jobs := make(chan string, 2*leads)
	for i := range leads {
		jobs <- fmt.Sprintf("lead-%04d", i)
		jobs <- fmt.Sprintf("lead-%04d", i)
	}
	close(jobs)
	var mu sync.Mutex
	got := map[string]string{}
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lead := range jobs {
				rep, err := assignTeam(t, s, lead, 1)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if prev, ok := got[lead]; ok && prev != rep {
					errs = append(errs, fmt.Errorf("%s went to %s and to %s", lead, prev, rep))
				}
				got[lead] = rep
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs[:min(len(errs), 5)] {
		t.Error(err)
	}
	counts := map[string]int{}
	for _, rep := range got {
		counts[rep]++
	}
	weights := map[string]int{"w1": 1, "w2": 2, "w3": 3}
	checkShare(t, counts, weights)
	checkShare(t, dbCounts(t, s), weights)
	if n := queryInt(t, s, `select count(*) from assignments`); n != leads {
		t.Errorf("assignment rows = %d, want %d", n, leads)
	}
}

// With small caps and leads released as fast as they come (a later attempt
// releases the earlier one), no rep ever holds more than their cap, checked
// by a watcher while 32 goroutines assign.
func TestRoutingConcurrentCapsNeverExceeded(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, weighted(1, 2, 2))
	var stop atomic.Bool
	var over atomic.Value
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		for !stop.Load() {
			var msg string
			err := s.Pool.QueryRow(context.Background(), `select coalesce(string_agg(p.id || ' holds ' || n || ' > cap ' || p.cap, ', '), '')
				from (select rep_id, count(*) n from assignments where released_at is null group by rep_id) a
				join people p on p.id = a.rep_id where p.cap > 0 and n > p.cap`).Scan(&msg)
			if err == nil && msg != "" {
				over.Store(msg)
			}
		}
	}()
	var assigned, full atomic.Int64
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				lead := fmt.Sprintf("cap-%02d-%02d", w, i)
				for attempt := 1; attempt <= 3; attempt++ {
					_, err := assignTeam(t, s, lead, attempt)
					if errors.Is(err, domain.ErrNotFound) {
						full.Add(1)
						break
					} else if err != nil {
						t.Error(err)
						return
					}
					assigned.Add(1)
				}
				// The lead is done: a further attempt that finds nobody
				// still released this one's hold only when it is a later
				// attempt; release it as a close would.
				if _, err := s.Pool.Exec(context.Background(), `update assignments set released_at = now() where lead_id = $1 and released_at is null`, lead); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-watcher
	if msg, _ := over.Load().(string); msg != "" {
		t.Fatalf("a cap was exceeded: %s", msg)
	}
	if assigned.Load() == 0 || full.Load() == 0 {
		t.Fatalf("assigned %d, found the team full %d times: the test did not exercise caps", assigned.Load(), full.Load())
	}
	t.Logf("%d assignments, team full %d times", assigned.Load(), full.Load())
}

// The rotation lives in rows: a new Store (a restarted worker, a new pool)
// goes on where the old one stopped, and the whole run is within one.
func TestRoutingFairAcrossRestarts(t *testing.T) {
	t.Parallel()
	url := testenv.Database(t)
	counts := map[string]int{}
	for run := range 3 {
		s, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			importDir(t, s, weighted())
		}
		for i := range 100 { // not a multiple of 6: each run stops mid-turn
			rep, err := assignTeam(t, s, fmt.Sprintf("r%d-%03d", run, i), 1)
			if err != nil {
				t.Fatal(err)
			}
			counts[rep]++
			checkShare(t, counts, map[string]int{"w1": 1, "w2": 2, "w3": 3})
			if t.Failed() {
				t.Fatalf("run %d lead %d", run, i)
			}
		}
		s.Close()
	}
}

// A rep back from leave, reactivated, or newly added gets their share from
// now on, not the leads they missed.
func TestRoutingRejoinNoBurst(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML)
	now := time.Now()
	lead := 0
	run := func(n int) map[string]int {
		m := map[string]int{}
		for range n {
			lead++
			a, err := s.Assign(ctx, fmt.Sprintf("rj-%04d", lead), 1, "emea", nil)
			if err != nil {
				t.Fatal(err)
			}
			m[a.Rep.ID]++
		}
		return m
	}
	run(7)
	// cy is away for 300 leads.
	if err := s.SetAway(ctx, "cy", now.Add(-time.Hour), now.Add(time.Hour), "vacation"); err != nil {
		t.Fatal(err)
	}
	if m := run(300); m["cy"] != 0 {
		t.Fatalf("cy got %d leads while away", m["cy"])
	}
	// Back: the period now ended a moment ago.
	if err := s.SetAway(ctx, "cy", now.Add(-time.Hour), time.Now().Add(-time.Millisecond), "vacation"); err != nil {
		t.Fatal(err)
	}
	checkShare(t, run(30), map[string]int{"ana": 1, "bea": 1, "cy": 1})

	// bea deactivated for 200 leads, then back.
	off := strings.Replace(emeaYAML, "        time_zone: Europe/Madrid\n", "        time_zone: Europe/Madrid\n        active: false\n", 1)
	importDir(t, s, off)
	if m := run(200); m["bea"] != 0 {
		t.Fatalf("inactive bea got %d", m["bea"])
	}
	importDir(t, s, emeaYAML)
	checkShare(t, run(30), map[string]int{"ana": 1, "bea": 1, "cy": 1})

	// dan joins after 567 leads: a quarter from now on.
	joined := strings.Replace(emeaYAML, "    reps:\n", "    reps:\n      - {id: dan, name: Dan, email: dan@example.com}\n", 1)
	importDir(t, s, joined)
	checkShare(t, run(40), map[string]int{"ana": 1, "bea": 1, "cy": 1, "dan": 1})
}

// Capacity is held from the offer until the lead moves on: a later attempt
// (reject, lapse, reassignment) or a close releases it, once.
func TestRoutingCapacityReleasedByRecord(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	capped := strings.NewReplacer("time_zone: Europe/Dublin\n", "time_zone: Europe/Dublin\n        cap: 1\n",
		"time_zone: Europe/Berlin\n      - id: bea", "time_zone: Europe/Berlin\n        cap: 1\n      - id: bea",
		"time_zone: Europe/Madrid\n", "time_zone: Europe/Madrid\n        cap: 1\n").Replace(emeaYAML)
	if res := importDir(t, s, capped); res.Updated != 3 {
		t.Fatalf("caps: %v", res)
	}
	open := func() string {
		return queryString(t, s, `select coalesce(string_agg(rep_id || ':' || attempt, ',' order by rep_id), '') from assignments where released_at is null`)
	}
	l := snapshot(1, domain.StateMQL)
	record(t, s, l, event(l, "mql", "mql", t0))
	a1, err := s.Assign(ctx, l.ID, 1, "emea", nil)
	if err != nil {
		t.Fatal(err)
	}
	l = snapshot(2, domain.StateOffered)
	l.Attempt, l.Owner = 1, a1.Rep
	record(t, s, l, event(l, "offered:1", "offered", t0))
	if got := open(); got != a1.Rep.ID+":1" {
		t.Fatalf("open after the offer = %q", got)
	}
	// Rejected: the next attempt releases the first rep.
	a2, err := s.Assign(ctx, l.ID, 2, "emea", []string{a1.Rep.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := open(); got != a2.Rep.ID+":2" {
		t.Fatalf("open after reassignment = %q", got)
	}
	l = snapshot(3, domain.StateAccepted)
	l.Attempt, l.Owner = 2, a2.Rep
	record(t, s, l, event(l, "accepted:2", "accepted", t0))
	if got := open(); got != a2.Rep.ID+":2" {
		t.Fatalf("accepted leads keep their hold: %q", got)
	}
	l = snapshot(4, domain.StateConverted)
	l.Attempt, l.Owner = 2, a2.Rep
	record(t, s, l, event(l, "converted", "converted", t0))
	if got := open(); got != "" {
		t.Fatalf("open after close = %q", got)
	}
	// A stale snapshot (retried older activity) does not re-hold or move anything.
	old := snapshot(3, domain.StateAccepted)
	old.Attempt = 2
	record(t, s, old, event(old, "accepted:2", "accepted", t0))
	if got := open(); got != "" {
		t.Fatalf("open after a stale record = %q", got)
	}
}

// Territory rules pick the team from the recorded lead; without rules the
// campaign's team stands; the explanation says which rule matched.
func TestRoutingTerritories(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	two := emeaYAML + `  - id: dach
    manager: {id: dora, name: Dora, email: dora@example.com}
    reps:
      - {id: dieter, name: Dieter, email: dieter@example.com}
`
	importDir(t, s, two)
	l := snapshot(1, domain.StateMQL) // country DE
	record(t, s, l, event(l, "mql", "mql", t0))
	if a, err := s.Assign(ctx, l.ID, 1, "emea", nil); err != nil || a.TeamID != "emea" {
		t.Fatalf("no rules: %+v, %v; want the campaign's team", a, err)
	}
	importDir(t, s, two+`territories:
  default_team: emea
  rules:
    - {name: dach, team: dach, country: [DE, AT, CH]}
`)
	a, err := s.Assign(ctx, l.ID, 2, "emea", nil)
	if err != nil || a.TeamID != "dach" || a.Rep.ID != "dieter" || a.Manager.ID != "dora" {
		t.Fatalf("DE lead: %+v, %v; want dieter of dach", a, err)
	}
	e, err := s.ExplainRoute(ctx, l.Email, domain.LeadFields{}, time.Now())
	if err != nil || e.Match.Rule != "dach" || e.Match.Team != "dach" || len(e.History) != 2 || e.History[1].Why.Rule != "dach" {
		t.Fatalf("explain: %+v, %v", e, err)
	}
	e, err = s.ExplainRoute(ctx, "", domain.LeadFields{Country: "FR"}, time.Now())
	if err != nil || e.Match.Team != "emea" || e.Match.Rule != "default team" || len(e.Choice.Eligible) != 3 {
		t.Fatalf("FR: %+v, %v", e, err)
	}
}

// Dry run lists every change and writes nothing; a rep left out of the file
// is deactivated; the export imports back unchanged.
func TestImportDirectoryChangesAndExport(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML)
	next := strings.NewReplacer("      - id: cy\n        name: Cy Walsh\n        email: cy.walsh@example.com\n        time_zone: Europe/Dublin\n", "",
		"name: Bea Ortiz\n", "name: Bea Ortiz\n        weight: 2\n        cap: 5\n        working_hours: {mon: [\"09:00-17:00\"]}\n        away: [{from: 2030-01-01T00:00:00Z, until: 2030-01-10T00:00:00Z, reason: ski}]\n").Replace(emeaYAML) +
		"territories:\n  rules:\n    - {name: uk, team: emea, country: [GB, IE]}\n"
	before := dirState(t, s)
	res, changes, err := s.ImportDirectoryChanges(ctx, parseDir(t, next), true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%s %s %s %v", c.Kind, c.ID, c.What, c.Fields))
	}
	want := []string{"team emea unchanged []", "person max-manager unchanged []", "person ana unchanged []",
		"person bea changed [weight cap working_hours away]", "person sam-leader unchanged []", "person mia-leader unchanged []",
		"person cy deactivated [not in the file]", "territories 1 rules changed []"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Deactivated != 1 || res.Updated != 2 || res.Unchanged != 5 {
		t.Errorf("result = %v", res)
	}
	if dirState(t, s) != before || queryInt(t, s, `select count(*) from territory_rules`) != 0 {
		t.Fatal("the dry run wrote")
	}
	if _, err := s.ImportDirectory(ctx, parseDir(t, next), false); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Assign(ctx, "lead-x", 1, "emea", []string{"ana", "bea"}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("cy (removed) still gets leads: %+v, %v", a, err)
	}
	d, err := s.ExportDirectory(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, changes, err = s.ImportDirectoryChanges(ctx, d, true)
	if err != nil || res.Created+res.Updated != 0 {
		t.Fatalf("importing the export: %v %+v %v", res, changes, err)
	}
}

// Region, industry and company size come in on the snapshot, are stored, and
// territory rules route on them.
func TestRoutingOnOptionalLeadFields(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML+`  - id: tech
    manager: {id: tina, name: Tina, email: tina@example.com}
    reps:
      - {id: theo, name: Theo, email: theo@example.com}
territories:
  rules:
    - {name: big-software, team: tech, industry: [Software], company_size: ["1000+"], region: [BY, BW]}
`)
	l := snapshot(1, domain.StateMQL)
	l.Region, l.Industry, l.CompanySize = "BY", "software", "250"
	record(t, s, l, event(l, "mql", "mql", t0))
	if a, err := s.Assign(ctx, l.ID, 1, "emea", nil); err != nil || a.TeamID != "emea" {
		t.Fatalf("250 employees: %+v, %v; want the campaign's team", a, err)
	}
	l = snapshot(2, domain.StateMQL)
	l.Region, l.Industry, l.CompanySize = "BY", "software", "5000"
	record(t, s, l, event(l, "touch:2", "touch", t0))
	if got := queryString(t, s, `select region || '/' || industry || '/' || company_size from leads where id = $1`, l.ID); got != "BY/software/5000" {
		t.Fatalf("stored fields = %q", got)
	}
	if a, err := s.Assign(ctx, l.ID, 2, "emea", nil); err != nil || a.TeamID != "tech" || a.Rep.ID != "theo" {
		t.Fatalf("5000 employees: %+v, %v; want theo of tech", a, err)
	}
	// Erasure purges them with the rest; the erased snapshot does not bring them back.
	if err := s.Erase(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	l = snapshot(3, domain.StateErased)
	l.Region, l.Industry, l.CompanySize = "BY", "software", "5000"
	record(t, s, l, event(l, "erased", "erased", t0))
	if got := queryString(t, s, `select region || industry || company_size from leads where id = $1`, l.ID); got != "" {
		t.Fatalf("after erasure: %q", got)
	}
}

// A file with some teams only leaves the other teams' reps alone.
func TestImportDirectoryPartialFileKeepsOtherTeams(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, weighted())
	onlyDach := `
sales_leader: {id: sam-leader, name: Sam Okafor, email: sam.okafor@example.com}
teams:
  - id: dach
    manager: {id: dach-mgr, name: Dora Manager, email: dora@example.com}
    reps:
      - {id: dagmar, name: Dagmar, email: dagmar@example.com}
`
	res, changes, err := s.ImportDirectoryChanges(ctx, parseDir(t, onlyDach), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deactivated != 1 || queryInt(t, s, `select count(*) from people where role = 'rep' and active`) != 4 {
		t.Fatalf("result %v, changes %+v: want only dieter (dach, left out) deactivated", res, changes)
	}
	if active := queryString(t, s, `select string_agg(id, ',' order by id) from people where role = 'rep' and not active`); active != "dieter" {
		t.Fatalf("inactive = %s", active)
	}
}

// Working hours stored with the rep are applied at assignment: a rep whose
// only working day is not today (in their zone) is off shift now.
func TestRoutingSkipsRepsOffShift(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	now := time.Now().In(time.UTC)
	otherDay := days[(int(now.Weekday())+3)%7] // neither yesterday, today nor tomorrow in any zone
	y := strings.Replace(emeaYAML, "        time_zone: Europe/Dublin\n",
		"        time_zone: UTC\n        working_hours: {"+otherDay+": [\"00:00-24:00\"]}\n", 1)
	importDir(t, s, y)
	var got []string
	for i := range 4 {
		a, err := s.Assign(ctx, fmt.Sprintf("shift-%d", i), 1, "emea", nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.Rep.ID)
	}
	if strings.Join(got, ",") != "ana,bea,ana,bea" {
		t.Fatalf("got %v; cy is off shift", got)
	}
	e, err := s.ExplainRoute(ctx, "", domain.LeadFields{Country: "FR"}, now)
	if err == nil {
		t.Fatalf("explain without rules or campaign should name what is missing: %+v", e.Match)
	}
	var why string
	if err := s.Pool.QueryRow(ctx, `select concat_ws(' ', why->'skipped'->0->>'id', why->'skipped'->0->>'reason', why->>'rule')
		from assignments where lead_id = 'shift-0'`).Scan(&why); err != nil || why != "cy off shift campaign team" {
		t.Fatalf("recorded why = %s, %v", why, err)
	}
}

// Routing keeps why it passed each rep over (off shift, at cap), once per
// lead, attempt and rep, also when nobody could take the lead (waited), and
// without keeping anything else of that refused assignment.
func TestRoutingRecordsSkipCauses(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, weighted(1, 1, 1))
	for i := range 3 {
		if _, err := assignTeam(t, s, fmt.Sprintf("cap-%d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	// Everyone is at cap now: the fourth lead waits, twice (a retry).
	for range 2 {
		if _, err := assignTeam(t, s, "cap-3", 1); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("assign with every rep at cap: %v", err)
		}
	}
	var n, waited, held int
	if err := s.Pool.QueryRow(ctx, `select count(*), count(*) filter (where waited) from routing_skips where lead_id = 'cap-3' and reason = 'at cap'`).
		Scan(&n, &waited); err != nil || n != 3 || waited != 3 {
		t.Fatalf("skips of the waiting lead: %d (%d waited), %v; want 3 and 3", n, waited, err)
	}
	if err := s.Pool.QueryRow(ctx, `select count(*) from assignments where lead_id = 'cap-3'`).Scan(&held); err != nil || held != 0 {
		t.Fatalf("the refused assignment left %d rows", held)
	}
	// The third lead was assigned with two reps at cap before it.
	if err := s.Pool.QueryRow(ctx, `select count(*) from routing_skips where lead_id = 'cap-2' and not waited`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("skips of cap-2: %d, %v; want 2", n, err)
	}
}
