package chaos_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/chaos"
	"github.com/batonhq/baton/internal/testenv"
)

// TestChaosShort is the fault suite's short version, on `make run`'s
// topology (the dev server on its SQLite file, one worker, one gateway) with
// a private PostgreSQL: a few leads of every script while each kind of fault
// happens twice (kill -9 of the worker, of the gateway, of the dev server;
// PostgreSQL stopped in immediate mode), then the oracle. `make chaos` is the
// full run.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute and a half of faults")
	}
	if _, err := testenv.TemporalCLI(); err != nil {
		t.Skip(err)
	}
	root, _ := filepath.Abs("../..")
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./worker", "./gateway", "./starter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Not t.TempDir: its parent is 0700, and PostgreSQL runs as postgres.
	dir, err := os.MkdirTemp("", "baton-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) //nolint:errcheck
	t.Cleanup(func() { os.RemoveAll(dir) })
	logf, _ := os.Create(filepath.Join(dir, "stack.log"))
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := chaos.Run(ctx, chaos.Options{
		Topology: "dev", Leads: 16, Faults: 8, FaultPeriod: 32 * time.Second, AcceptWindow: 8 * time.Second,
		Seed: 13, Root: root, Dir: dir, Bin: bin, Log: logf, Progress: &progress,
	})
	logf.Close()
	t.Log(progress.String())
	if err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("%v\nstack output (tail):\n%s", err, tail(string(b)))
	}
	t.Log(rep.String())
	if !rep.OK() {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("the oracle found faults\nstack output (tail):\n%s", tail(string(b)))
	}
	for _, k := range []string{"worker", "gateway", "temporal", "postgres"} {
		if rep.Faults[k] < 2 {
			t.Errorf("%s faults: %d; want 2", k, rep.Faults[k])
		}
	}
	// Every lead gets its 2xx in the end: a retry takes over the
	// Idempotency-Key of a request whose gateway was killed (before the fix,
	// such a lead was answered 409 for a day).
	if rep.Acked != rep.Leads {
		t.Errorf("%d of %d leads got a 2xx", rep.Acked, rep.Leads)
	}
}

func tail(s string) string {
	if len(s) > 6000 {
		return s[len(s)-6000:]
	}
	return s
}
