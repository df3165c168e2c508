package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/testenv"
)

// run executes the CLI in-process against the database in DATABASE_URL.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestSourceAndStageOnlyImportFromTheCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", testenv.Database(t))
	out, _, err := runCLI(t, "source", "add", "webform", "--rate", "5", "--burst", "10")
	if err != nil || !strings.Contains(out, "api key:     bk_") || !strings.Contains(out, "not shown again") {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	if _, errOut, err := runCLI(t, "source", "add", "webform", "--if-missing"); err != nil || !strings.Contains(errOut, "exists; nothing changed") {
		t.Fatalf("source add --if-missing: %v %s", err, errOut)
	}
	out, _, err = runCLI(t, "source", "list")
	if err != nil || !strings.Contains(out, "webform  5") || strings.Contains(out, "bk_") {
		t.Fatalf("source list (must not show keys): %v\n%s", err, out)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("campaign,email,fax\nwebinar-q3,a@b.example,123\n"), 0o644) //nolint:errcheck
	if _, _, err := runCLI(t, "lead", "import", "--stage-only", bad); err == nil || !strings.Contains(err.Error(), `bad.csv:1: unknown column(s) "fax"`) {
		t.Fatalf("unknown column: %v", err)
	}
	// No live campaign in this database: every row is reported with its line.
	good := filepath.Join(dir, "leads.csv")
	os.WriteFile(good, []byte("campaign,email\nwebinar-q3,a@b.example\nwebinar-q3,nope\n"), 0o644) //nolint:errcheck
	out, stderr, err := runCLI(t, "lead", "import", "--stage-only", good)
	if err != nil || !strings.Contains(out, "0 leads staged, 0 duplicates, 2 bad rows") || !strings.Contains(out, "leads.csv:3: email:") ||
		!strings.Contains(out, `leads.csv:2: campaign: campaign "webinar-q3" does not exist`) {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(stderr, "rows/s") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	if b, err := os.ReadFile(good + ".errors.csv"); err != nil || !strings.HasPrefix(string(b), "line,error\n2,") {
		t.Errorf("errors file: %v %s", err, b)
	}
	out, _, err = runCLI(t, "lead", "import", "--status")
	if err != nil || !strings.Contains(out, "leads.csv") {
		t.Fatalf("status: %v\n%s", err, out)
	}
}
