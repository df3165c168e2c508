package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// run executes starter with args against the test database.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(args)
	root.SetContext(context.Background())
	err := root.Execute()
	return out.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update if the change is intended)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// The explain output for fixed rotation state, lead fields and instants.
func TestRouteExplainGolden(t *testing.T) {
	url := testenv.Database(t)
	t.Setenv("DATABASE_URL", url)
	if out, err := run(t, "directory", "import", "testdata/route-team.yaml"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := domain.ParseCampaign([]byte("id: webinar-q3\nname: Webinar Q3\nowner: {name: Mo, email: mo@example.com}\nteam: emea\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertCampaign(ctx, c, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	lea := domain.LeadSnapshot{ID: domain.LeadID("lea@example.com"), WorkflowID: "w", Email: "lea@example.com", Country: "FR",
		CampaignID: "webinar-q3", State: domain.StateOffered, Attempt: 2, Version: 1}
	if err := st.Record(ctx, lea, domain.Event{Key: "k", Kind: "offered", Actor: "system", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Rotation state as after some leads: credits, two leads held by ana
	// (one is lea's second attempt), lea's first attempt by eve, released.
	for _, q := range []string{
		`insert into rep_rotation (rep_id, credit) values ('ana', -2), ('cy', 3), ('eve', 1)`,
		`insert into assignments (lead_id, attempt, rep_id, team_id, why, released_at, assigned_at) values
			('` + lea.ID + `', 1, 'eve', 'emea', '{"rule": "default team", "team": "emea", "eligible": ["eve", "ana"], "skipped": [{"id": "bea", "reason": "away"}], "at": "2026-11-20T10:00:00Z"}', now(), '2026-11-20T10:00:00Z')`,
		`insert into assignments (lead_id, attempt, rep_id, team_id, why, assigned_at) values
			('` + lea.ID + `', 2, 'ana', 'emea', '{"rule": "default team", "team": "emea", "eligible": ["ana"], "skipped": [{"ID": "eve", "Reason": "already had this lead"}], "at": "2026-11-20T11:00:00Z"}', '2026-11-20T11:00:00Z'),
			('other', 1, 'ana', 'emea', null, '2026-11-20T12:00:00Z')`,
	} {
		if _, err := st.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		args []string
	}{
		{"route-explain-fields-on-shift", []string{"--country", "FR", "--campaign", "webinar-q3", "--at", "2026-11-23T10:00:00Z"}},
		{"route-explain-fields-off-shift", []string{"--country", "FR", "--at", "2026-11-23T20:00:00Z"}},
		{"route-explain-territory-rule", []string{"--country", "de", "--at", "2026-11-23T10:00:00Z"}},
		{"route-explain-company-size", []string{"--country", "US", "--company-size", "5000", "--campaign", "webinar-q3", "--at", "2026-12-01T10:00:00Z"}},
		{"route-explain-lead", []string{"--lead", "Lea@Example.com", "--at", "2026-11-24T10:00:00Z"}},
		{"route-explain-lead-json", []string{"--lead", "lea@example.com", "--at", "2026-11-24T10:00:00Z", "--json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, append([]string{"route", "explain"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			golden(t, tc.name, out)
		})
	}
	// By id too, and the same answer.
	byEmail, _ := run(t, "route", "explain", "--lead", "lea@example.com", "--at", "2026-11-24T10:00:00Z")
	byID, err := run(t, "route", "explain", "--lead", lea.ID, "--at", "2026-11-24T10:00:00Z")
	if err != nil || byID != byEmail {
		t.Errorf("by id: %v\n%s\nby email:\n%s", err, byID, byEmail)
	}
	if _, err := run(t, "route", "explain", "--lead", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown lead: %v", err)
	}
	if _, err := run(t, "route", "explain"); err == nil {
		t.Error("no lead and no fields: no error")
	}
}

// Import: dry run per person, errors with file and line, export round trip.
func TestDirectoryImportExportCLI(t *testing.T) {
	url := testenv.Database(t)
	t.Setenv("DATABASE_URL", url)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("kind,team,id,name,email\nsales_leader,,sam,Sam,sam@example.com\nrep,emea,ana,Ana,not-mail\n"), 0o644)
	_, err := run(t, "directory", "import", bad)
	if err == nil || !strings.Contains(err.Error(), bad+": line 3: teams[0].reps[0].email") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("bad csv: %v", err)
	}
	out, err := run(t, "directory", "import", "--dry-run", "testdata/route-team.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dry run") || !strings.Contains(out, "+ added       person ana (rep, emea)") {
		t.Fatalf("dry run output:\n%s", out)
	}
	if _, err := run(t, "directory", "import", "testdata/route-team.yaml"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BATON_SIGNING_KEY", strings.Repeat("s", 32))
	t.Setenv("BATON_PUBLIC_URL", "https://baton.example/")
	out, err = run(t, "directory", "away-link", "ana", "--as", "max", "--valid", "1h")
	if err != nil || !strings.HasPrefix(out, "https://baton.example/away/") {
		t.Fatalf("away-link: %q, %v", out, err)
	}
	signer, _ := token.NewSigner([]byte(strings.Repeat("s", 32)))
	c, err := signer.Verify(strings.TrimSpace(strings.TrimPrefix(out, "https://baton.example/away/")), time.Now())
	if err != nil || c.Lead != "ana" || c.Actor != "max" || c.Action != "away" || c.ExpiresAt().After(time.Now().Add(time.Hour+time.Minute)) {
		t.Fatalf("away-link token: %+v, %v", c, err)
	}
	if _, err := run(t, "directory", "away-link", "ana", "--as", "dora"); err == nil || !strings.Contains(err.Error(), "may not") {
		t.Fatalf("another team's manager: %v", err)
	}
	for _, format := range []string{"yaml", "csv"} {
		file := filepath.Join(dir, "team."+format)
		if out, err := run(t, "directory", "export", "--format", format, "--output", file); err != nil {
			t.Fatalf("export %s: %v\n%s", format, err, out)
		}
		out, err := run(t, "directory", "import", "--dry-run", file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "0 created, 0 updated") {
			t.Errorf("re-importing the %s export would change something:\n%s", format, out)
		}
	}
}
