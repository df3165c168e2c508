package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/activities"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// Staging needs only PostgreSQL: these tests run on a real database and no
// Temporal (the drain is tested on the real stack in internal/e2e).

func stagingService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	root, _ := testenv.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "examples", "team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := domain.ParseDirectory(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	camp := domain.Campaign{ID: "webinar-q3", Name: "Webinar Q3", Owner: domain.Person{Name: "Mo", Email: "mo@example.com"}, Team: "emea"}
	if err := st.UpsertCampaign(ctx, camp, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	return &Service{Store: st}
}

func count(t *testing.T, s *Service, sql string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeCSV writes a header and n generated rows; bad(i) may replace row i.
func writeCSV(t *testing.T, path string, n int, row func(i int) string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("campaign,email,name,company,country,score,source\n")
	for i := 0; i < n; i++ {
		b.WriteString(row(i))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func goodRow(i int) string {
	return fmt.Sprintf("webinar-q3,user%d@example.com,User %d,Acme %d,DE,%d,csv", i, i, i%97, i%100)
}

func TestStage100000RowsTwiceWithoutDuplicates(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leads.csv")
	const n = 100_000
	var wantBad []int
	writeCSV(t, path, n, func(i int) string {
		switch {
		case i%10_000 == 5000: // a bad address
			wantBad = append(wantBad, i+2) // line: the header is line 1
			return fmt.Sprintf("webinar-q3,not-an-address-%d,X,,,,", i)
		case i%1000 == 999: // the same person as the row before, in another case
			return strings.Replace(goodRow(i-1), "user", "USER", 1)
		}
		return goodRow(i)
	})
	var progress bytes.Buffer
	rep, err := s.Stage(ctx, path, StageOptions{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("staged %d rows in %s: %.0f rows/s", rep.Rows, rep.Elapsed, rep.RowsPerSecond())
	dups := n / 1000
	if rep.Rows != n || len(rep.Bad) != len(wantBad) || rep.New != n-dups-len(wantBad) || rep.Duplicates != dups {
		t.Fatalf("report: rows %d, new %d, duplicates %d, bad %d; want %d, %d, %d, %d", rep.Rows, rep.New, rep.Duplicates, len(rep.Bad),
			n, n-dups-len(wantBad), dups, len(wantBad))
	}
	for i, b := range rep.Bad {
		if b.Line != wantBad[i] || !strings.Contains(b.Error, "email:") {
			t.Errorf("bad row %d: %+v, want line %d with an email error", i, b, wantBad[i])
		}
	}
	if !strings.Contains(progress.String(), "rows/s") {
		t.Errorf("no throughput in the progress bar: %q", progress.String()[:min(200, progress.Len())])
	}
	staged := count(t, s, "select count(*) from lead_import_rows")
	if staged != rep.New || count(t, s, "select count(distinct lead_id) from lead_import_rows") != staged {
		t.Fatalf("%d staged rows for %d new", staged, rep.New)
	}

	// The same file again: recognised by its hash, nothing read or staged.
	again, err := s.Stage(ctx, path, StageOptions{})
	if err != nil || !again.AlreadyStaged || count(t, s, "select count(*) from lead_import_rows") != staged {
		t.Fatalf("second run: %+v, %v", again, err)
	}
	// A changed file (one more row): a new import whose old rows are duplicates.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, goodRow(n))
	f.Close()
	third, err := s.Stage(ctx, path, StageOptions{})
	if err != nil || third.New != 1 || third.Duplicates != n-len(wantBad) {
		t.Fatalf("changed file: new %d, duplicates %d, %v", third.New, third.Duplicates, err)
	}
	if got := count(t, s, "select count(*) from lead_import_rows"); got != staged+1 {
		t.Fatalf("%d staged rows after the changed file, want %d", got, staged+1)
	}
}

func TestStageResumesAfterAnInterruption(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leads.csv")
	writeCSV(t, path, 10_000, goodRow)
	rep, err := s.Stage(ctx, path, StageOptions{ChunkRows: 1000, StopAfterLine: 4500})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("want an interruption, got %v", err)
	}
	im, err := s.Store.ImportByHash(ctx, rep.Import.FileSHA256)
	if err != nil || im.LastLine != 5001 || im.Staged != 5000 || im.StagedDone {
		t.Fatalf("checkpoint %+v (%v), want line 5001 and 5000 rows staged", im, err)
	}
	rep, err = s.Stage(ctx, path, StageOptions{ChunkRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ResumedAfter != 5001 || rep.Rows != 5000 || rep.New != 5000 || rep.Duplicates != 0 || !rep.Import.StagedDone {
		t.Fatalf("resumed run: %+v", rep)
	}
	if got := count(t, s, "select count(*) from lead_import_rows"); got != 10_000 {
		t.Fatalf("%d rows staged, want 10000", got)
	}
}

func TestStageReportsBadRowsWithLineNumbers(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "leads.csv")
	data := "Email,Campaign,Name,Score\n" + // header in any order and case
		"a@x.example,webinar-q3,A,10\n" + // 2 ok
		"not-an-address,webinar-q3,B,10\n" + // 3
		"c@x.example,no-such-campaign,C,5\n" + // 4
		"d@x.example,webinar-q3,\"two\nline name\",7\n" + // 5-6: a name takes no newline (issue 15)
		"e@x.example,webinar-q3,E,lots\n" + // 7
		"f@x.example,webinar-q3\n" + // 8
		"g@x.example,webinar-q3,G,\n" // 9 ok
	os.WriteFile(path, []byte(data), 0o644) //nolint:errcheck
	rep, err := s.Stage(ctx, path, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "email:", 4: `campaign: campaign "no-such-campaign" does not exist`, 5: "name: holds the control character U+000A",
		7: `score: "lots" is not a whole number`, 8: "has 2 fields, the header has 4"}
	if rep.New != 2 || len(rep.Bad) != len(want) {
		t.Fatalf("new %d, bad %+v", rep.New, rep.Bad)
	}
	for _, b := range rep.Bad {
		if !strings.Contains(b.Error, want[b.Line]) || want[b.Line] == "" {
			t.Errorf("line %d: %q, want %q", b.Line, b.Error, want[b.Line])
		}
	}
	errs, _ := s.Store.ImportErrors(ctx, rep.Import.ID)
	if err := WriteErrors(filepath.Join(dir, "errors.csv"), errs); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "errors.csv"))
	if !strings.HasPrefix(string(out), "line,error\n3,") || strings.Count(string(out), "\n") != 6 {
		t.Errorf("errors file:\n%s", out)
	}

	// Unknown columns are named and nothing is staged.
	odd := filepath.Join(dir, "odd.csv")
	os.WriteFile(odd, []byte("campaign,email,colour,size\nwebinar-q3,h@x.example,red,L\n"), 0o644) //nolint:errcheck
	_, err = s.Stage(ctx, odd, StageOptions{})
	if err == nil || !strings.Contains(err.Error(), `odd.csv:1: unknown column(s) "colour", "size"`) {
		t.Fatalf("unknown columns: %v", err)
	}
	if count(t, s, "select count(*) from lead_imports") != 1 {
		t.Error("the file with unknown columns was recorded as an import")
	}
}

func TestStageRefusesASecondConcurrentRun(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leads.csv")
	writeCSV(t, path, 10, goodRow)
	sha, _, err := fileHash(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Store.BeginImport(ctx, sha, "leads.csv")
	if err != nil {
		t.Fatal(err)
	}
	ok, unlock, err := s.Store.LockImport(ctx, im.ID) // another run, mid-way
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, err := s.Stage(ctx, path, StageOptions{}); err == nil || !strings.Contains(err.Error(), "another run is staging this file") {
		t.Fatalf("concurrent run: %v", err)
	}
	if n := count(t, s, "select count(*) from lead_import_rows"); n != 0 {
		t.Fatalf("%d rows staged by the refused run", n)
	}
	unlock()
	rep, err := s.Stage(ctx, path, StageOptions{})
	if err != nil || rep.New != 10 {
		t.Fatalf("after the other run: %+v %v", rep, err)
	}
}

// A campaign that ends between staging and draining, and refuses late leads
// (the default nurtures them): its rows are failed
// with the reason, never retried, and listed.
func TestDrainFailsRowsOfAnEndedCampaign(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leads.csv")
	writeCSV(t, path, 5, goodRow)
	rep, err := s.Stage(ctx, path, StageOptions{})
	if err != nil || rep.New != 5 {
		t.Fatalf("stage: %+v %v", rep, err)
	}
	if _, err := s.Store.Pool.Exec(ctx, `update campaigns set status = 'ended', spec = spec || '{"LateLeads": "refuse"}' where id = 'webinar-q3'`); err != nil {
		t.Fatal(err)
	}
	// Submit refuses before it would reach Temporal (the service has no client).
	out, err := s.DrainBatch(ctx, activities.DrainBatchInput{ImportID: rep.Import.ID, Rows: 3, Parallel: 2})
	if err != nil || out != (activities.DrainBatchResult{Failed: 3, Remaining: 2}) {
		t.Fatalf("first batch: %+v %v", out, err)
	}
	out, err = s.DrainBatch(ctx, activities.DrainBatchInput{ImportID: rep.Import.ID, Rows: 3, Parallel: 2})
	if err != nil || out != (activities.DrainBatchResult{Failed: 2, Remaining: 0}) {
		t.Fatalf("second batch: %+v %v", out, err)
	}
	failed, err := s.Store.FailedRows(ctx, rep.Import.ID, 10)
	if err != nil || len(failed) != 5 || failed[0].Line != 2 || !strings.Contains(failed[0].Error, `user0@example.com: invalid input: campaign: campaign "webinar-q3" ended and refuses late leads`) {
		t.Fatalf("failed rows: %+v %v", failed, err)
	}
}

// A phone column is optional; a malformed phone is a bad row naming it, a
// good one is staged normalized and reaches the lead when drained.
func TestStagePhones(t *testing.T) {
	s := stagingService(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "phones.csv")
	data := "campaign,email,phone\n" +
		"webinar-q3,p1@x.example,+49 (30) 123-456\n" + // 2 ok
		"webinar-q3,p2@x.example,call me maybe\n" + // 3
		"webinar-q3,p3@x.example,\n" // 4 ok, no phone
	os.WriteFile(path, []byte(data), 0o644) //nolint:errcheck
	rep, err := s.Stage(ctx, path, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 2 || len(rep.Bad) != 1 || rep.Bad[0].Line != 3 || !strings.Contains(rep.Bad[0].Error, "phone: ") {
		t.Fatalf("new %d, bad %+v", rep.New, rep.Bad)
	}
	rows, err := s.Store.PendingRows(ctx, rep.Import.ID, 10)
	if err != nil || len(rows) != 2 || rows[0].Phone != "+4930123456" || rows[1].Phone != "" {
		t.Fatalf("staged rows: %+v %v", rows, err)
	}
}
