package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

func assign(t *testing.T, s *store.Store, lead string, attempt int, exclude ...string) domain.Assignment {
	t.Helper()
	a, err := s.Assign(testCtx(t), lead, attempt, "emea", exclude)
	if err != nil {
		t.Fatalf("Assign(%s, %d, exclude %v): %v", lead, attempt, exclude, err)
	}
	return a
}

func lastRep(t *testing.T, s *store.Store) string {
	t.Helper()
	return queryString(t, s, `select last_rep_id from team_rotation where team_id = 'emea'`)
}

func TestAssign(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, emeaYAML) // reps listed cy, ana, bea: the rotation sorts them

	a := assign(t, s, "lead-1", 1)
	want := domain.Assignment{LeadID: "lead-1", Attempt: 1, TeamID: "emea",
		Rep:     domain.PersonRef{ID: "ana", Name: "Ana Schmidt", Email: "ana.schmidt@example.com", TimeZone: "Europe/Berlin"},
		Manager: domain.PersonRef{ID: "max-manager", Name: "Max Becker", Email: "max.becker@example.com", TimeZone: "Europe/Berlin"}}
	if a != want {
		t.Errorf("Assign = %+v\nwant %+v", a, want)
	}
	if got := assign(t, s, "lead-2", 1).Rep.ID; got != "bea" {
		t.Errorf("lead-2 went to %s, want bea", got)
	}

	// A retry returns the recorded rep and leaves the rotation alone, even
	// when it now excludes that rep.
	for _, ex := range [][]string{nil, {"bea"}, {"ana", "bea", "cy"}} {
		if got := assign(t, s, "lead-2", 1, ex...).Rep.ID; got != "bea" {
			t.Errorf("retry of lead-2 (exclude %v) gave %s, want bea", ex, got)
		}
		if got := lastRep(t, s); got != "bea" {
			t.Errorf("a retry moved the rotation to %s", got)
		}
	}
	if got := assign(t, s, "lead-3", 1).Rep.ID; got != "cy" {
		t.Errorf("lead-3 went to %s, want cy", got)
	}
	if got := assign(t, s, "lead-4", 1).Rep.ID; got != "ana" {
		t.Errorf("lead-4 went to %s, want ana (wraparound)", got)
	}
	if got := assign(t, s, "lead-1", 1).Rep.ID; got != "ana" {
		t.Errorf("retry of lead-1 gave %s, want ana", got)
	}

	// Exclude: lead-4 is reassigned; ana had it and bea is next anyway.
	if got := assign(t, s, "lead-4", 2, "ana").Rep.ID; got != "bea" {
		t.Errorf("lead-4 attempt 2 went to %s, want bea", got)
	}
	// cy is next but excluded, so it wraps to ana.
	if got := assign(t, s, "lead-5", 1, "cy").Rep.ID; got != "ana" {
		t.Errorf("lead-5 (exclude cy) went to %s, want ana", got)
	}
	if got := assign(t, s, "lead-4", 3, "ana", "bea").Rep.ID; got != "cy" {
		t.Errorf("lead-4 attempt 3 went to %s, want cy", got)
	}
	if n := queryInt(t, s, `select count(*) from assignments`); n != 7 {
		t.Errorf("assignments = %d, want 7", n)
	}

	// Nobody left: ErrNotFound, nothing written, rotation untouched.
	before := lastRep(t, s)
	_, err := s.Assign(testCtx(t), "lead-4", 4, "emea", []string{"ana", "bea", "cy"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("all excluded: err = %v, want ErrNotFound", err)
	}
	if n := queryInt(t, s, `select count(*) from assignments where lead_id = 'lead-4' and attempt = 4`); n != 0 {
		t.Error("a failed assignment was recorded")
	}
	if got := lastRep(t, s); got != before {
		t.Errorf("a failed assignment moved the rotation from %s to %s", before, got)
	}
	if _, err := s.Assign(testCtx(t), "lead-9", 1, "no-such-team", nil); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown team: err = %v, want ErrNotFound", err)
	}
}

func TestAssignSkipsInactiveReps(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, emeaYAML)
	inactive := strings.Replace(emeaYAML, "        time_zone: Europe/Madrid\n", "        time_zone: Europe/Madrid\n        active: false\n", 1)
	if res := importDir(t, s, inactive); res.Updated != 1 {
		t.Fatalf("deactivating bea: %v", res)
	}
	var got []string
	for i := 1; i <= 4; i++ {
		got = append(got, assign(t, s, fmt.Sprintf("lead-%d", i), 1).Rep.ID)
	}
	if strings.Join(got, ",") != "ana,cy,ana,cy" {
		t.Errorf("rotation without bea = %v, want ana,cy,ana,cy", got)
	}
	// Only inactive or excluded reps left: no eligible rep.
	_, err := s.Assign(testCtx(t), "lead-5", 1, "emea", []string{"ana", "cy"})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	// Reactivated, bea is back in turn: after cy comes ana, then bea.
	importDir(t, s, emeaYAML)
	if got := assign(t, s, "lead-6", 1, "ana").Rep.ID; got != "bea" {
		t.Errorf("reactivated bea not picked: got %s", got)
	}
}

// Many workers assign at once: the rotation stays exactly fair and every
// (lead, attempt) gets exactly one row, even when the same assignment is
// retried concurrently (an activity retried while its first run is still in
// flight).
func TestAssignConcurrent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, emeaYAML)

	const leads, workers, copies = 300, 20, 2
	jobs := make(chan string, leads*copies)
	for i := 0; i < leads; i++ {
		for c := 0; c < copies; c++ {
			jobs <- fmt.Sprintf("lead-%03d", i)
		}
	}
	close(jobs)

	var mu sync.Mutex
	got := map[string]string{} // lead -> rep
	var errs []error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lead := range jobs {
				a, err := s.Assign(testCtx(t), lead, 1, "emea", nil)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", lead, err))
				} else if prev, ok := got[lead]; ok && prev != a.Rep.ID {
					errs = append(errs, fmt.Errorf("%s: assigned to %s and to %s", lead, prev, a.Rep.ID))
				} else {
					got[lead] = a.Rep.ID
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 5 {
			t.Errorf("... and %d more", len(errs)-5)
			break
		}
		t.Error(err)
	}

	counts := map[string]int{}
	for _, rep := range got {
		counts[rep]++
	}
	fair := leads / 3
	for _, rep := range []string{"ana", "bea", "cy"} {
		if c := counts[rep]; c < fair-1 || c > fair+1 {
			t.Errorf("%s got %d leads, want %d±1 (counts %v)", rep, c, fair, counts)
		}
	}
	// The rotation is serialized, so it is in fact exact.
	if counts["ana"] != fair || counts["bea"] != fair || counts["cy"] != fair {
		t.Errorf("counts = %v, want %d each", counts, fair)
	}
	if n := queryInt(t, s, `select count(*) from assignments`); n != leads {
		t.Errorf("assignment rows = %d, want %d", n, leads)
	}
	if n := queryInt(t, s, `select count(*) from (select 1 from assignments group by lead_id, attempt having count(*) > 1) d`); n != 0 {
		t.Errorf("%d (lead, attempt) pairs have more than one row", n)
	}
	dbCounts := queryString(t, s, `select string_agg(rep_id || '=' || n, ',' order by rep_id) from (select rep_id, count(*) n from assignments group by rep_id) c`)
	if want := fmt.Sprintf("ana=%d,bea=%d,cy=%d", fair, fair, fair); dbCounts != want {
		t.Errorf("assignments by rep = %s, want %s", dbCounts, want)
	}
}

func TestAssignToIsIdempotentAndLeavesTheRotation(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML)
	a, err := s.AssignTo(ctx, "ld_manual", 2, "emea", "cy")
	if err != nil || a.Rep.ID != "cy" || a.Manager.ID == "" {
		t.Fatalf("AssignTo: %+v, %v", a, err)
	}
	if again, err := s.AssignTo(ctx, "ld_manual", 2, "emea", "bea"); err != nil || again.Rep.ID != "cy" {
		t.Fatalf("retry with another rep: %+v, %v (the first choice must stand)", again, err)
	}
	if last := queryString(t, s, `select last_rep_id from team_rotation where team_id = 'emea'`); last != "" {
		t.Fatalf("rotation moved to %q", last)
	}
	if m, err := s.AssignTo(ctx, "ld_manual", 3, "emea", "max-manager"); err != nil || m.Rep.ID != "max-manager" {
		t.Fatalf("the team's manager (nobody_eligible: manager): %+v, %v", m, err)
	}
	if _, err := s.AssignTo(ctx, "ld_manual", 4, "emea", "sam-leader"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the sales leader as rep: %v", err)
	}
}

func TestAssignSkipsRepsOutOfOffice(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML)
	now := time.Now()
	if err := s.SetAway(ctx, "ana", now.Add(-time.Hour), now.Add(time.Hour), "vacation"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAway(ctx, "bea", now.Add(time.Hour), now.Add(2*time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"bea", "cy", "bea"} {
		a, err := s.Assign(ctx, fmt.Sprintf("ld_away%d", i), 1, "emea", nil)
		if err != nil || a.Rep.ID != want {
			t.Fatalf("assignment %d: %+v, %v; want %s (ana is away now)", i, a.Rep, err, want)
		}
	}
	if err := s.SetAway(ctx, "nobody", now, now.Add(time.Hour), ""); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown person: %v", err)
	}
}
