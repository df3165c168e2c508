package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/jackc/pgx/v5/pgconn"
)

// These tests run against the real PostgreSQL: each gets its own freshly
// migrated database (testenv.Database), dropped when it ends.

func openStore(t *testing.T) *store.Store {
	t.Helper()
	url := testenv.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // runs before the database is dropped
	return s
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, s *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func queryString(t *testing.T, s *store.Store, sql string, args ...any) string {
	t.Helper()
	var v string
	if err := s.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

const emeaYAML = `
sales_leader:
  id: sam-leader
  name: Sam Okafor
  email: sam.okafor@example.com
  time_zone: America/New_York
marketing_leader:
  id: mia-leader
  name: Mia Laurent
  email: mia.laurent@example.com
  time_zone: Europe/Paris
teams:
  - id: emea
    name: EMEA inbound
    manager:
      id: max-manager
      name: Max Becker
      email: max.becker@example.com
      time_zone: Europe/Berlin
    reps:
      - id: cy
        name: Cy Walsh
        email: cy.walsh@example.com
        time_zone: Europe/Dublin
      - id: ana
        name: Ana Schmidt
        email: Ana.Schmidt@Example.com
        time_zone: Europe/Berlin
      - id: bea
        name: Bea Ortiz
        email: bea.ortiz@example.com
        time_zone: Europe/Madrid
`

func parseDir(t *testing.T, yaml string) domain.Directory {
	t.Helper()
	d, err := domain.ParseDirectory([]byte(yaml))
	if err != nil {
		t.Fatalf("directory: %v", err)
	}
	return d
}

// importDir imports yaml for real and fails the test on error.
func importDir(t *testing.T, s *store.Store, yaml string) store.ImportResult {
	t.Helper()
	res, err := s.ImportDirectory(testCtx(t), parseDir(t, yaml), false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// dirState is a fingerprint of everything ImportDirectory writes.
func dirState(t *testing.T, s *store.Store) string {
	t.Helper()
	return queryString(t, s, `select concat_ws(E'\n',
		(select coalesce(string_agg(concat_ws('|', id, name, manager_id, updated_at), ',' order by id), '') from teams),
		(select coalesce(string_agg(concat_ws('|', id, email, name, time_zone, role, team_id, active, updated_at), ',' order by id), '') from people),
		(select coalesce(string_agg(concat_ws('|', team_id, last_rep_id, updated_at), ',' order by team_id), '') from team_rotation))`)
}

func TestImportDirectory(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)

	// First import: one team and six people, all created.
	if res := importDir(t, s, emeaYAML); res != (store.ImportResult{Created: 7}) {
		t.Fatalf("first import = %v, want 7 created", res)
	}
	if n := queryInt(t, s, `select count(*) from teams`); n != 1 {
		t.Errorf("teams = %d", n)
	}
	if n := queryInt(t, s, `select count(*) from people`); n != 6 {
		t.Errorf("people = %d", n)
	}
	if got := queryString(t, s, `select last_rep_id from team_rotation where team_id = 'emea'`); got != "" {
		t.Errorf("a new team's rotation starts empty, got %q", got)
	}
	if got := queryString(t, s, `select manager_id from teams where id = 'emea'`); got != "max-manager" {
		t.Errorf("manager_id = %q", got)
	}
	got := queryString(t, s, `select string_agg(concat_ws('|', id, email, role, coalesce(team_id, '-'), time_zone, active::text), ',' order by id) from people`)
	want := strings.Join([]string{
		"ana|ana.schmidt@example.com|rep|emea|Europe/Berlin|true",
		"bea|bea.ortiz@example.com|rep|emea|Europe/Madrid|true",
		"cy|cy.walsh@example.com|rep|emea|Europe/Dublin|true",
		"max-manager|max.becker@example.com|manager|emea|Europe/Berlin|true",
		"mia-leader|mia.laurent@example.com|marketing_leader|-|Europe/Paris|true",
		"sam-leader|sam.okafor@example.com|sales_leader|-|America/New_York|true",
	}, ",")
	if got != want {
		t.Errorf("people:\n got %s\nwant %s", got, want)
	}

	// The same file again changes nothing, not even updated_at.
	before := dirState(t, s)
	if res := importDir(t, s, emeaYAML); res != (store.ImportResult{Unchanged: 7}) {
		t.Fatalf("second import = %v, want 7 unchanged", res)
	}
	if after := dirState(t, s); after != before {
		t.Errorf("an identical import wrote:\nbefore %s\nafter  %s", before, after)
	}

	// A renamed rep is the one update.
	renamed := strings.Replace(emeaYAML, "Bea Ortiz", "Bea Ortiz-Lopez", 1)
	if res := importDir(t, s, renamed); res != (store.ImportResult{Updated: 1, Unchanged: 6}) {
		t.Fatalf("rename = %v, want 1 updated, 6 unchanged", res)
	}
	if got := queryString(t, s, `select name from people where id = 'bea'`); got != "Bea Ortiz-Lopez" {
		t.Errorf("bea's name = %q", got)
	}

	// A dry run reports what would change and writes nothing.
	more := strings.Replace(renamed, "Cy Walsh", "Cy Walsh-Byrne", 1) + `
  - id: apac
    name: APAC
    manager:
      id: kai-manager
      name: Kai Tan
      email: kai.tan@example.com
    reps:
      - id: dee
        name: Dee Lim
        email: dee.lim@example.com
`
	before = dirState(t, s)
	res, err := s.ImportDirectory(ctx, parseDir(t, more), true)
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Created: 3, Updated: 1, Unchanged: 6}) {
		t.Errorf("dry run = %v, want 3 created, 1 updated, 6 unchanged", res)
	}
	if after := dirState(t, s); after != before {
		t.Errorf("a dry run wrote:\nbefore %s\nafter  %s", before, after)
	}
	if n := queryInt(t, s, `select count(*) from people where id in ('kai-manager', 'dee')`); n != 0 {
		t.Errorf("dry run created %d people", n)
	}
	if n := queryInt(t, s, `select count(*) from team_rotation where team_id = 'apac'`); n != 0 {
		t.Errorf("dry run created a rotation row")
	}
	if got := queryString(t, s, `select name from people where id = 'cy'`); got != "Cy Walsh" {
		t.Errorf("dry run renamed cy to %q", got)
	}

	// For real this time: the same counts, and now it is there.
	if res := importDir(t, s, more); res != (store.ImportResult{Created: 3, Updated: 1, Unchanged: 6}) {
		t.Errorf("import = %v, want 3 created, 1 updated, 6 unchanged", res)
	}
	if n := queryInt(t, s, `select count(*) from team_rotation`); n != 2 {
		t.Errorf("rotation rows = %d, want 2", n)
	}
	if got := queryString(t, s, `select team_id from people where id = 'dee'`); got != "apac" {
		t.Errorf("dee's team = %q", got)
	}
}

func TestImportDirectoryDryRunOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	res, err := s.ImportDirectory(testCtx(t), parseDir(t, emeaYAML), true)
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Created: 7}) {
		t.Errorf("dry run = %v, want 7 created", res)
	}
	for _, table := range []string{"teams", "people", "team_rotation"} {
		if n := queryInt(t, s, `select count(*) from `+table); n != 0 {
			t.Errorf("dry run wrote %d rows to %s", n, table)
		}
	}
}

// An import that fails part-way (a new person takes the email of a person
// already in the database under another id) changes nothing at all, though
// earlier statements of the same import succeeded.
func TestImportDirectoryFailureIsAtomic(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	importDir(t, s, emeaYAML)
	before := dirState(t, s)

	// Valid as a file (no duplicate inside it), but zed's email is ana's in
	// the database. Teams are imported in order, so by the time zed fails
	// bea has been renamed, apac and its rotation row created, and kai
	// inserted; and the leaders, imported last, are never reached.
	bad := `
sales_leader:
  id: sam-leader
  name: Sam O.
  email: sam.okafor@example.com
teams:
  - id: emea
    name: EMEA renamed
    manager:
      id: max-manager
      name: Max Becker
      email: max.becker@example.com
      time_zone: Europe/Berlin
    reps:
      - id: bea
        name: Bea Renamed
        email: bea.ortiz@example.com
        time_zone: Europe/Madrid
  - id: apac
    name: APAC
    manager:
      id: kai-manager
      name: Kai Tan
      email: kai.tan@example.com
    reps:
      - id: zed
        name: Zed Ng
        email: ana.schmidt@example.com
`
	for _, dry := range []bool{true, false} {
		res, err := s.ImportDirectory(testCtx(t), parseDir(t, bad), dry)
		if err == nil {
			t.Fatalf("dry=%v: import succeeded (%v), want a unique violation", dry, res)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Errorf("dry=%v: err = %v, want a unique violation (23505)", dry, err)
		}
		if !strings.Contains(err.Error(), "zed") {
			t.Errorf("dry=%v: error %q does not name the person", dry, err)
		}
		if after := dirState(t, s); after != before {
			t.Errorf("dry=%v: a failed import changed the directory:\nbefore %s\nafter  %s", dry, before, after)
		}
	}
	if n := queryInt(t, s, `select count(*) from teams where id = 'apac'`); n != 0 {
		t.Error("apac survived the failed import")
	}
	if got := queryString(t, s, `select name from people where id = 'bea'`); got != "Bea Ortiz" {
		t.Errorf("bea = %q after the failed import", got)
	}
}

const campaignYAML = `
id: webinar-q3
name: Webinar Q3
owner:
  name: Mo Fischer
  email: mo.fischer@example.com
team: emea
min_score: 50
accept_within: 4h
`

func parseCampaign(t *testing.T, yaml string) domain.Campaign {
	t.Helper()
	c, err := domain.ParseCampaign([]byte(yaml))
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	return c
}

func TestUpsertCampaign(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)

	// Before the directory is imported the team is unknown.
	c := parseCampaign(t, campaignYAML)
	err := s.UpsertCampaign(ctx, c, "live", time.Hour)
	var fe domain.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want domain.FieldErrors", err, err)
	}
	if len(fe) != 1 || fe[0].Field != "team" || !strings.Contains(fe[0].Detail, "emea") {
		t.Errorf("field errors = %+v, want one naming team emea", fe)
	}
	if n := queryInt(t, s, `select count(*) from campaigns`); n != 0 {
		t.Errorf("a rejected campaign wrote %d rows", n)
	}
	if live, why, err := s.CampaignLive(ctx, c.ID); err != nil || live || !strings.Contains(why, "does not exist") {
		t.Errorf("CampaignLive(unknown) = %v, %q, %v", live, why, err)
	}
	if _, err := s.Campaign(ctx, c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Campaign(unknown) err = %v, want ErrNotFound", err)
	}

	importDir(t, s, emeaYAML)
	if err := s.UpsertCampaign(ctx, c, "draft", time.Hour); err != nil {
		t.Fatal(err)
	}
	info, err := s.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.CampaignInfo{ID: "webinar-q3", Name: "Webinar Q3", Owner: domain.PersonRef{Name: "Mo Fischer", Email: "mo.fischer@example.com"},
		TeamID: "emea", Status: "draft", MinScore: 50, AcceptWindow: 4 * time.Hour,
		SalesLeader: domain.PersonRef{ID: "sam-leader", Name: "Sam Okafor", Email: "sam.okafor@example.com", TimeZone: "America/New_York"}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Campaign = %+v, want %+v", info, want)
	}
	if live, why, err := s.CampaignLive(ctx, c.ID); err != nil || live || !strings.Contains(why, "draft") {
		t.Errorf("CampaignLive(draft) = %v, %q, %v", live, why, err)
	}

	// Upsert: live, and no window of its own, so the default applies.
	c.AcceptWithin = 0
	if err := s.UpsertCampaign(ctx, c, "live", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Campaign(ctx, c.ID); info.Status != "live" || info.AcceptWindow != 90*time.Second {
		t.Errorf("after upsert: %+v", info)
	}
	if live, why, err := s.CampaignLive(ctx, c.ID); err != nil || !live || why != "" {
		t.Errorf("CampaignLive(live) = %v, %q, %v", live, why, err)
	}
	rows, err := s.Campaigns(ctx)
	if err != nil || len(rows) != 1 || rows[0] != (store.CampaignRow{ID: "webinar-q3", Name: "Webinar Q3", Status: "live", TeamID: "emea", AcceptWindow: 90 * time.Second}) {
		t.Errorf("Campaigns = %+v, %v", rows, err)
	}
}
