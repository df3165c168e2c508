package store_test

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/store"
	"github.com/jackc/pgx/v5"
)

// TestReleaseFinishedDoesNotReadEveryOpenAssignment: the statement every lead
// snapshot write runs must not scan the open assignments of all leads. With
// 20,000 open and no planner statistics (as between autovacuum's ANALYZEs,
// or with autovacuum off, as on the machine the 100,000-lead import ran on),
// PostgreSQL answered it with a BitmapAnd over assignments_open, 5 ms a write
// at 40,000 open and growing; migration 012's partial index on lead_id makes
// that plan pointless. EXPLAIN ANALYZE reads the rows each node touched.
func TestReleaseFinishedDoesNotReadEveryOpenAssignment(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	importDir(t, s, emeaYAML)
	const open = 20000
	if _, err := s.Pool.Exec(ctx, `insert into assignments (lead_id, attempt, rep_id, team_id)
		select 'ld_' || lpad(g::text, 16, '0'), 1, 'ana', 'emea' from generate_series(1, $1) g`, open); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	rows, _ := tx.Query(ctx, "explain (analyze, costs off, timing off) "+store.ReleaseFinishedSQL, "ld_0000000000000042", store.HeldStates)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "assignments_open ") || strings.Contains(text, "Seq Scan on assignments") || !strings.Contains(text, "assignments_open_lead") {
		t.Fatalf("releaseFinished's plan reads beyond the lead's own assignments:\n%s", text)
	}
}
