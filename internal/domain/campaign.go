package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CampaignPlan is the part of a campaign spec the campaign lifecycle runs on:
// who in sales signs the plan off, when it runs, what marketing commits to,
// and what happens to leads that arrive after the end.
type CampaignPlan struct {
	// Reviewers are the sales people asked to sign the plan off. Without
	// reviewers a campaign is approved as soon as it is launched.
	Reviewers []Person `yaml:"reviewers,omitempty"`
	// StartsAt is when the campaign goes live (after approval); zero means
	// at approval. EndsAt is when it ends; zero means when ended by hand.
	StartsAt Instant  `yaml:"starts_at,omitempty"`
	EndsAt   Instant  `yaml:"ends_at,omitempty"`
	Channels []string `yaml:"channels,omitempty"` // webinar, ebook, event, ads, email, social, other
	Audience string   `yaml:"audience,omitempty"`
	// Commitments are marketing's side of the agreement.
	Commitments Commitments `yaml:"commitments,omitempty"`
	Review      Review      `yaml:"review,omitempty"`
	// LateLeads is what happens to a lead arriving after the end: "nurture"
	// (accepted, kept in nurture, never routed) or "refuse" (400 with a reason).
	LateLeads string `yaml:"late_leads,omitempty"`
}

// Commitments are what marketing promises sales, per check period.
type Commitments struct {
	MQLsPerWeek       int     `yaml:"mqls_per_week,omitempty"`
	MinAcceptanceRate float64 `yaml:"min_acceptance_rate,omitempty"` // 0..1
	// Every is the check and digest period; a week unless set (demos and
	// tests use seconds).
	Every Duration `yaml:"every,omitempty"`
}

// Review is how the sales sign-off runs.
type Review struct {
	Deadline  Duration  `yaml:"deadline,omitempty"`  // default 48h
	Reminders []float64 `yaml:"reminders,omitempty"` // fractions of the deadline, default [0.5]
	Quorum    int       `yaml:"quorum,omitempty"`    // approvals needed; default a majority of reviewers
}

// Campaign lifecycle defaults.
const (
	DefaultReviewDeadline = 48 * time.Hour
	DefaultCheckEvery     = 7 * 24 * time.Hour
	LateNurture           = "nurture"
	LateRefuse            = "refuse"
)

// CampaignChannels are the channels a campaign may name.
var CampaignChannels = []string{"webinar", "ebook", "event", "ads", "email", "social", "content", "partner", "other"}

// ReviewDeadline is the review window with its default.
func (p CampaignPlan) ReviewDeadline() time.Duration {
	if p.Review.Deadline > 0 {
		return time.Duration(p.Review.Deadline)
	}
	return DefaultReviewDeadline
}

// ReviewReminders are the reminder fractions with their default.
func (p CampaignPlan) ReviewReminders() []float64 {
	if p.Review.Reminders != nil {
		return p.Review.Reminders
	}
	return []float64{0.5}
}

// Quorum is how many approvals sign the plan off: as configured, else a
// majority of the reviewers.
func (p CampaignPlan) Quorum() int {
	if p.Review.Quorum > 0 {
		return p.Review.Quorum
	}
	return len(p.Reviewers)/2 + 1
}

// CheckEvery is the commitment-check and digest period.
func (p CampaignPlan) CheckEvery() time.Duration {
	if p.Commitments.Every > 0 {
		return time.Duration(p.Commitments.Every)
	}
	return DefaultCheckEvery
}

// LatePolicy is the late-lead policy with its default, nurture.
func (p CampaignPlan) LatePolicy() string {
	if p.LateLeads == "" {
		return LateNurture
	}
	return p.LateLeads
}

func (c *Campaign) validatePlan(fe *FieldErrors) {
	p := &c.CampaignPlan
	seen := map[string]bool{}
	for i := range p.Reviewers {
		r := &p.Reviewers[i]
		path := fmt.Sprintf("reviewers[%d]", i)
		if !ValidSlug(r.ID) {
			fe.Add(path+".id", "%q is not an id (lower-case letters, digits and dashes)", r.ID)
		} else if seen[r.ID] {
			fe.Add(path+".id", "reviewer %q appears twice", r.ID)
		}
		seen[r.ID] = true
		if strings.TrimSpace(r.Name) == "" {
			fe.Add(path+".name", "is required")
		}
		if e, err := NormalizeEmail(r.Email); err != nil {
			fe.Add(path+".email", "%s", err.Error())
		} else {
			r.Email = e
		}
		if r.TimeZone == "" {
			r.TimeZone = "UTC"
		}
		if _, err := time.LoadLocation(r.TimeZone); err != nil || r.TimeZone == "Local" {
			fe.Add(path+".time_zone", "%q is not an IANA time zone such as Europe/Berlin", r.TimeZone)
		}
	}
	if !p.StartsAt.IsZero() && !p.EndsAt.IsZero() && !p.EndsAt.After(p.StartsAt.Time) {
		fe.Add("ends_at", "%s is not after starts_at %s", p.EndsAt.Format(time.RFC3339), p.StartsAt.Format(time.RFC3339))
	}
	for i, ch := range p.Channels {
		if !slices.Contains(CampaignChannels, ch) {
			fe.Add(fmt.Sprintf("channels[%d]", i), "%q is not one of %s", ch, strings.Join(CampaignChannels, ", "))
		}
	}
	if len(p.Audience) > 500 {
		fe.Add("audience", "is longer than 500 characters")
	}
	cm := p.Commitments
	if cm.MQLsPerWeek < 0 || cm.MQLsPerWeek > 1_000_000 {
		fe.Add("commitments.mqls_per_week", "%d is outside 0..1000000", cm.MQLsPerWeek)
	}
	if cm.MinAcceptanceRate < 0 || cm.MinAcceptanceRate > 1 {
		fe.Add("commitments.min_acceptance_rate", "%g is outside 0..1 (a fraction: 0.6 means 60%%)", cm.MinAcceptanceRate)
	}
	if e := time.Duration(cm.Every); e < 0 || (e > 0 && e < time.Second) || e > 366*24*time.Hour {
		fe.Add("commitments.every", "%s is outside 1s..8784h", e)
	}
	rv := p.Review
	if d := time.Duration(rv.Deadline); d < 0 || (d > 0 && d < time.Second) || d > 90*24*time.Hour {
		fe.Add("review.deadline", "%s is outside 1s..2160h", d)
	}
	for i, f := range rv.Reminders {
		if f <= 0 || f >= 1 {
			fe.Add(fmt.Sprintf("review.reminders[%d]", i), "%g is not a fraction of the deadline between 0 and 1", f)
		}
	}
	if rv.Quorum < 0 {
		fe.Add("review.quorum", "must not be negative")
	} else if rv.Quorum > len(p.Reviewers) {
		fe.Add("review.quorum", "%d is more than the %d reviewer(s)", rv.Quorum, len(p.Reviewers))
	}
	if p.LateLeads != "" && p.LateLeads != LateNurture && p.LateLeads != LateRefuse {
		fe.Add("late_leads", "%q is not one of nurture, refuse", p.LateLeads)
	}
}

// Qualifies applies a campaign's qualification rule (score threshold plus
// required fields) to a lead; when it does not qualify, the reason says why
// in words both teams read. A campaign that has ended qualifies nobody: its
// late leads stay in nurture.
func Qualifies(c CampaignInfo, l LeadSnapshot) (bool, string) {
	if c.Status == "ended" || c.Status == "closed" {
		return false, fmt.Sprintf("campaign %s has ended; late leads are kept in nurture", c.ID)
	}
	if l.Score < c.MinScore {
		return false, fmt.Sprintf("score %d is below the campaign's bar of %d", l.Score, c.MinScore)
	}
	var missing []string
	for _, f := range c.RequiredFields {
		v := map[string]string{"name": l.Name, "company": l.Company, "country": l.Country}[f]
		if strings.TrimSpace(v) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return false, "missing required field(s): " + strings.Join(missing, ", ")
	}
	return true, ""
}

// Campaign statuses as stored.
const (
	CampaignDraft    = "draft"
	CampaignReview   = "review"
	CampaignApproved = "approved"
	CampaignLive     = "live"
	CampaignEnded    = "ended"
	CampaignClosed   = "closed"
)

// IntakeDecision says whether a lead for a campaign in a status is taken:
// accept (routed or nurtured by the workflow) or refused with a reason.
func IntakeDecision(id, status, latePolicy string, endedAt time.Time) (bool, string) {
	switch status {
	case CampaignLive:
		return true, ""
	case CampaignEnded, CampaignClosed:
		if latePolicy == LateRefuse {
			when := ""
			if !endedAt.IsZero() {
				when = " at " + endedAt.UTC().Format("2006-01-02 15:04 MST")
			}
			return false, fmt.Sprintf("campaign %q ended%s and refuses late leads", id, when)
		}
		return true, ""
	}
	return false, fmt.Sprintf("campaign %q is %s, not live", id, status)
}

// Instant is a time.Time written in YAML as RFC 3339 (2026-12-01T09:00:00Z,
// or with an offset); a bad value is an error naming its line.
type Instant struct{ time.Time }

// UnmarshalYAML parses RFC 3339.
func (i *Instant) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse(time.RFC3339, n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a date and time such as 2026-12-01T09:00:00Z", n.Line, n.Value)
	}
	i.Time = t
	return nil
}

// CheckLaunchDates refuses a plan that would end before it begins its
// review: an ends_at that has passed by now. (A passed starts_at is fine: the
// plan goes live at approval.) Validate cannot say it, as it holds no clock.
func (p Campaign) CheckLaunchDates(now time.Time) error {
	var fe FieldErrors
	if !p.EndsAt.IsZero() && !p.EndsAt.After(now) {
		fe.Add("ends_at", "%s has passed (it is %s now): give the plan a future end, or none to end it by hand",
			p.EndsAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return fe.Err()
}
