package domain_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
)

// fields returns the field names of a FieldErrors, failing the test when err
// is not one.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("want FieldErrors, got nil")
	}
	var fe domain.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("want FieldErrors, got %T: %v", err, err)
	}
	out := make([]string, len(fe))
	for i, e := range fe {
		out[i] = e.Field
	}
	return out
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"ana@example.com":            "ana@example.com",
		"  Ana.Schmidt@Example.COM ": "ana.schmidt@example.com",
		"a+tag@sub.example.co.uk":    "a+tag@sub.example.co.uk",
		"\tBEA@EXAMPLE.ORG\n":        "bea@example.org",
	}
	for in, want := range good {
		got, err := domain.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"",
		"   ",
		"ana",
		"ana@",
		"@example.com",
		"ana@localhost", // no dot in the domain
		"Ana <ana@example.com>",
		"ana@example.com, bea@example.com",
		"ana@@example.com",
		"ana example@example.com",
	}
	for _, in := range bad {
		if got, err := domain.NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
		}
	}
	if _, err := domain.NormalizeEmail(""); err == nil || err.Error() != "is required" {
		t.Errorf("empty address: got %v, want \"is required\"", err)
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ana@example.com", " Ana@Example.COM ", "a+b@c.de", "ana", "", "@", "a@b", "a@b.",
		"Ana <ana@example.com>", "\"a b\"@example.com", "ä@example.com", "a@xn--bcher-kva.example",
		"A@B.C", "a.b.c@d.e", "a..b@c.d", "İ@example.com", "(comment)a@b.c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := domain.NormalizeEmail(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeEmail(%q) returned %q with error %v", s, got, err)
			}
			return
		}
		if got != strings.ToLower(got) {
			t.Fatalf("NormalizeEmail(%q) = %q, not lower-case", s, got)
		}
		if got != strings.TrimSpace(got) || got == "" {
			t.Fatalf("NormalizeEmail(%q) = %q, not trimmed", s, got)
		}
		at := strings.LastIndexByte(got, '@')
		if at <= 0 || !strings.Contains(got[at:], ".") {
			t.Fatalf("NormalizeEmail(%q) = %q, no local part or dotted domain", s, got)
		}
		// Normalizing is idempotent: the business key of a key is itself.
		again, err := domain.NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEmail(NormalizeEmail(%q)) = %q, %v; want %q", s, again, err, got)
		}
		// So is the lead id derived from it.
		if domain.LeadID(again) != domain.LeadID(got) || !domain.ValidLeadID(domain.LeadID(got)) {
			t.Fatalf("LeadID unstable or malformed for %q", got)
		}
	})
}

func TestLeadID(t *testing.T) {
	a := domain.LeadID("ana@example.com")
	if a != domain.LeadID("ana@example.com") {
		t.Fatal("LeadID is not stable")
	}
	// Pinned: lead ids are stored, so the derivation must never change.
	if a != pinnedAnaLeadID {
		t.Errorf("LeadID(ana@example.com) = %q, want %q (the derivation changed)", a, pinnedAnaLeadID)
	}
	if b := domain.LeadID("bea@example.com"); b == a {
		t.Fatal("different emails gave the same id")
	}
	seen := map[string]string{}
	for i := 0; i < 2000; i++ {
		e := strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "@example" + strings.Repeat("z", i/26) + ".com"
		id := domain.LeadID(e)
		if !domain.ValidLeadID(id) {
			t.Fatalf("LeadID(%q) = %q is not ValidLeadID", e, id)
		}
		if len(id) != len("ld_")+16 {
			t.Fatalf("LeadID(%q) = %q has length %d", e, id, len(id))
		}
		if strings.ContainsAny(id[3:], "lo01") {
			t.Fatalf("LeadID(%q) = %q uses an ambiguous character", e, id)
		}
		if prev, dup := seen[id]; dup && prev != e {
			t.Fatalf("collision: %q and %q both give %q", prev, e, id)
		}
		seen[id] = e
	}
	for _, s := range []string{
		"", "ld_", "ld_abc", "LD_abcdefghijkmnpqr", "ld_abcdefghijkmnpq", // 15 chars
		"ld_abcdefghijkmnpqrs", // 17 chars
		"ld_abcdefghijkmnpql",  // l is not in the alphabet
		"ld_abcdefghijkmnpqo",  // nor is o
		"ld_abcdefghijkmnpq1", "ld_abcdefghijkmnpq0", "ld_ABCDEFGHIJKMNPQR",
		"xx_abcdefghijkmnpqr", " ld_abcdefghijkmnpqr", "ld_abcdefghijkmnpqr\n",
	} {
		if domain.ValidLeadID(s) {
			t.Errorf("ValidLeadID(%q) = true, want false", s)
		}
	}
	if !domain.ValidLeadID("ld_abcdefghijkmnpqr") {
		t.Error("ValidLeadID rejects a well-formed id")
	}
}

// pinnedAnaLeadID is LeadID("ana@example.com") as first computed.
const pinnedAnaLeadID = "ld_wi7z29tc92tm3jak"

func intp(i int) *int { return &i }

func TestLeadRequestNormalize(t *testing.T) {
	r := domain.LeadRequest{
		Campaign: "  webinar-q3 ",
		Email:    " Lea@Example.COM ",
		Name:     "  Lea Meyer ",
		Company:  " ACME ",
		Country:  " de ",
		Score:    intp(1000),
		Source:   " form ",
	}
	got, err := r.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := domain.LeadRequest{Campaign: "webinar-q3", Email: "lea@example.com", Name: "Lea Meyer",
		Company: "ACME", Country: "DE", Score: r.Score, Source: "form"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %+v, want %+v", got, want)
	}
	if _, err := (domain.LeadRequest{Campaign: "c", Email: "a@b.co"}).Normalize(); err != nil {
		t.Errorf("minimal request: %v", err)
	}
	if _, err := (domain.LeadRequest{Campaign: "c", Email: "a@b.co", Score: intp(0)}).Normalize(); err != nil {
		t.Errorf("score 0: %v", err)
	}

	bad := domain.LeadRequest{
		Campaign: "Webinar Q3",
		Email:    "not-an-email",
		Name:     strings.Repeat("n", 201),
		Company:  strings.Repeat("c", 201),
		Country:  "Germany",
		Score:    intp(-1),
		Source:   strings.Repeat("s", 101),
	}
	_, err = bad.Normalize()
	got2 := fields(t, err)
	want2 := []string{"campaign", "company", "country", "email", "name", "score", "source"}
	if !reflect.DeepEqual(got2, want2) {
		t.Errorf("fields = %v, want %v (all at once, sorted)", got2, want2)
	}
	if !strings.Contains(err.Error(), "Germany") {
		t.Errorf("error %q does not quote the bad country", err)
	}

	_, err = (domain.LeadRequest{Score: intp(1001)}).Normalize()
	if got := fields(t, err); !reflect.DeepEqual(got, []string{"campaign", "email", "score"}) {
		t.Errorf("fields = %v", got)
	}
}

const goodDirectory = `
sales_leader:
  id: sam-leader
  name: Sam Okafor
  email: Sam.Okafor@Example.com
  time_zone: America/New_York
teams:
  - id: emea
    name: EMEA inbound
    manager:
      id: max-manager
      name: Max Becker
      email: max.becker@example.com
      time_zone: Europe/Berlin
    reps:
      - id: ana
        name: Ana Schmidt
        email: ana.schmidt@example.com
      - id: bea
        name: Bea Ortiz
        email: bea.ortiz@example.com
        time_zone: Europe/Madrid
        active: false
`

func TestParseDirectory(t *testing.T) {
	d, err := domain.ParseDirectory([]byte(goodDirectory))
	if err != nil {
		t.Fatal(err)
	}
	if d.SalesLeader.Email != "sam.okafor@example.com" {
		t.Errorf("sales leader email not normalized: %q", d.SalesLeader.Email)
	}
	if d.MarketingLeader.ID != "" {
		t.Errorf("marketing leader is optional, got %+v", d.MarketingLeader)
	}
	if len(d.Teams) != 1 || len(d.Teams[0].Reps) != 2 {
		t.Fatalf("teams = %+v", d.Teams)
	}
	if tz := d.Teams[0].Reps[0].TimeZone; tz != "UTC" {
		t.Errorf("default time zone = %q, want UTC", tz)
	}
	if !d.Teams[0].Reps[0].IsActive() || d.Teams[0].Reps[1].IsActive() {
		t.Error("active defaults to true and false is kept")
	}
}

func TestParseDirectoryErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // fields named, or substrings of a parse error
	}{
		{"unknown field", strings.Replace(goodDirectory, "    name: EMEA inbound", "    nmae: EMEA inbound", 1),
			[]string{"nmae"}},
		{"unknown top-level field", goodDirectory + "extra: 1\n", []string{"extra"}},
		{"duplicate person id", strings.Replace(goodDirectory, "id: bea", "id: ana", 1),
			[]string{"teams[0].reps[1].id"}},
		{"duplicate email, case-insensitively", strings.Replace(goodDirectory, "bea.ortiz@example.com", "ANA.Schmidt@example.com", 1),
			[]string{"teams[0].reps[1].email"}},
		{"bad time zone", strings.Replace(goodDirectory, "Europe/Madrid", "Mars/Olympus", 1),
			[]string{"teams[0].reps[1].time_zone"}},
		{"host-local time zone", strings.Replace(goodDirectory, "Europe/Madrid", "Local", 1),
			[]string{"teams[0].reps[1].time_zone"}},
		{"bad id and email and missing name", strings.Replace(strings.Replace(strings.Replace(goodDirectory,
			"id: ana", "id: Ana!", 1), "ana.schmidt@example.com", "ana-at-example", 1), "name: Ana Schmidt", "name: \" \"", 1),
			[]string{"teams[0].reps[0].email", "teams[0].reps[0].id", "teams[0].reps[0].name"}},
		{"no reps", `
sales_leader: {id: s, name: S, email: s@example.com}
teams:
  - id: t
    manager: {id: m, name: M, email: m@example.com}
`, []string{"teams[0].reps"}},
		{"no teams, no leader", `teams: []`, []string{"sales_leader.email", "sales_leader.id", "sales_leader.name", "teams"}},
		{"duplicate team", `
sales_leader: {id: s, name: S, email: s@example.com}
teams:
  - id: t
    manager: {id: m, name: M, email: m@example.com}
    reps: [{id: r, name: R, email: r@example.com}]
  - id: t
    manager: {id: m2, name: M, email: m2@example.com}
    reps: [{id: r2, name: R, email: r2@example.com}]
`, []string{"teams[1].id"}},
		{"half a marketing leader", goodDirectory + "marketing_leader: {name: Mia}\n",
			[]string{"marketing_leader.email", "marketing_leader.id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := domain.ParseDirectory([]byte(c.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			var fe domain.FieldErrors
			if !errors.As(err, &fe) {
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if got := fields(t, err); !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields = %v, want %v (error: %v)", got, c.want, err)
			}
		})
	}
}

const goodCampaign = `
id: webinar-q3
name: Webinar Q3
owner:
  name: Mo Fischer
  email: Mo.Fischer@Example.com
team: emea
min_score: 50
accept_within: 4h
`

func TestParseCampaign(t *testing.T) {
	c, err := domain.ParseCampaign([]byte(goodCampaign))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.AcceptWithin) != 4*time.Hour || c.Owner.Email != "mo.fischer@example.com" || c.MinScore != 50 {
		t.Errorf("campaign = %+v", c)
	}
	c, err = domain.ParseCampaign([]byte(strings.Replace(goodCampaign, "accept_within: 4h\n", "", 1)))
	if err != nil || c.AcceptWithin != 0 {
		t.Errorf("accept_within is optional: %+v, %v", c, err)
	}
}

func TestParseCampaignErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", goodCampaign + "teams: emea\n", []string{"teams"}},
		{"bad duration", strings.Replace(goodCampaign, "4h", "four hours", 1), []string{"four hours", "duration"}},
		{"bad duration unit", strings.Replace(goodCampaign, "4h", "4", 1), []string{"duration"}},
		{"negative window", strings.Replace(goodCampaign, "4h", "-1h", 1), []string{"accept_within"}},
		{"sub-second window", strings.Replace(goodCampaign, "4h", "10ms", 1), []string{"accept_within"}},
		{"window too long", strings.Replace(goodCampaign, "4h", "721h", 1), []string{"accept_within"}},
		{"everything wrong", `
id: Webinar Q3
owner: {email: nope}
team: EMEA
min_score: 1001
accept_within: -5m
`, []string{"accept_within", "id", "min_score", "name", "owner.email", "owner.name", "team"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := domain.ParseCampaign([]byte(c.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			var fe domain.FieldErrors
			if !errors.As(err, &fe) {
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if got := fields(t, err); !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields = %v, want %v (error: %v)", got, c.want, err)
			}
		})
	}
}

func cands(ids ...string) []domain.Candidate {
	out := make([]domain.Candidate, len(ids))
	for i, id := range ids {
		out[i] = domain.Candidate{ID: id, Active: true}
	}
	return out
}

func TestNextInRotation(t *testing.T) {
	team := cands("cy", "ana", "bea") // unsorted on purpose
	cases := []struct {
		name    string
		reps    []domain.Candidate
		last    string
		exclude map[string]bool
		want    string
	}{
		{"first ever", team, "", nil, "ana"},
		{"next", team, "ana", nil, "bea"},
		{"next again", team, "bea", nil, "cy"},
		{"wraparound", team, "cy", nil, "ana"},
		{"last left the team, between", team, "b", nil, "bea"},
		{"last left the team, after everyone", team, "dan", nil, "ana"},
		{"last left the team, between bea and cy", team, "bo", nil, "cy"},
		{"exclude the next", team, "ana", map[string]bool{"bea": true}, "cy"},
		{"exclude wraps", team, "bea", map[string]bool{"cy": true}, "ana"},
		{"exclude all but last", team, "ana", map[string]bool{"bea": true, "cy": true}, "ana"},
		{"exclude all", team, "ana", map[string]bool{"ana": true, "bea": true, "cy": true}, ""},
		{"inactive skipped", []domain.Candidate{{ID: "ana", Active: true}, {ID: "bea", Active: false}, {ID: "cy", Active: true}}, "ana", nil, "cy"},
		{"last is inactive now", []domain.Candidate{{ID: "ana", Active: true}, {ID: "bea", Active: false}, {ID: "cy", Active: true}}, "bea", nil, "cy"},
		{"all inactive", []domain.Candidate{{ID: "ana"}, {ID: "bea"}}, "", nil, ""},
		{"empty", nil, "", nil, ""},
		{"empty with last", nil, "ana", nil, ""},
		{"one rep", cands("ana"), "ana", nil, "ana"},
	}
	for _, c := range cases {
		if got := domain.NextInRotation(c.reps, c.last, c.exclude); got != c.want {
			t.Errorf("%s: NextInRotation(%v, %q, %v) = %q, want %q", c.name, c.reps, c.last, c.exclude, got, c.want)
		}
	}
	// A full cycle visits everyone once, in id order.
	last, seen := "", []string{}
	for i := 0; i < 6; i++ {
		last = domain.NextInRotation(team, last, nil)
		seen = append(seen, last)
	}
	if want := []string{"ana", "bea", "cy", "ana", "bea", "cy"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("rotation = %v, want %v", seen, want)
	}
}

func FuzzNextInRotation(f *testing.F) {
	f.Add("ana,bea,cy", uint8(7), "", "")
	f.Add("ana,bea,cy", uint8(7), "cy", "")
	f.Add("ana,bea,cy", uint8(5), "bea", "cy")
	f.Add("ana,bea,cy", uint8(7), "zed", "ana,bea,cy")
	f.Add("", uint8(0), "", "")
	f.Add("b,a,b,c", uint8(15), "b", "a")
	f.Fuzz(func(t *testing.T, repsCSV string, activeMask uint8, last, excludeCSV string) {
		// Rep ids are unique (people.id is the primary key), so the fuzzer
		// does not feed duplicates.
		var reps []domain.Candidate
		seen := map[string]bool{}
		if repsCSV != "" {
			for i, id := range strings.Split(repsCSV, ",") {
				if seen[id] {
					continue
				}
				seen[id] = true
				reps = append(reps, domain.Candidate{ID: id, Active: activeMask&(1<<(i%8)) != 0})
			}
		}
		exclude := map[string]bool{}
		if excludeCSV != "" {
			for _, id := range strings.Split(excludeCSV, ",") {
				exclude[id] = true
			}
		}
		var eligible []string
		for _, r := range reps {
			if r.Active && !exclude[r.ID] {
				eligible = append(eligible, r.ID)
			}
		}
		sort.Strings(eligible)
		got := domain.NextInRotation(reps, last, exclude)
		if len(eligible) == 0 {
			if got != "" {
				t.Fatalf("nobody eligible, got %q", got)
			}
			return
		}
		// The answer is the smallest eligible id strictly after last, or
		// the smallest of all when there is none.
		want := eligible[0]
		for _, id := range eligible {
			if id > last {
				want = id
				break
			}
		}
		if got != want {
			t.Fatalf("NextInRotation(%v, %q, %v) = %q, want %q", reps, last, exclude, got, want)
		}
		// Input order does not matter.
		rev := make([]domain.Candidate, len(reps))
		for i, r := range reps {
			rev[len(reps)-1-i] = r
		}
		if again := domain.NextInRotation(rev, last, exclude); again != got {
			t.Fatalf("order-dependent: %q vs %q", got, again)
		}
	})
}
