package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RoutingBench is the routing figure: assignments per second through
// store.Assign (one transaction each: territory rules, the team's rotation
// row locked, reps' load and away periods read, the choice written with its
// explanation, credits moved), next to the database's own rate of durable
// single-row INSERTs into a one-column table, with the same callers, in the
// same run.
type RoutingBench struct {
	PerCaller int                `json:"per_caller"`
	Rows      []RoutingBenchRow  `json:"rows"`
	Team      string             `json:"team"` // what the leads were routed to
	Shares    map[string]float64 `json:"shares"`
}

// RoutingBenchRow is one caller count.
type RoutingBenchRow struct {
	Callers      int     `json:"callers"`
	AssignPerSec float64 `json:"assign_per_sec"`
	InsertPerSec float64 `json:"insert_per_sec"`
	// Ratio is assignments per insert: the share of the database's bare
	// commit rate routing keeps.
	Ratio float64 `json:"ratio"`
}

const benchRoutingDir = `
sales_leader: {id: bench-leader, name: Bench Leader, email: leader@bench.example}
teams:
  - id: bench
    manager: {id: bench-mgr, name: Bench Manager, email: mgr@bench.example}
    reps:
      - {id: r1, name: Rep One, email: r1@bench.example, weight: 1}
      - {id: r2, name: Rep Two, email: r2@bench.example, weight: 2}
      - {id: r3, name: Rep Three, email: r3@bench.example, weight: 3}
territories:
  default_team: bench
  rules:
    - {name: dach, team: bench, country: [DE, AT, CH]}
`

// benchRouting creates a fresh database on the server of dbURL, measures, and
// drops it. Each caller count runs the INSERT figure, then the Assign figure.
func benchRouting(ctx context.Context, dbURL string, callers []int, perCaller int) (RoutingBench, error) {
	res := RoutingBench{PerCaller: perCaller, Team: "bench: weights 1, 2, 3; no caps", Shares: map[string]float64{}}
	u, err := url.Parse(dbURL)
	if err != nil {
		return res, fmt.Errorf("bench routing: database URL: %w", err)
	}
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return res, fmt.Errorf("bench routing: connect: %w", err)
	}
	defer admin.Close(context.Background())
	b := make([]byte, 4)
	rand.Read(b) //nolint:errcheck
	name := "baton_bench_routing_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		return res, fmt.Errorf("bench routing: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.Exec(dctx, "drop database if exists "+name+" with (force)") //nolint:errcheck
	}()
	u.Path = "/" + name
	if _, err := store.Migrate(ctx, u.String()); err != nil {
		return res, err
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return res, err
	}
	cfg.MaxConns = int32(slices.Max(callers) + 2)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer pool.Close()
	st := &store.Store{Pool: pool}
	d, err := domain.ParseDirectory([]byte(benchRoutingDir))
	if err != nil {
		return res, err
	}
	if _, err := st.ImportDirectory(ctx, d, false); err != nil {
		return res, err
	}
	if _, err := pool.Exec(ctx, `create table bench_insert (v bigint)`); err != nil {
		return res, err
	}
	// Warm every connection up so neither figure pays for dialing.
	if err := fanOut(slices.Max(callers), 1, func(int, int) error { _, err := pool.Exec(ctx, `select 1`); return err }); err != nil {
		return res, err
	}
	for _, c := range callers {
		t0 := time.Now()
		err := fanOut(c, perCaller, func(g, i int) error {
			_, err := pool.Exec(ctx, `insert into bench_insert (v) values ($1)`, g*perCaller+i)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("bench routing: insert: %w", err)
		}
		ins := float64(c*perCaller) / time.Since(t0).Seconds()
		t0 = time.Now()
		err = fanOut(c, perCaller, func(g, i int) error {
			_, err := st.Assign(ctx, fmt.Sprintf("bench-%d-%d-%d", c, g, i), 1, "bench", nil)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("bench routing: assign: %w", err)
		}
		as := float64(c*perCaller) / time.Since(t0).Seconds()
		res.Rows = append(res.Rows, RoutingBenchRow{Callers: c, AssignPerSec: as, InsertPerSec: ins, Ratio: as / ins})
	}
	counts, err := st.OpenAssignments(ctx)
	if err != nil {
		return res, err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	for id, n := range counts {
		res.Shares[id] = float64(n) / float64(total)
	}
	return res, nil
}

// fanOut runs f(g, i) for i < n in each of g < callers goroutines.
func fanOut(callers, n int, f func(g, i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := f(g, i); err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// String is the figure as a Markdown table.
func (r RoutingBench) String() string {
	s := fmt.Sprintf("Routing: %d assignments per caller to %s\n\n", r.PerCaller, r.Team)
	s += "| callers | assignments/s | single-row INSERT/s | ratio |\n|---:|---:|---:|---:|\n"
	for _, row := range r.Rows {
		s += fmt.Sprintf("| %d | %.0f | %.0f | %.2f |\n", row.Callers, row.AssignPerSec, row.InsertPerSec, row.Ratio)
	}
	return s
}
