package mail

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

// Kinds of campaign message (domain names them).
const (
	KindCampaignReview     = domain.KindCampaignReview
	KindCampaignReminder   = domain.KindCampaignReminder
	KindCampaignEscalation = domain.KindCampaignEscalation
	KindCampaignChanges    = domain.KindCampaignChanges
	KindCampaignShortfall  = domain.KindCampaignShortfall
	KindCampaignDigest     = domain.KindCampaignDigest
	KindCampaignRetro      = domain.KindCampaignRetro
	KindCampaignMailFailed = domain.KindCampaignMailFailed
)

// CampaignKinds lists every campaign message kind.
var CampaignKinds = []string{KindCampaignReview, KindCampaignReminder, KindCampaignEscalation, KindCampaignChanges,
	KindCampaignShortfall, KindCampaignDigest, KindCampaignRetro}

// CampaignNotice is everything a campaign template may show.
type CampaignNotice struct {
	domain.CampaignMessage
	Key   string // ledger key: campaign + kind + round/week + recipient
	Links []store.Link
	// CampaignURL is the campaign's page (digests, shortfalls, retrospectives).
	CampaignURL string
}

// Pct formats a fraction as a percentage.
func (CampaignNotice) Pct(f float64) string { return domain.Pct(f) }

// Dur formats a duration for people: 1h 30m, 45s, or — for none.
func (CampaignNotice) Dur(d time.Duration) string { return domain.HumanDuration(d) }

// Plural is "1 lead", "2 leads".
func (CampaignNotice) Plural(n int, one, many string) string { return domain.Plural(n, one, many) }

// SameBlocks reports whether the period is the whole campaign so far (the
// first week): the digest then shows one block, not the same one twice.
func (n CampaignNotice) SameBlocks() bool {
	return n.Period.From.Equal(n.ToDate.From) && n.Period.To.Equal(n.ToDate.To)
}

// Local formats an instant in the recipient's time zone.
func (n CampaignNotice) Local(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	loc, err := time.LoadLocation(n.To.TimeZone)
	if err != nil || n.To.TimeZone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// Rule is the qualification rule in words, as both teams see it.
func (n CampaignNotice) Rule() string {
	r := fmt.Sprintf("score ≥ %d", n.Campaign.MinScore)
	if len(n.Campaign.RequiredFields) > 0 {
		r += " and " + strings.Join(n.Campaign.RequiredFields, ", ") + " given"
	}
	return r
}

// Best and Worst pick a source or segment by conversion.
func (CampaignNotice) Best(g []domain.GroupConversion) *domain.GroupConversion {
	return domain.Best(g)
}

// Worst is the group with the lowest conversion.
func (CampaignNotice) Worst(g []domain.GroupConversion) *domain.GroupConversion {
	return domain.Worst(g)
}

// Subject says what the message is about and what to do.
func (n CampaignNotice) Subject() string {
	c := n.Campaign.Name
	switch n.Kind {
	case KindCampaignReview:
		if n.Round > 1 {
			return fmt.Sprintf("Sign-off requested (revision %d): %s — by %s", n.Round, c, n.Local(n.Deadline))
		}
		return fmt.Sprintf("Sign-off requested: %s — by %s", c, n.Local(n.Deadline))
	case KindCampaignReminder:
		return fmt.Sprintf("Reminder: sign-off on %s due %s", c, n.Local(n.Deadline))
	case KindCampaignEscalation:
		return fmt.Sprintf("Escalation: no sign-off on %s from %s", c, n.Silent())
	case KindCampaignChanges:
		return fmt.Sprintf("Changes requested on %s (round %d)", c, n.Round)
	case KindCampaignShortfall:
		return fmt.Sprintf("Marketing commitment missed: %s, week %d", c, n.Week)
	case KindCampaignDigest:
		return fmt.Sprintf("Weekly digest: %s, week %d — %d MQLs of %d", c, n.Week, n.Period.MQLs, n.Period.Target)
	case KindCampaignMailFailed:
		return fmt.Sprintf("Not delivered: a message about %s", c)
	case KindCampaignRetro:
		return fmt.Sprintf("Retrospective: %s — %d MQLs, %s converted", c, n.ToDate.MQLs, domain.Pct(n.ToDate.ConversionRate))
	}
	return "Baton — " + c
}

// ComposeCampaign renders a campaign notice into a message.
func ComposeCampaign(n CampaignNotice, from string) (store.Message, error) {
	var txt, html bytes.Buffer
	if err := textT.ExecuteTemplate(&txt, n.Kind+".txt", n); err != nil {
		return store.Message{}, fmt.Errorf("compose %s: %w", n.Kind, err)
	}
	if err := htmlT.ExecuteTemplate(&html, n.Kind+".html", n); err != nil {
		return store.Message{}, fmt.Errorf("compose %s: %w", n.Kind, err)
	}
	replyTo := ""
	if n.Kind == KindCampaignReview || n.Kind == KindCampaignReminder {
		replyTo = n.Campaign.Owner.Email // a reviewer's question goes to the marketer
	}
	return store.Message{
		Key: n.Key, Kind: n.Kind, To: n.To.Email, ToName: HeaderText(n.To.Name), From: from, ReplyTo: HeaderText(replyTo),
		Subject: HeaderText(n.Subject()), Text: strings.TrimSpace(txt.String()) + "\n", HTML: html.String(), Links: n.Links,
	}, nil
}

// StatsBlock is a period's numbers with the helpers the shared stats
// template uses (templates/campaign-parts.*).
type StatsBlock struct {
	domain.CampaignStats
	Title string
}

// Pct formats a fraction as a percentage.
func (StatsBlock) Pct(f float64) string { return domain.Pct(f) }

// Dur formats a duration for people.
func (StatsBlock) Dur(d time.Duration) string { return domain.HumanDuration(d) }

// Plural is "1 lead", "2 leads".
func (StatsBlock) Plural(n int, one, many string) string { return domain.Plural(n, one, many) }

// Lines are the shared metrics in words (domain.Metrics.Lines).
func (b StatsBlock) Lines() []domain.MetricLine { return b.Metrics.Lines() }

// BestSource and the rest pick the best and worst source and segment.
func (b StatsBlock) BestSource() *domain.GroupConversion  { return domain.Best(b.Sources) }
func (b StatsBlock) WorstSource() *domain.GroupConversion { return domain.Worst(b.Sources) }
func (b StatsBlock) BestSegment() *domain.GroupConversion { return domain.Best(b.Segments) }
func (b StatsBlock) WorstSegment() *domain.GroupConversion {
	return domain.Worst(b.Segments)
}

// PeriodBlock and ToDateBlock feed the shared stats template.
func (n CampaignNotice) PeriodBlock() StatsBlock {
	return StatsBlock{n.Period, fmt.Sprintf("Week %d (%s – %s)", n.Week, n.Local(n.Period.From), n.Local(n.Period.To))}
}

// ToDateBlock is the campaign since it went live.
func (n CampaignNotice) ToDateBlock() StatsBlock {
	return StatsBlock{n.ToDate, fmt.Sprintf("Campaign to date (since %s)", n.Local(n.ToDate.From))}
}
