package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
)

var campaignSpec = func() domain.Campaign {
	c := domain.Campaign{ID: "webinar-q3", Name: "Webinar Q3 <Live>", Team: "emea", MinScore: 50,
		Owner: domain.Person{Name: "Olga Owner", Email: testReplyTo, TimeZone: "Europe/Berlin"}, RequiredFields: []string{"company"},
		Collateral: []domain.Collateral{{Name: "Case study", URL: "https://example.com/case?a=1&b=2", Stage: "contacted"}}}
	c.Reviewers = []domain.Person{{ID: "p-mia", Name: "Mia Wolf", Email: "mia.wolf@example.com"}, {ID: "p-sam", Name: "Sam Rivera", Email: "sam.rivera@example.com"}}
	c.StartsAt.Time = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	c.EndsAt.Time = time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)
	c.Channels, c.Audience = []string{"webinar", "email"}, "IT leads in DACH"
	c.Commitments = domain.Commitments{MQLsPerWeek: 40, MinAcceptanceRate: 0.6}
	c.Review.Quorum = 2
	c.LateLeads = domain.LateRefuse
	return c
}()

var weekStats = domain.CampaignStats{
	From: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC),
	Captured: 51, MQLs: 31, Target: 40, Accepted: 18, Rejected: 7, AcceptanceRate: 18.0 / 25,
	Declines: []domain.Count{{Name: "bad-fit", N: 5}, {Name: "not-my-territory", N: 3}}, Disqualified: []domain.Count{{Name: "student", N: 2}},
	Converted: 4, ConversionRate: 4.0 / 31, SLAMet: 30, SLAMissed: 6, SLACompliance: 30.0 / 36,
	Contacted: 15, FirstContactMedian: 95 * time.Minute, FirstContactP90: 7*time.Hour + 10*time.Minute,
	Metrics: domain.Metrics{Acceptance: domain.Ratio{N: 18, Of: 25}, SLA: domain.Ratio{N: 30, Of: 36}, Conversion: domain.Ratio{N: 4, Of: 31},
		TimeToAccept:       domain.Durations{N: 18, Median: 12 * time.Minute, P90: 2*time.Hour + 5*time.Minute},
		TimeToFirstContact: domain.Durations{N: 15, Median: 95 * time.Minute, P90: 7*time.Hour + 10*time.Minute}},
	Notes: []domain.RepNote{{LeadID: "ld_q3", Rep: "ana", Kind: "declined", Reason: "bad-fit", Note: "a student project"},
		{LeadID: "ld_q4", Rep: "ana", Kind: "disqualified", Reason: "student", Note: "thesis research, no budget"}},
	Sources:  []domain.GroupConversion{{Name: "webinar-form", MQLs: 20, Converted: 4, Rate: 0.2}, {Name: "ads", MQLs: 11, Converted: 0}},
	Segments: []domain.GroupConversion{{Name: "DE", MQLs: 25, Converted: 4, Rate: 0.16}, {Name: "FR", MQLs: 6, Converted: 0}},
}

// campaignNotice is the fixed notice of one campaign kind.
func campaignNotice(kind string) mail.CampaignNotice {
	n := mail.CampaignNotice{Key: "campaign:webinar-q3:" + kind + ":r2:" + manager.Email, CampaignMessage: domain.CampaignMessage{
		Kind: kind, To: manager, Campaign: campaignSpec, Policy: "office-hours: accept within 4h0m0s", Round: 2, Deadline: deadline,
		Reviewers: []domain.ReviewerStatus{{Reviewer: manager, Verdict: "approve"}, {Reviewer: rep}}, Approvals: 1,
		Comments: []domain.ReviewComment{{Round: 1, Reviewer: "Sam Rivera", Comment: "Add a <case study> for DACH", At: deadline.Add(-48 * time.Hour)}}}}
	switch kind {
	case mail.KindCampaignReview, mail.KindCampaignReminder:
		n.To = rep
		n.Links = []store.Link{{Label: "Approve the plan", URL: "https://baton.example.com/c/tok-approve"},
			{Label: "Request changes", URL: "https://baton.example.com/c/tok-changes"}}
	case mail.KindCampaignChanges:
		n.To = owner
	case mail.KindCampaignShortfall, mail.KindCampaignDigest, mail.KindCampaignRetro:
		n.Week, n.Period, n.ToDate = 1, weekStats, weekStats
		n.CampaignURL = "https://baton.example.com/campaigns/webinar-q3"
		n.Shortfall = domain.Shortfall(campaignSpec.Commitments, weekStats)
		n.Weeks = []domain.PeriodResult{{Week: 1, From: weekStats.From, MQLs: 31, Target: 40, Shortfall: n.Shortfall},
			{Week: 2, From: weekStats.To, MQLs: 44, Target: 40}}
	}
	return n
}

// campaignSamples returns one composed message of each campaign kind (the
// SendGrid contract test sends them all).
func campaignSamples(t *testing.T) []store.Message {
	t.Helper()
	var out []store.Message
	for _, kind := range mail.CampaignKinds {
		m, err := mail.ComposeCampaign(campaignNotice(kind), testFrom)
		if err != nil {
			t.Fatalf("ComposeCampaign(%s): %v", kind, err)
		}
		out = append(out, m)
	}
	return out
}

func TestComposeCampaignGolden(t *testing.T) {
	for _, m := range campaignSamples(t) {
		t.Run(m.Kind, func(t *testing.T) {
			golden(t, m.Kind+".txt", m.Text)
			golden(t, m.Kind+".html", m.HTML)
		})
	}
}

func TestCampaignSubjects(t *testing.T) {
	want := map[string]string{
		mail.KindCampaignReview:     "Sign-off requested (revision 2): Webinar Q3 <Live> — by Fri 20 Nov 2026 19:00 CET",
		mail.KindCampaignReminder:   "Reminder: sign-off on Webinar Q3 <Live> due Fri 20 Nov 2026 19:00 CET",
		mail.KindCampaignEscalation: "Escalation: no sign-off on Webinar Q3 <Live> from Sam Rivera",
		mail.KindCampaignChanges:    "Changes requested on Webinar Q3 <Live> (round 2)",
		mail.KindCampaignShortfall:  "Marketing commitment missed: Webinar Q3 <Live>, week 1",
		mail.KindCampaignDigest:     "Weekly digest: Webinar Q3 <Live>, week 1 — 31 MQLs of 40",
		mail.KindCampaignRetro:      "Retrospective: Webinar Q3 <Live> — 31 MQLs, 13% converted",
	}
	for _, m := range campaignSamples(t) {
		if m.Subject != want[m.Kind] {
			t.Errorf("%s subject = %q, want %q", m.Kind, m.Subject, want[m.Kind])
		}
	}
}

func TestCampaignBodiesCarryTheNumbers(t *testing.T) {
	for _, m := range campaignSamples(t) {
		if m.Kind != mail.KindCampaignDigest {
			continue
		}
		for _, s := range []string{"MQLs:               31 of 40 committed (51 leads captured)", "Acceptance:         72% (18 of 25 decided leads)",
			"Bad fit 5, Not my territory 3", "SLA compliance:     83% (30 of 36 deadlines)", "median 1h 35m, p90 7h 10m",
			"Conversion:         13% (4 of 31 MQLs)", "Best source:        webinar-form — 4 of 20 converted", "Worst segment:      FR — 0 of 6 converted",
			"MQL volume 31 is below the commitment of 40", `Bad fit: "a student project"`, "https://baton.example.com/campaigns/webinar-q3"} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("digest text lacks %q:\n%s", s, m.Text)
			}
		}
		if strings.Count(m.Text, "Acceptance:") != 1 {
			t.Errorf("week one repeats the same block:\n%s", m.Text)
		}
		if strings.Contains(m.HTML, "<case study>") || !strings.Contains(m.HTML, "&lt;case study&gt;") && strings.Contains(m.Text, "case study") {
			t.Error("HTML must escape comments")
		}
	}
}
