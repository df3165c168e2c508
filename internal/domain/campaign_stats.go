package domain

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// StatEvent is one lead event as the campaign numbers need it: the row of
// lead_events with the lead's segment (its country) joined in.
type StatEvent struct {
	LeadID  string
	Kind    string
	Actor   string // "rep:ana", "manager:max", "system"
	Reason  string
	Data    map[string]string
	At      time.Time
	Segment string
	// Foreign: the lead belongs to another campaign; its event is here only
	// because it is a touch credited to this one.
	Foreign bool
	// Credited: a captured or touch event whose touch came from this campaign.
	Credited bool
}

// Count is a name and how often it occurred.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// GroupConversion is the conversion of one source or segment.
type GroupConversion struct {
	Name      string  `json:"name"`
	MQLs      int     `json:"mqls"`
	Converted int     `json:"converted"`
	Rate      float64 `json:"rate"`
}

// CampaignStats are the numbers of a campaign over a period, computed from
// the lead events. The cohort is the leads that became MQLs in [From, To);
// every outcome is what happened to that cohort by To, so a rate never
// exceeds 100% and both teams can recount it from lead_events.
type CampaignStats struct {
	From, To time.Time
	Captured int // leads first captured in the period (MQL or not)
	// Responses are the touches this campaign brought in the period: its own
	// leads' captures and later touches from it, and touches from it on
	// people who were already leads of another campaign (Returning). A
	// person who answers a second campaign stays one lead of the first, and
	// the second campaign gets the credit here.
	Responses, Returning int
	MQLs                 int
	Target               int // commitments.mqls_per_week (per period)
	// Acceptance: a cohort lead is accepted if any rep accepted it, rejected
	// if reps only declined it; undecided leads are not in the rate.
	Accepted, Rejected int
	AcceptanceRate     float64 // of decided leads; 0 when none decided
	Declines           []Count // every decline of a cohort lead, by reason
	Disqualified       []Count
	Recycled           []Count
	Converted          int
	ConversionRate     float64 // converted / MQLs
	// SLA deadlines of cohort leads: acceptances and first contacts in time
	// against lapses and breaches.
	SLAMet, SLAMissed int
	SLACompliance     float64
	// Time to first contact (from the acceptance), over cohort leads
	// contacted by To; time to accept (from the accepted offer) over
	// AcceptedTimed leads.
	Contacted                           int
	FirstContactMedian, FirstContactP90 time.Duration
	AcceptedTimed                       int
	AcceptMedian, AcceptP90             time.Duration
	// Metrics are the shared metrics (metrics.go) the fields above repeat.
	Metrics Metrics `json:"metrics"`
	// Notes are the reps' notes for marketing on declined leads (Kind
	// "declined") and disqualified ones ("disqualified").
	Notes             []RepNote         `json:"notes,omitempty"`
	Collateral        []Count           // from contact events that name collateral
	Sources, Segments []GroupConversion // best first, by conversion rate then volume
}

// RepNote is what a rep told marketing about a lead when declining or
// disqualifying it.
type RepNote struct {
	LeadID, Rep, Kind, Reason, Note string
	At                              time.Time
}

// HasDecisions reports whether any cohort lead was accepted or rejected.
func (s CampaignStats) HasDecisions() bool { return s.Accepted+s.Rejected > 0 }

// Best and Worst return the first and last group, or nil when fewer than two
// groups exist or all convert alike (nothing distinguishes them).
func Best(g []GroupConversion) *GroupConversion {
	if len(g) < 2 || g[0].Rate == g[len(g)-1].Rate {
		return nil
	}
	return &g[0]
}

// Worst is the group with the lowest conversion.
func Worst(g []GroupConversion) *GroupConversion {
	if len(g) < 2 || g[0].Rate == g[len(g)-1].Rate {
		return nil
	}
	return &g[len(g)-1]
}

// Percentile is the nearest-rank percentile (p in (0,1]) of durations.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}

// AggregateCampaign computes the numbers of [from, to) from the events of
// every lead of the campaign up to `to` (events at or after `to` are ignored).
// The shared metrics come from MetricsOf (metrics.go), so every surface that
// shows CampaignStats shows the same numbers.
func AggregateCampaign(events []StatEvent, from, to time.Time, target int) CampaignStats {
	st := CampaignStats{From: from, To: to, Target: target}
	all := LeadRecords(events, to)
	for _, l := range all {
		if !l.CapturedAt.IsZero() && !l.CapturedAt.Before(from) {
			st.Captured++
		}
	}
	// Touches this campaign brought in the period, its own leads' and those
	// of people already leads of another campaign (credited here, counted
	// nowhere else: LeadRecords skips another campaign's leads).
	for _, e := range events {
		if (e.Kind == "captured" || e.Kind == "touch") && e.Credited && !e.At.Before(from) && e.At.Before(to) {
			st.Responses++
			if e.Foreign {
				st.Returning++
			}
		}
	}
	cohort := Cohort(all, from, to)
	m := MetricsOf(cohort)
	st.Metrics = m
	declines, disq, recyc, coll := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	sources, segments := map[string]*GroupConversion{}, map[string]*GroupConversion{}
	for _, f := range cohort {
		st.MQLs++
		for _, d := range f.Declines {
			declines[orDefault(d.Reason, "unspecified")]++
			if d.Note != "" {
				st.Notes = append(st.Notes, RepNote{LeadID: f.ID, Rep: d.Rep, Kind: "declined", Reason: d.Reason, Note: d.Note, At: d.At})
			}
		}
		for _, c := range f.Collateral {
			coll[c]++
		}
		if f.Contacted() {
			st.Contacted++
		}
		if f.HasDisqualified {
			disq[orDefault(f.Disqualified, "unspecified")]++
			if f.DisqualifyNote != "" {
				st.Notes = append(st.Notes, RepNote{LeadID: f.ID, Rep: f.DisqualifiedBy, Kind: "disqualified", Reason: f.Disqualified,
					Note: f.DisqualifyNote, At: f.DisqualifiedAt})
			}
		}
		if f.HasRecycled {
			recyc[orDefault(f.Recycled, "unspecified")]++
		}
		for _, g := range []struct {
			m    map[string]*GroupConversion
			name string
		}{{sources, orDefault(f.Source, "api")}, {segments, orDefault(f.Segment, "unknown")}} {
			gc := g.m[g.name]
			if gc == nil {
				gc = &GroupConversion{Name: g.name}
				g.m[g.name] = gc
			}
			gc.MQLs++
			if f.Converted {
				gc.Converted++
			}
		}
	}
	st.Accepted, st.Rejected = m.Acceptance.N, m.Acceptance.Of-m.Acceptance.N
	st.Converted = m.Conversion.N
	st.SLAMet, st.SLAMissed = m.SLA.N, m.SLA.Of-m.SLA.N
	st.Collateral = counts(coll)
	st.Declines, st.Disqualified, st.Recycled = counts(declines), counts(disq), counts(recyc)
	st.AcceptanceRate = m.Acceptance.Rate()
	st.ConversionRate = m.Conversion.Rate()
	st.SLACompliance = m.SLA.Rate()
	st.FirstContactMedian, st.FirstContactP90 = m.TimeToFirstContact.Median, m.TimeToFirstContact.P90
	st.AcceptMedian, st.AcceptP90, st.AcceptedTimed = m.TimeToAccept.Median, m.TimeToAccept.P90, m.TimeToAccept.N
	st.Sources, st.Segments = groups(sources), groups(segments)
	return st
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sortCounts(out)
	return out
}

func sortCounts(c []Count) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].N != c[j].N {
			return c[i].N > c[j].N
		}
		return c[i].Name < c[j].Name
	})
}

func groups(m map[string]*GroupConversion) []GroupConversion {
	out := make([]GroupConversion, 0, len(m))
	for _, g := range m {
		g.Rate = ratio(g.Converted, g.MQLs)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rate != out[j].Rate {
			return out[i].Rate > out[j].Rate
		}
		if out[i].MQLs != out[j].MQLs {
			return out[i].MQLs > out[j].MQLs
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Shortfall compares the period's numbers with marketing's commitments and
// returns one line per commitment missed (nil when all are met). The
// acceptance rate is judged only when some cohort lead was decided.
func Shortfall(c Commitments, s CampaignStats) []string {
	var out []string
	if c.MQLsPerWeek > 0 && s.MQLs < c.MQLsPerWeek {
		out = append(out, fmt.Sprintf("MQL volume %d is below the commitment of %d", s.MQLs, c.MQLsPerWeek))
	}
	if c.MinAcceptanceRate > 0 && s.HasDecisions() && s.AcceptanceRate < c.MinAcceptanceRate {
		out = append(out, fmt.Sprintf("acceptance rate %s (%d of %d decided) is below the commitment of %s",
			Pct(s.AcceptanceRate), s.Accepted, s.Accepted+s.Rejected, Pct(c.MinAcceptanceRate)))
	}
	return out
}

// Pct formats a fraction as a whole percentage.
func Pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
