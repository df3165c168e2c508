package domain_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
	"github.com/batonhq/baton/internal/domain"
)

var monday10 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday

func nineToFive(t *testing.T) *bizclock.Calendar {
	t.Helper()
	c, err := domain.Person{TimeZone: "UTC", WorkingHours: map[string][]string{"mon": {"09:00-17:00"}}}.Hours()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChooseRep(t *testing.T) {
	cal := nineToFive(t)
	away := []domain.Period{{From: monday10.Add(-time.Hour), Until: monday10.Add(time.Hour)}}
	later := []domain.Period{{From: monday10.Add(time.Hour), Until: monday10.Add(2 * time.Hour)}}
	rep := func(id string, w int, credit int64) domain.RepState {
		return domain.RepState{ID: id, Weight: w, Active: true, Credit: credit}
	}
	tests := []struct {
		name     string
		now      time.Time
		reps     []domain.RepState
		had      []string
		want     string
		eligible []string
		skipped  map[string]string
		credits  map[string]int64
	}{
		{name: "most credit", now: monday10, reps: []domain.RepState{rep("a", 1, -1), rep("b", 1, 1)},
			want: "b", eligible: []string{"b", "a"}, credits: map[string]int64{"a": 0, "b": 0}},
		{name: "tie by id", now: monday10, reps: []domain.RepState{rep("b", 1, 0), rep("a", 1, 0)},
			want: "a", eligible: []string{"a", "b"}, credits: map[string]int64{"a": -1, "b": 1}},
		{name: "weight adds more credit", now: monday10, reps: []domain.RepState{rep("a", 1, 0), rep("b", 3, 0)},
			want: "b", eligible: []string{"b", "a"}, credits: map[string]int64{"a": 1, "b": -1}},
		{name: "weight 0 counts as 1", now: monday10, reps: []domain.RepState{rep("a", 0, 0)},
			want: "a", eligible: []string{"a"}, credits: map[string]int64{"a": 0}},
		{name: "inactive", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Credit: 5}, rep("b", 1, 0)},
			want: "b", eligible: []string{"b"}, skipped: map[string]string{"a": domain.SkipInactive}, credits: map[string]int64{"b": 0}},
		{name: "away now", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Away: away, Credit: 5}, rep("b", 1, 0)},
			want: "b", eligible: []string{"b"}, skipped: map[string]string{"a": domain.SkipAway}, credits: map[string]int64{"b": 0}},
		{name: "away later is not away", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Away: later}, rep("b", 1, 0)},
			want: "a", eligible: []string{"a", "b"}, credits: map[string]int64{"a": -1, "b": 1}},
		{name: "off shift", now: monday10.Add(8 * time.Hour), reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Hours: cal}, rep("b", 1, 0)},
			want: "b", eligible: []string{"b"}, skipped: map[string]string{"a": domain.SkipOffShift}, credits: map[string]int64{"b": 0}},
		{name: "on shift", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Hours: cal}, rep("b", 1, 0)},
			want: "a", eligible: []string{"a", "b"}, credits: map[string]int64{"a": -1, "b": 1}},
		{name: "at cap", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Cap: 2, Open: 2}, rep("b", 1, 0)},
			want: "b", eligible: []string{"b"}, skipped: map[string]string{"a": domain.SkipAtCap}, credits: map[string]int64{"b": 0}},
		{name: "under cap", now: monday10, reps: []domain.RepState{{ID: "a", Weight: 1, Active: true, Cap: 2, Open: 1}, rep("b", 1, 0)},
			want: "a", eligible: []string{"a", "b"}, credits: map[string]int64{"a": -1, "b": 1}},
		{name: "already had it: skipped, keeps its credit", now: monday10, reps: []domain.RepState{rep("a", 1, 1), rep("b", 1, -1)}, had: []string{"a"},
			want: "b", eligible: []string{"b"}, skipped: map[string]string{"a": domain.SkipHad}, credits: map[string]int64{"a": 2, "b": -2}},
		{name: "nobody: nothing moves", now: monday10, reps: []domain.RepState{{ID: "a"}, rep("b", 1, 0)}, had: []string{"b"},
			skipped: map[string]string{"a": domain.SkipInactive, "b": domain.SkipHad}, credits: map[string]int64{}},
		{name: "empty team", now: monday10, credits: map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			had := map[string]bool{}
			for _, h := range tt.had {
				had[h] = true
			}
			c := domain.ChooseRep(tt.now, tt.reps, had)
			if c.Rep != tt.want {
				t.Errorf("Rep = %q, want %q", c.Rep, tt.want)
			}
			var el []string
			for _, e := range c.Eligible {
				el = append(el, e.ID)
			}
			if !reflect.DeepEqual(el, tt.eligible) {
				t.Errorf("Eligible = %v, want %v", el, tt.eligible)
			}
			sk := map[string]string{}
			for _, s := range c.Skipped {
				sk[s.ID] = s.Reason
			}
			if len(sk) == 0 {
				sk = nil
			}
			if !reflect.DeepEqual(sk, tt.skipped) {
				t.Errorf("Skipped = %v, want %v", sk, tt.skipped)
			}
			if !reflect.DeepEqual(c.Credits, tt.credits) {
				t.Errorf("Credits = %v, want %v", c.Credits, tt.credits)
			}
		})
	}
}

// pick runs one choice and applies it as the store does.
func pick(reps []domain.RepState, had map[string]bool) string {
	c := domain.ChooseRep(monday10, reps, had)
	for j := range reps {
		if v, ok := c.Credits[reps[j].ID]; ok {
			reps[j].Credit = v
		}
	}
	return c.Rep
}

// Every prefix of the sequence gives each rep its weighted share within one,
// for many weightings.
func TestChooseRepWeightedShareWithinOne(t *testing.T) {
	sets := [][]int{{1, 2, 3}, {1, 1, 1}, {5, 1}, {7, 3, 2, 1}, {16, 1}, {15, 3, 2, 1, 1, 3}, {100, 1, 50}}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		ws := make([]int, 1+r.IntN(7))
		for i := range ws {
			ws[i] = 1 + r.IntN(20)
		}
		sets = append(sets, ws)
	}
	for _, weights := range sets {
		var reps []domain.RepState
		total := 0
		for i, w := range weights {
			reps = append(reps, domain.RepState{ID: fmt.Sprintf("r%d", i), Weight: w, Active: true})
			total += w
		}
		counts := map[string]int{}
		for n := 1; n <= 500; n++ {
			counts[pick(reps, nil)]++
			for i, w := range weights {
				share := float64(n*w) / float64(total)
				if got := float64(counts[fmt.Sprintf("r%d", i)]); got <= share-1 || got >= share+1 {
					t.Fatalf("weights %v: after %d picks r%d (weight %d) has %v, share %.2f", weights, n, i, w, got, share)
				}
			}
		}
	}
}

// A rep away for a while comes back to their share, not to a burst.
func TestChooseRepNoBurstAfterLeave(t *testing.T) {
	reps := []domain.RepState{{ID: "a", Weight: 1, Active: true}, {ID: "b", Weight: 1, Active: true}, {ID: "c", Weight: 1, Active: true}}
	counts := map[string]int{}
	for range 10 {
		counts[pick(reps, nil)]++
	}
	reps[2].Active = false // c leaves for 300 leads
	for range 300 {
		counts[pick(reps, nil)]++
	}
	if counts["c"] > 4 || counts["a"] < 150 || counts["b"] < 150 {
		t.Fatalf("while c was away: %v", counts)
	}
	reps[2].Active = true
	// In the next 30 picks c gets about a third, not the 100 it "missed".
	counts = map[string]int{}
	for range 30 {
		counts[pick(reps, nil)]++
	}
	for _, id := range []string{"a", "b", "c"} {
		if counts[id] < 9 || counts[id] > 11 {
			t.Errorf("after c's return %s got %d of 30, want 10±1 (%v)", id, counts[id], counts)
		}
	}
}

func TestTerritoriesRoute(t *testing.T) {
	terr := domain.Territories{DefaultTeam: "global", Rules: []domain.TerritoryRule{
		{Name: "dach-enterprise", Team: "dach-ent", Country: []string{"DE", "AT", "CH"}, CompanySize: []string{"1000+"}},
		{Name: "dach", Team: "dach", Country: []string{"de", "at", "ch"}},
		{Name: "us-west-tech", Team: "us-west", Country: []string{"US"}, Region: []string{"CA", "WA", "OR"}, Industry: []string{"software"}},
		{Name: "webinar", Team: "events", Campaign: []string{"webinar-q3"}},
		{Name: "smb", Team: "smb", CompanySize: []string{"1-50", "small"}},
	}}
	tests := []struct {
		f          domain.LeadFields
		team, rule string
	}{
		{domain.LeadFields{Country: "DE", CompanySize: "5000"}, "dach-ent", "dach-enterprise"},
		{domain.LeadFields{Country: "DE", CompanySize: "500"}, "dach", "dach"},
		{domain.LeadFields{Country: "ch"}, "dach", "dach"},
		{domain.LeadFields{Country: "US", Region: "CA", Industry: "Software"}, "us-west", "us-west-tech"},
		{domain.LeadFields{Country: "US", Region: "NY", Industry: "software", Campaign: "webinar-q3"}, "events", "webinar"},
		{domain.LeadFields{Country: "FR", CompanySize: "12"}, "smb", "smb"},
		{domain.LeadFields{Country: "FR", CompanySize: "small"}, "smb", "smb"},
		{domain.LeadFields{Country: "FR", CompanySize: "many"}, "global", "default team"},
		{domain.LeadFields{}, "global", "default team"},
	}
	for _, tt := range tests {
		m := terr.Route(tt.f, "campaign-team")
		if m.Team != tt.team || m.Rule != tt.rule {
			t.Errorf("Route(%+v) = %+v, want team %s by %s", tt.f, m, tt.team, tt.rule)
		}
	}
	if m := (domain.Territories{}).Route(domain.LeadFields{Country: "DE"}, "emea"); m.Team != "emea" || m.Rule != "campaign team" {
		t.Errorf("no rules: %+v, want the campaign's team", m)
	}
}

const routingYAML = `sales_leader: {id: sam, name: Sam, email: sam@example.com}
teams:
  - id: emea
    name: EMEA
    manager: {id: max, name: Max, email: max@example.com, time_zone: Europe/Berlin}
    reps:
      - id: ana
        name: Ana
        email: ana@example.com
        time_zone: Europe/Berlin
        weight: 3
        cap: 10
        working_hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
        away:
          - {from: 2026-12-20T00:00:00Z, until: 2027-01-02T00:00:00Z, reason: holidays}
      - id: bea
        name: Bea
        email: bea@example.com
        active: false
territories:
  default_team: emea
  rules:
    - {name: dach, team: emea, country: [DE, AT, CH]}
`

func TestDirectoryRoutingFieldsRoundTrip(t *testing.T) {
	d, err := domain.ParseDirectoryFile("team.yaml", []byte(routingYAML))
	if err != nil {
		t.Fatal(err)
	}
	ana := d.Teams[0].Reps[0]
	if ana.Weight != 3 || ana.Cap != 10 || len(ana.WorkingHours) != 2 || len(ana.Away) != 1 || ana.Away[0].Reason != "holidays" {
		t.Fatalf("ana = %+v", ana)
	}
	if d.Territories == nil || d.Territories.DefaultTeam != "emea" || d.Territories.Rules[0].Country[2] != "CH" {
		t.Fatalf("territories = %+v", d.Territories)
	}
	for _, format := range []string{"yaml", "csv"} {
		var buf bytes.Buffer
		write := domain.WriteDirectoryYAML
		if format == "csv" {
			write = domain.WriteDirectoryCSV
		}
		if err := write(&buf, d); err != nil {
			t.Fatal(err)
		}
		back, err := domain.ParseDirectoryFile("x."+format, buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, buf.String())
		}
		if !reflect.DeepEqual(back, d) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v\n%s", format, back, d, buf.String())
		}
	}
}

func TestDirectoryErrorsNameLineAndField(t *testing.T) {
	bad := strings.NewReplacer("weight: 3", "weight: 300", "cap: 10", "cap: -1", `"09:00-17:00"], tue`, `"17:00-09:00"], tue`,
		"team: emea, country", "team: nowhere, country").Replace(routingYAML)
	_, err := domain.ParseDirectoryFile("team.yaml", []byte(bad))
	got := fields(t, err)
	want := []string{
		"line 11: teams[0].reps[0].weight",
		"line 12: teams[0].reps[0].cap",
		"line 13: teams[0].reps[0].working_hours.mon[0]",
		"line 23: territories.rules[0].team",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q\nwant %q\n(%v)", got, want, err)
	}

	csv := "kind,team,id,name,email,time_zone,weight,cap,working_hours,active,away,match\n" +
		"sales_leader,,sam,Sam,sam@example.com,,,,,,,\n" +
		"manager,emea,max,Max,max@example.com,,,,,,,\n" +
		"rep,emea,ana,Ana,ana@example.com,,two,,,,,\n" +
		"rep,emea,bea,Bea,not-an-email,Mars/Base,,,,maybe,,\n" +
		"territory,nowhere,dach,,,,,,,,,country=DE;planet=Mars\n"
	_, err = domain.ParseDirectoryFile("team.csv", []byte(csv))
	got = fields(t, err)
	want = []string{
		"line 4: weight",
		"line 5: active",
		"line 5: teams[0].reps[1].email",
		"line 5: teams[0].reps[1].time_zone",
		"line 6: match",
		"line 6: territories.rules[0].team",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("csv fields = %q\nwant %q\n(%v)", got, want, err)
	}
}

func TestExampleRoutingDirectory(t *testing.T) {
	data, err := os.ReadFile("../../examples/team-routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := domain.ParseDirectoryFile("team-routing.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Territories.Route(domain.LeadFields{Country: "AT"}, "emea"); m.Team != "dach" {
		t.Errorf("AT lead goes to %+v", m)
	}
}

// Any CSV either fails with FieldErrors or parse errors, or round-trips
// through WriteDirectoryCSV unchanged.
func FuzzParseDirectoryCSV(f *testing.F) {
	d, err := domain.ParseDirectoryFile("team.yaml", []byte(routingYAML))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := domain.WriteDirectoryCSV(&buf, d); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("kind,team,id,name,email\nsales_leader,,sam,Sam,sam@example.com\nmanager,t,m,M,m@example.com\nrep,t,r,R,r@example.com\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := domain.ParseDirectoryCSV(data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := domain.WriteDirectoryCSV(&out, d); err != nil {
			t.Fatal(err)
		}
		back, err := domain.ParseDirectoryCSV(out.Bytes())
		if err != nil {
			t.Fatalf("re-parse of a written directory: %v\n%s", err, out.String())
		}
		if !reflect.DeepEqual(back, d) {
			t.Fatalf("round trip differs:\n%+v\n%+v", back, d)
		}
	})
}

// Any YAML either fails or parses; errors never panic on the line lookup.
func FuzzParseDirectoryYAML(f *testing.F) {
	f.Add([]byte(routingYAML))
	f.Add([]byte(strings.NewReplacer("weight: 3", "weight: 300", "team: emea, country", "team: x, country").Replace(routingYAML)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := domain.ParseDirectoryFile("team.yaml", data)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
