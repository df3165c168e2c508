package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

// TestCampaignStatsFromLeadEvents writes leads the way the workflow does
// (Record: snapshot + event) and reads the campaign's numbers back.
func TestCampaignStatsFromLeadEvents(t *testing.T) {
	s, ctx := openStore(t), testCtx(t)
	importDir(t, s, emeaYAML)
	c := parseCampaign(t, campaignYAML+"late_leads: refuse\n")
	if err := s.UpsertCampaign(ctx, c, "draft", time.Hour); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	seq := map[string]int64{}
	rec := func(lead, email, country, kind string, m int, reason string, data map[string]string) {
		t.Helper()
		seq[lead]++
		l := domain.LeadSnapshot{ID: lead, Email: email, Country: country, CampaignID: c.ID, State: domain.StateMQL,
			WorkflowID: "lead-" + lead, Version: seq[lead], Touches: 1}
		ev := domain.Event{Key: lead + ":" + kind, Seq: seq[lead], Kind: kind, Actor: "system", Reason: reason, Data: data, At: at(m)}
		if err := s.Record(ctx, l, ev); err != nil {
			t.Fatal(err)
		}
	}
	rec("ld_a", "a@x.example", "DE", "captured", 0, "", map[string]string{"source": "webinar"})
	rec("ld_a", "a@x.example", "DE", "mql", 0, "", nil)
	rec("ld_a", "a@x.example", "DE", "accepted", 5, "", map[string]string{"accept_by": at(60).Format(time.RFC3339)})
	rec("ld_a", "a@x.example", "DE", "contacted", 45, "", nil)
	rec("ld_a", "a@x.example", "DE", "converted", 90, "", nil)
	rec("ld_b", "b@x.example", "FR", "captured", 10, "", map[string]string{"source": "ads"})
	rec("ld_b", "b@x.example", "FR", "mql", 10, "", nil)
	rec("ld_b", "b@x.example", "FR", "rejected", 12, "bad-fit", nil)
	rec("ld_b", "b@x.example", "FR", "lapsed", 80, "", nil)
	rec("ld_c", "c@x.example", "FR", "captured", 20, "", map[string]string{"source": "ads"})
	rec("ld_c", "c@x.example", "FR", "nurturing", 20, "score 10 is below the campaign's bar of 50", nil)

	st, err := s.CampaignStats(ctx, c.ID, t0, t0.Add(24*time.Hour), 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Captured != 3 || st.MQLs != 2 || st.Accepted != 1 || st.Rejected != 1 || st.Converted != 1 || st.Target != 5 ||
		st.SLAMet != 2 || st.SLAMissed != 1 || st.FirstContactMedian != 45*time.Minute || len(st.Declines) != 1 ||
		st.Declines[0] != (domain.Count{Name: "bad-fit", N: 1}) || st.Sources[0].Name != "webinar" || st.Segments[0].Name != "DE" {
		t.Errorf("stats = %+v", st)
	}
	// A period before the events counts nothing; one ending mid-way cuts them.
	if st, _ := s.CampaignStats(ctx, c.ID, t0.Add(-time.Hour), t0, 5); st.Captured != 0 || st.MQLs != 0 {
		t.Errorf("empty period = %+v", st)
	}
	if st, _ := s.CampaignStats(ctx, c.ID, t0, at(11), 5); st.MQLs != 2 || st.Converted != 0 || st.Rejected != 0 {
		t.Errorf("cut at 11 min = %+v", st)
	}

	// Intake by status and late-lead policy.
	for _, tc := range []struct {
		status string
		ok     bool
		why    string
	}{{"review", false, "is review, not live"}, {"live", true, ""}, {"ended", false, "refuses late leads"}} {
		if err := s.SetCampaignStatus(ctx, c.ID, tc.status, at(100)); err != nil {
			t.Fatal(err)
		}
		ok, why, err := s.CampaignIntake(ctx, c.ID)
		if err != nil || ok != tc.ok || !strings.Contains(why, tc.why) {
			t.Errorf("%s: CampaignIntake = %v %q %v", tc.status, ok, why, err)
		}
	}
	cs, err := s.CampaignSpec(ctx, c.ID)
	if err != nil || cs.LiveAt == nil || !cs.LiveAt.Equal(at(100)) || cs.EndedAt == nil || cs.Spec.LatePolicy() != "refuse" {
		t.Errorf("CampaignSpec = %+v %v", cs, err)
	}
	if ok, why, _ := s.CampaignIntake(ctx, "nope"); ok || !strings.Contains(why, "does not exist") {
		t.Errorf("unknown campaign: %v %q", ok, why)
	}

	// Campaign events: once per key, append-only.
	ev := domain.CampaignEvent{Key: "campaign:webinar-q3:approved:1", Kind: "approved", Actor: "system", At: at(1)}
	for i := 0; i < 2; i++ {
		if err := s.RecordCampaignEvent(ctx, c.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
	if evs, err := s.CampaignEvents(ctx, c.ID); err != nil || len(evs) != 1 || evs[0].Kind != "approved" {
		t.Errorf("events = %+v %v", evs, err)
	}
	if _, err := s.Pool.Exec(ctx, `update campaign_events set kind = 'x'`); err == nil {
		t.Error("campaign_events must be append-only")
	}

	// Refs: a missing team or policy is named.
	bad := c
	bad.Team, bad.SLAPolicy = "apac", "nope"
	if err := s.CheckCampaignRefs(ctx, bad); err == nil || !strings.Contains(err.Error(), "team") || !strings.Contains(err.Error(), "sla_policy") {
		t.Errorf("CheckCampaignRefs = %v", err)
	}
	if err := s.CheckCampaignRefs(ctx, c); err != nil {
		t.Error(err)
	}

	// Leaders and the team, for the digest.
	sales, _, err := s.Leaders(ctx)
	if err != nil || sales.ID != "sam-leader" {
		t.Errorf("Leaders = %+v %v", sales, err)
	}
	if team, err := s.TeamPeople(ctx, "emea"); err != nil || len(team) < 2 {
		t.Errorf("TeamPeople = %+v %v", team, err)
	}
}

// The scoreboard's days count both sides: sales breaches from lead events,
// marketing breaches from campaign events, each only where the viewer may look.
func TestDailyMissesCountBothSides(t *testing.T) {
	s, ctx := openStore(t), testCtx(t)
	importDir(t, s, emeaYAML)
	c := parseCampaign(t, campaignYAML)
	if err := s.UpsertCampaign(ctx, c, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(10 * time.Hour)
	l := domain.LeadSnapshot{ID: "ld_d", Email: "d@x.example", CampaignID: c.ID, State: domain.StateOffered, WorkflowID: "lead-ld_d", Version: 1, Touches: 1}
	if err := s.Record(ctx, l, domain.Event{Key: "ld_d:lapsed", Seq: 1, Kind: "lapsed", Actor: "system", At: day}); err != nil {
		t.Fatal(err)
	}
	for i, kind := range []string{"marketing-breach", "marketing-breach", "digest"} {
		ev := domain.CampaignEvent{Key: c.ID + ":" + kind + ":" + string(rune('a'+i)), Kind: kind, Actor: "system", At: day.Add(time.Duration(i) * time.Minute)}
		if err := s.RecordCampaignEvent(ctx, c.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
	leader := store.Viewer{Email: "sam.okafor@example.com", Role: store.RoleSalesLeader}
	days, err := s.Daily(ctx, leader, day.AddDate(0, 0, -2), day)
	if err != nil || len(days) != 3 {
		t.Fatalf("days = %+v, %v", days, err)
	}
	if d := days[2]; d.Breaches != 1 || d.MarketingBreaches != 2 || days[0].MarketingBreaches != 0 {
		t.Errorf("today = %+v", d)
	}
	stranger := store.Viewer{Email: "someone@else.example", Role: store.RoleMarketer}
	if days, _ := s.Daily(ctx, stranger, day, day); len(days) != 1 || days[0].Breaches != 0 || days[0].MarketingBreaches != 0 {
		t.Errorf("another marketer sees %+v", days)
	}
}
