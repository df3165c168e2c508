package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const planYAML = `id: webinar-q3
name: Webinar Q3
owner: {name: Mo Fischer, email: Mo.Fischer@Example.com}
team: emea
min_score: 50
required_fields: [company]
reviewers:
  - {id: max, name: Max Becker, email: max@example.com}
  - {id: sam, name: Sam Okafor, email: sam@example.com, time_zone: America/New_York}
starts_at: 2026-12-01T09:00:00Z
ends_at: 2026-12-31T18:00:00Z
channels: [webinar, email]
audience: IT leads in DACH
commitments: {mqls_per_week: 40, min_acceptance_rate: 0.6}
review: {deadline: 48h, reminders: [0.5, 0.9], quorum: 2}
late_leads: refuse
`

func TestParseCampaignPlan(t *testing.T) {
	c, err := ParseCampaign([]byte(planYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner.Email != "mo.fischer@example.com" || len(c.Reviewers) != 2 || c.Reviewers[0].TimeZone != "UTC" {
		t.Errorf("normalised: %+v", c)
	}
	if !c.StartsAt.Time.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) || c.Quorum() != 2 || c.LatePolicy() != LateRefuse ||
		c.ReviewDeadline() != 48*time.Hour || c.CheckEvery() != 7*24*time.Hour || c.Commitments.MQLsPerWeek != 40 {
		t.Errorf("parsed: %+v", c.CampaignPlan)
	}
	c.Reviewers = append(c.Reviewers, Person{ID: "x", Name: "X", Email: "x@example.com"})
	c.Review.Quorum = 0
	if c.Quorum() != 2 {
		t.Errorf("default quorum of 3 reviewers = %d, want a majority, 2", c.Quorum())
	}
}

func TestCampaignPlanValidation(t *testing.T) {
	cases := []struct{ name, replace, with, field, detail string }{
		{"dates", "ends_at: 2026-12-31T18:00:00Z", "ends_at: 2026-11-30T18:00:00Z", "ends_at", "is not after starts_at"},
		{"channel", "[webinar, email]", "[webinar, fax]", "channels[1]", `"fax" is not one of`},
		{"rate", "min_acceptance_rate: 0.6", "min_acceptance_rate: 60", "commitments.min_acceptance_rate", "outside 0..1"},
		{"volume", "mqls_per_week: 40", "mqls_per_week: -1", "commitments.mqls_per_week", "outside"},
		{"quorum", "quorum: 2", "quorum: 3", "review.quorum", "more than the 2 reviewer(s)"},
		{"reminder", "[0.5, 0.9]", "[0.5, 1.5]", "review.reminders[1]", "between 0 and 1"},
		{"late", "late_leads: refuse", "late_leads: drop", "late_leads", "not one of nurture, refuse"},
		{"reviewer email", "max@example.com", "max-at-example", "reviewers[0].email", ""},
		{"reviewer twice", "id: sam,", "id: max,", "reviewers[1].id", "appears twice"},
		{"review deadline", "deadline: 48h", "deadline: 0.5s", "review.deadline", "outside 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(planYAML, tc.replace, tc.with, 1)
			if src == planYAML {
				t.Fatalf("replacement %q not in the spec", tc.replace)
			}
			_, err := ParseCampaign([]byte(src))
			fe, ok := err.(FieldErrors)
			if !ok || len(fe) != 1 || fe[0].Field != tc.field || !strings.Contains(fe[0].Detail, tc.detail) {
				t.Errorf("got %v, want one error on %s containing %q", err, tc.field, tc.detail)
			}
		})
	}
	if _, err := ParseCampaign([]byte(planYAML + "budget: 100\n")); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("an unknown field must be an error naming it: %v", err)
	}
	if _, err := ParseCampaign([]byte(strings.Replace(planYAML, "starts_at: 2026-12-01T09:00:00Z", "starts_at: next monday", 1))); err == nil {
		t.Error("a date that is not a date must be an error")
	}
}

func TestQualifies(t *testing.T) {
	c := CampaignInfo{ID: "w", Status: "live", MinScore: 50, RequiredFields: []string{"company", "country"}}
	cases := []struct {
		l    LeadSnapshot
		ok   bool
		why  string
		camp string
	}{
		{LeadSnapshot{Score: 60, Company: "Acme", Country: "DE"}, true, "", "live"},
		{LeadSnapshot{Score: 40, Company: "Acme", Country: "DE"}, false, "score 40 is below the campaign's bar of 50", "live"},
		{LeadSnapshot{Score: 60, Company: " ", Country: ""}, false, "missing required field(s): company, country", "live"},
		{LeadSnapshot{Score: 90, Company: "Acme", Country: "DE"}, false, "campaign w has ended; late leads are kept in nurture", "ended"},
	}
	for _, tc := range cases {
		c.Status = tc.camp
		ok, why := Qualifies(c, tc.l)
		if ok != tc.ok || why != tc.why {
			t.Errorf("Qualifies(%+v) = %v %q, want %v %q", tc.l, ok, why, tc.ok, tc.why)
		}
	}
}

func TestIntakeDecision(t *testing.T) {
	end := time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		status, late string
		ok           bool
		why          string
	}{
		{"live", "refuse", true, ""},
		{"ended", "nurture", true, ""},
		{"ended", "", true, ""},
		{"closed", "refuse", false, `campaign "c" ended at 2026-12-31 18:00 UTC and refuses late leads`},
		{"review", "nurture", false, `campaign "c" is review, not live`},
		{"approved", "nurture", false, `campaign "c" is approved, not live`},
	}
	for _, tc := range cases {
		ok, why := IntakeDecision("c", tc.status, tc.late, end)
		if ok != tc.ok || why != tc.why {
			t.Errorf("%s/%s = %v %q, want %v %q", tc.status, tc.late, ok, why, tc.ok, tc.why)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(11-i)*time.Minute)
	}
	if Percentile(ds, 0.5) != 5*time.Minute || Percentile(ds, 0.9) != 9*time.Minute || Percentile(nil, 0.5) != 0 {
		t.Errorf("p50 %s p90 %s", Percentile(ds, 0.5), Percentile(ds, 0.9))
	}
	if Percentile(ds[:1], 0.9) != 10*time.Minute {
		t.Error("one value is every percentile")
	}
}

func TestAggregateCampaign(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	by := func(m int) map[string]string { return map[string]string{"accept_by": at(m).Format(time.RFC3339)} }
	ev := func(lead, kind string, m int, reason string, data map[string]string, seg string) StatEvent {
		return StatEvent{LeadID: lead, Kind: kind, At: at(m), Reason: reason, Data: data, Segment: seg}
	}
	src := func(s string) map[string]string { return map[string]string{"source": s} }
	events := []StatEvent{
		// a: web, DE — accepted in time, contacted after 30 min, converted.
		ev("a", "captured", 0, "", src("web"), "DE"), ev("a", "mql", 0, "", nil, "DE"),
		ev("a", "accepted", 10, "", by(60), "DE"), ev("a", "contacted", 30, "", map[string]string{"collateral": "deck"}, "DE"),
		ev("a", "converted", 100, "", nil, "DE"),
		// b: web, FR — declined twice (bad-fit, no-capacity), then accepted late, contacted after 90 min.
		ev("b", "captured", 5, "", src("web"), "FR"), ev("b", "mql", 5, "", nil, "FR"),
		ev("b", "rejected", 6, "bad-fit", nil, "FR"), ev("b", "rejected", 7, "no-capacity", nil, "FR"),
		ev("b", "lapsed", 70, "", nil, "FR"), ev("b", "accepted", 80, "", by(65), "FR"),
		ev("b", "contacted", 95, "", nil, "FR"),
		// c: ads, DE — only declined: rejected; disqualified later.
		ev("c", "captured", 10, "", src("ads"), "DE"), ev("c", "mql", 10, "", nil, "DE"),
		ev("c", "rejected", 12, "bad-data", nil, "DE"), ev("c", "disqualified", 20, "student", nil, "DE"),
		// d: ads — below the bar, never an MQL.
		ev("d", "captured", 15, "", src("ads"), "DE"),
		// e: MQL before the period: not in the cohort, though it converts inside.
		ev("e", "captured", -2000, "", src("web"), "DE"), ev("e", "mql", -2000, "", nil, "DE"), ev("e", "converted", 50, "", nil, "DE"),
		// f: MQL after the period: ignored.
		ev("f", "captured", 11000, "", src("web"), "DE"), ev("f", "mql", 11000, "", nil, "DE"),
		// g: accepted, breached the first-contact clock, then contacted (a miss, not a met one).
		ev("g", "captured", 20, "", src("ads"), "AT"), ev("g", "mql", 20, "", nil, "AT"), ev("g", "accepted", 21, "", by(30), "AT"),
		ev("g", "breached", 200, "no first contact", nil, "AT"), ev("g", "contacted", 300, "", nil, "AT"),
	}
	s := AggregateCampaign(events, t0, t0.Add(7*24*time.Hour), 10)
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("captured", s.Captured, 5) // a b c d g
	check("mqls", s.MQLs, 4)         // a b c g
	check("accepted", s.Accepted, 3) // a b g
	check("rejected", s.Rejected, 1) // c
	check("acceptance", Pct(s.AcceptanceRate), "75%")
	check("declines", len(s.Declines), 3)
	check("disqualified", s.Disqualified[0], Count{"student", 1})
	check("converted", s.Converted, 1)
	check("conversion", Pct(s.ConversionRate), "25%")
	// met: a accepted in time, g accepted in time, a contacted in time, b contacted (no breach);
	// missed: b lapsed, g breached. b's late acceptance is neither.
	check("sla met", s.SLAMet, 4)
	check("sla missed", s.SLAMissed, 2)
	check("contacted", s.Contacted, 3)
	// From the acceptance: a 10→30, b 80→95, g 21→300.
	check("ttfc median", s.FirstContactMedian, 20*time.Minute) // 15, 20, 279
	check("ttfc p90", s.FirstContactP90, 279*time.Minute)
	check("collateral", len(s.Collateral), 1)
	check("best source", Best(s.Sources).Name, "web") // 1 of 2 vs 0 of 2
	check("worst source", Worst(s.Sources).Name, "ads")
	check("best segment", Best(s.Segments).Name, "DE") // 1 of 2
	check("segments", len(s.Segments), 3)
	short := Shortfall(Commitments{MQLsPerWeek: 10, MinAcceptanceRate: 0.8}, s)
	if len(short) != 2 || !strings.Contains(short[0], "MQL volume 4 is below the commitment of 10") ||
		!strings.Contains(short[1], "acceptance rate 75% (3 of 4 decided) is below the commitment of 80%") {
		t.Errorf("shortfall %q", short)
	}
	if got := Shortfall(Commitments{MQLsPerWeek: 4, MinAcceptanceRate: 0.75}, s); got != nil {
		t.Errorf("commitments met exactly: %q", got)
	}
	if got := Shortfall(Commitments{MinAcceptanceRate: 0.9}, CampaignStats{}); got != nil {
		t.Errorf("no decisions, no acceptance verdict: %q", got)
	}
}

// A person already a lead of campaign A answers campaign B: the lead stays
// A's (its policy and team), and B gets the response in its numbers; A's
// numbers do not count B's touch, nor does B count A's lead's outcome.
func TestAggregateCreditsASecondCampaignsTouch(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	camp := func(c string) map[string]string { return map[string]string{"campaign": c} }
	// B's view: its own lead b, and a touch from B on A's lead a.
	forB := []StatEvent{
		{LeadID: "b", Kind: "captured", At: at(0), Data: camp("B"), Credited: true},
		{LeadID: "b", Kind: "mql", At: at(0)},
		{LeadID: "a", Kind: "touch", At: at(5), Data: camp("B"), Credited: true, Foreign: true},
	}
	s := AggregateCampaign(forB, t0, at(60), 1)
	if s.Responses != 2 || s.Returning != 1 || s.Captured != 1 || s.MQLs != 1 {
		t.Errorf("B: responses %d returning %d captured %d mqls %d, want 2 1 1 1", s.Responses, s.Returning, s.Captured, s.MQLs)
	}
	// A's view: its lead a, with B's touch not credited to A.
	forA := []StatEvent{
		{LeadID: "a", Kind: "captured", At: at(-10), Data: camp("A"), Credited: true},
		{LeadID: "a", Kind: "mql", At: at(-10)},
		{LeadID: "a", Kind: "touch", At: at(5), Data: camp("B")},
		{LeadID: "a", Kind: "converted", At: at(30)},
	}
	s = AggregateCampaign(forA, at(-60), at(60), 1)
	if s.Responses != 1 || s.Returning != 0 || s.MQLs != 1 || s.Converted != 1 {
		t.Errorf("A: responses %d returning %d mqls %d converted %d, want 1 0 1 1", s.Responses, s.Returning, s.MQLs, s.Converted)
	}
}

func TestLaunchDatesRefuseAnEndThatHasPassed(t *testing.T) {
	c, err := ParseCampaign([]byte(planYAML)) // ends 2026-12-31 18:00 UTC
	if err != nil {
		t.Fatal(err)
	}
	end := c.EndsAt.Time
	if err := c.CheckLaunchDates(end.Add(-time.Second)); err != nil {
		t.Errorf("a second before the end: %v", err)
	}
	err = c.CheckLaunchDates(end)
	var fe FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "ends_at" || !strings.Contains(fe[0].Detail, "2026-12-31T18:00:00Z has passed") {
		t.Errorf("at the end: %v", err)
	}
	c.EndsAt = Instant{}
	if err := c.CheckLaunchDates(end.AddDate(5, 0, 0)); err != nil {
		t.Errorf("no end (ended by hand): %v", err)
	}
}
