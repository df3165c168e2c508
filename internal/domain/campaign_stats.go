package domain

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// StatEvent is one lead event as the campaign numbers need it: the row of
// lead_events with the lead's segment (its country) joined in.
type StatEvent struct {
	LeadID  string
	Kind    string
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
	// From MQL to the first logged contact, over cohort leads contacted by To.
	Contacted                           int
	FirstContactMedian, FirstContactP90 time.Duration
	Collateral                          []Count           // from contact events that name collateral
	Sources, Segments                   []GroupConversion // best first, by conversion rate then volume
}

// HasDecisions reports whether any cohort lead was accepted or rejected.
func (s CampaignStats) HasDecisions() bool { return s.Accepted+s.Rejected > 0 }

// Best and Worst return the first and last group, or nil when fewer than two
// groups exist (one group is neither best nor worst).
func Best(g []GroupConversion) *GroupConversion {
	if len(g) < 2 {
		return nil
	}
	return &g[0]
}

// Worst is the group with the lowest conversion.
func Worst(g []GroupConversion) *GroupConversion {
	if len(g) < 2 {
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

type leadFacts struct {
	mqlAt                           time.Time
	source, segment                 string
	accepted, acceptLate, converted bool
	declines, misses                int
	collateral                      []string
	firstContact, firstBreach       time.Time
	disqualified, recycled          string
	hasDisqualified, hasRecycled    bool
}

// AggregateCampaign computes the numbers of [from, to) from the events of
// every lead of the campaign up to `to` (events at or after `to` are ignored).
func AggregateCampaign(events []StatEvent, from, to time.Time, target int) CampaignStats {
	st := CampaignStats{From: from, To: to, Target: target}
	sorted := append([]StatEvent(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	facts := map[string]*leadFacts{}
	get := func(id string) *leadFacts {
		f := facts[id]
		if f == nil {
			f = &leadFacts{}
			facts[id] = f
		}
		return f
	}
	declines, disq, recyc, coll := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	type pendingDecline struct{ lead, reason string }
	var decl []pendingDecline
	for _, e := range sorted {
		if !e.At.Before(to) {
			continue
		}
		inPeriod := !e.At.Before(from)
		if (e.Kind == "captured" || e.Kind == "touch") && e.Credited && inPeriod {
			st.Responses++
			if e.Foreign {
				st.Returning++
			}
		}
		if e.Foreign {
			continue
		}
		f := get(e.LeadID)
		if e.Segment != "" {
			f.segment = e.Segment
		}
		switch e.Kind {
		case "captured":
			f.source = e.Data["source"]
			if !e.At.Before(from) {
				st.Captured++
			}
		case "mql":
			if f.mqlAt.IsZero() {
				f.mqlAt = e.At
			}
		case "accepted":
			if !f.accepted {
				f.accepted = true
				// A take-over carries no deadline: it is in time.
				by, err := time.Parse(time.RFC3339, e.Data["accept_by"])
				f.acceptLate = err == nil && e.At.After(by)
			}
		case "lapsed":
			f.misses++
		case "rejected":
			f.declines++
			decl = append(decl, pendingDecline{e.LeadID, e.Reason})
		case "contacted":
			if f.firstContact.IsZero() {
				f.firstContact = e.At
			}
			if c := e.Data["collateral"]; c != "" && !slices.Contains(f.collateral, c) {
				f.collateral = append(f.collateral, c)
			}
		case "breached":
			if f.firstContact.IsZero() { // a first-contact miss; later ones are cadence touches
				if f.firstBreach.IsZero() {
					f.firstBreach = e.At
				}
				f.misses++
			}
		case "converted":
			f.converted = true
		case "disqualified":
			f.hasDisqualified, f.disqualified = true, e.Reason
		case "recycled":
			f.hasRecycled, f.recycled = true, e.Reason
		}
	}
	inCohort := func(f *leadFacts) bool { return !f.mqlAt.IsZero() && !f.mqlAt.Before(from) }
	for _, d := range decl {
		if inCohort(facts[d.lead]) {
			declines[orDefault(d.reason, "unspecified")]++
		}
	}
	sources, segments := map[string]*GroupConversion{}, map[string]*GroupConversion{}
	var ttfc []time.Duration
	ids := make([]string, 0, len(facts))
	for id := range facts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := facts[id]
		if !inCohort(f) {
			continue
		}
		st.MQLs++
		switch {
		case f.accepted:
			st.Accepted++
		case f.declines > 0:
			st.Rejected++
		}
		if f.accepted && !f.acceptLate {
			st.SLAMet++
		}
		st.SLAMissed += f.misses
		for _, c := range f.collateral {
			coll[c]++
		}
		if !f.firstContact.IsZero() {
			st.Contacted++
			ttfc = append(ttfc, f.firstContact.Sub(f.mqlAt))
			if f.firstBreach.IsZero() || f.firstContact.Before(f.firstBreach) {
				st.SLAMet++
			}
		}
		if f.converted {
			st.Converted++
		}
		if f.hasDisqualified {
			disq[orDefault(f.disqualified, "unspecified")]++
		}
		if f.hasRecycled {
			recyc[orDefault(f.recycled, "unspecified")]++
		}
		for _, g := range []struct {
			m    map[string]*GroupConversion
			name string
		}{{sources, orDefault(f.source, "api")}, {segments, orDefault(f.segment, "unknown")}} {
			gc := g.m[g.name]
			if gc == nil {
				gc = &GroupConversion{Name: g.name}
				g.m[g.name] = gc
			}
			gc.MQLs++
			if f.converted {
				gc.Converted++
			}
		}
	}
	st.Collateral = counts(coll)
	st.Declines, st.Disqualified, st.Recycled = counts(declines), counts(disq), counts(recyc)
	st.AcceptanceRate = ratio(st.Accepted, st.Accepted+st.Rejected)
	st.ConversionRate = ratio(st.Converted, st.MQLs)
	st.SLACompliance = ratio(st.SLAMet, st.SLAMet+st.SLAMissed)
	st.FirstContactMedian, st.FirstContactP90 = Percentile(ttfc, 0.5), Percentile(ttfc, 0.9)
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
