package e2e

// The security suite's "nothing changed" check: a snapshot of PostgreSQL
// (row count and a digest of the content of every table in the public
// schema) and of Temporal (every workflow execution with its status and
// history length), taken before and after a case, and a diff that names what
// changed. A case allow-lists only what it expects to change.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/workflows"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

type tableState struct {
	Rows   int64
	Digest string
}

type flowState struct {
	Status  string
	History int64
}

// dbSnapshot is what PostgreSQL and Temporal hold at one moment.
type dbSnapshot struct {
	Tables map[string]tableState // by table name
	Flows  map[string]flowState  // by "workflowID/runID"
}

// publicTables lists the base tables of the public schema.
func publicTables(t *testing.T, s *Stack) []string {
	t.Helper()
	rows, err := s.Store.Pool.Query(context.Background(), `select table_name from information_schema.tables
		where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// How many snapshots the suite took, and how long they took.
var (
	snapshotCount int
	snapshotTime  time.Duration
)

// takeSnapshot reads every table and every workflow execution.
func takeSnapshot(t *testing.T, s *Stack) dbSnapshot {
	t.Helper()
	began := time.Now()
	defer func() { snapshotCount++; snapshotTime += time.Since(began) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap := dbSnapshot{Tables: map[string]tableState{}, Flows: map[string]flowState{}}
	tables := publicTables(t, s)
	parts := make([]string, len(tables))
	for i, n := range tables {
		parts[i] = fmt.Sprintf(`select %s::text, count(*), coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from %q x`,
			quoteLiteral(n), n)
	}
	rows, err := s.Store.Pool.Query(ctx, strings.Join(parts, " union all "))
	if err != nil {
		t.Fatalf("snapshot tables: %v", err)
	}
	var leadIDs []string
	for rows.Next() {
		var n string
		var st tableState
		if err := rows.Scan(&n, &st.Rows, &st.Digest); err != nil {
			t.Fatal(err)
		}
		snap.Tables[n] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lr, err := s.Store.Pool.Query(ctx, `select id from leads`)
	if err != nil {
		t.Fatal(err)
	}
	for lr.Next() {
		var id string
		lr.Scan(&id) //nolint:errcheck
		leadIDs = append(leadIDs, id)
	}
	lr.Close()

	// Temporal: the visibility list, plus the lead workflows PostgreSQL
	// names (visibility may lag a moment behind a new execution).
	ids := map[string]bool{}
	var token []byte
	for {
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: token})
		if err != nil {
			t.Fatalf("snapshot workflows: %v", err)
		}
		for _, e := range resp.Executions {
			ids[e.Execution.WorkflowId] = true
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	for _, id := range leadIDs {
		ids[workflows.LeadWorkflowID(id)] = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var firstErr error
	for id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer func() { <-sem; wg.Done() }()
			d, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var nf *serviceerror.NotFound
				if !errors.As(err, &nf) && firstErr == nil {
					firstErr = err
				}
				return
			}
			info := d.WorkflowExecutionInfo
			snap.Flows[id+"/"+info.Execution.RunId] = flowState{Status: info.Status.String(), History: info.HistoryLength}
		}(id)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("snapshot workflows: %v", firstErr)
	}
	return snap
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// lastStable is the last snapshot stableSnapshot settled on: when nothing
// changed since, the next one needs no waiting.
var lastStable *dbSnapshot

// stableSnapshot waits until two snapshots a moment apart agree (the tail
// of asynchronous work has settled), at most a few seconds.
func stableSnapshot(t *testing.T, s *Stack) dbSnapshot {
	t.Helper()
	prev := takeSnapshot(t, s)
	if lastStable != nil && len(lastStable.diff(prev)) == 0 {
		return prev
	}
	deadline := time.Now().Add(6 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		cur := takeSnapshot(t, s)
		if len(prev.diff(cur)) == 0 || time.Now().After(deadline) {
			lastStable = &cur
			return cur
		}
		prev = cur
	}
}

// change is one difference between two snapshots: Key is "table:<name>" or
// "wf:<workflow id>", What says how.
type change struct{ Key, What string }

func (c change) String() string { return c.Key + ": " + c.What }

// diff names every table and workflow execution that differs from a to b.
func (a dbSnapshot) diff(b dbSnapshot) []change {
	var out []change
	names := map[string]bool{}
	for n := range a.Tables {
		names[n] = true
	}
	for n := range b.Tables {
		names[n] = true
	}
	for n := range names {
		x, y := a.Tables[n], b.Tables[n]
		switch {
		case x.Rows != y.Rows:
			out = append(out, change{"table:" + n, fmt.Sprintf("rows %d → %d", x.Rows, y.Rows)})
		case x.Digest != y.Digest:
			out = append(out, change{"table:" + n, fmt.Sprintf("content changed (%d rows)", y.Rows)})
		}
	}
	keys := map[string]bool{}
	for k := range a.Flows {
		keys[k] = true
	}
	for k := range b.Flows {
		keys[k] = true
	}
	for k := range keys {
		id := k[:strings.LastIndex(k, "/")]
		x, inA := a.Flows[k]
		y, inB := b.Flows[k]
		switch {
		case !inA:
			out = append(out, change{"wf:" + id, fmt.Sprintf("new execution (%s, %d events)", y.Status, y.History)})
		case !inB:
			// A run no longer the latest: its successor shows as new.
		case x != y:
			out = append(out, change{"wf:" + id, fmt.Sprintf("%s/%d events → %s/%d events", x.Status, x.History, y.Status, y.History)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key+out[i].What < out[j].Key+out[j].What })
	return out
}

// unexpected returns the changes no pattern allows (path.Match patterns
// over the change key, such as "table:sessions" or "wf:lead-*").
func unexpected(changes []change, allowed []string) []change {
	var out []change
	for _, c := range changes {
		ok := false
		for _, p := range allowed {
			if m, _ := path.Match(p, c.Key); m {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, c)
		}
	}
	return out
}

// guard runs a case between two snapshots and fails it for any change
// outside allowed. It returns the changes so a case can also require some.
func guard(t *testing.T, s *Stack, allowed []string, f func()) []change {
	t.Helper()
	before := stableSnapshot(t, s)
	lastStable = &before
	f()
	// Whatever the case set off has a moment to land; then the record must
	// hold still (two snapshots agree) before it is compared.
	time.Sleep(50 * time.Millisecond)
	lastStable = nil
	after := stableSnapshot(t, s)
	changes := before.diff(after)
	for _, c := range unexpected(changes, allowed) {
		t.Errorf("unexpected change in the record: %s", c)
	}
	return changes
}
