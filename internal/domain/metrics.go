package domain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// The shared metrics, defined once. Every surface (the starter CLI, the web
// pages, the weekly digest and the retrospective) computes them with the
// functions in this file from the same lead events, so both teams read one
// number per metric. A number always says what it counts: leads or deadlines.

// Metric keys.
const (
	MetricAcceptance         = "acceptance"
	MetricSLA                = "sla"
	MetricTimeToAccept       = "time-to-accept"
	MetricTimeToFirstContact = "time-to-first-contact"
	MetricConversion         = "conversion"
)

// MetricDef is a metric's name, what it counts and its definition in words,
// as the pages and docs show it.
type MetricDef struct {
	Key, Name, Counts, Definition string
}

// MetricDefs lists the shared metrics in the order the pages show them.
var MetricDefs = []MetricDef{
	{MetricAcceptance, "Acceptance", "leads",
		"Of the MQLs sales decided on, the share some rep accepted. A lead only declined is rejected; a lead still waiting (or whose offers only lapsed) is undecided and not in the rate, so sales' silence does not lower marketing's lead quality."},
	{MetricSLA, "SLA compliance", "deadlines",
		"Of the sales deadlines that came due, the share kept: every offer's acceptance window (kept by an acceptance in time, missed when it lapsed) and every lead's first-contact window (kept by a contact before the deadline, missed when it breached). Follow-up cadence touches are not in it."},
	{MetricTimeToAccept, "Time to accept", "leads",
		"From the offer a rep accepted to the acceptance, wall-clock; median and p90 over accepted leads. Take-overs by a manager are not in it."},
	{MetricTimeToFirstContact, "Time to first contact", "leads",
		"From the acceptance to the first logged contact, wall-clock; median and p90 over contacted leads."},
	{MetricConversion, "Conversion", "leads",
		"Of the MQLs, the share converted (sales-qualified)."},
}

// Def returns the definition of a metric by key.
func Def(key string) MetricDef {
	for _, d := range MetricDefs {
		if d.Key == key {
			return d
		}
	}
	return MetricDef{Key: key, Name: key}
}

// CohortRule says which leads a period's numbers are about.
const CohortRule = "Leads counted are those that became MQLs in the period; what sales did with them is counted up to its end."

// Ratio is n of a whole: a rate that always shows what it was computed from.
type Ratio struct {
	N  int `json:"n"`
	Of int `json:"of"`
}

// Known reports whether there is anything to divide.
func (r Ratio) Known() bool { return r.Of > 0 }

// Rate is N/Of, 0 when Of is 0.
func (r Ratio) Rate() float64 { return ratio(r.N, r.Of) }

// Pct is the rate as a whole percentage, or "—" when nothing counts.
func (r Ratio) Pct() string {
	if !r.Known() {
		return "—"
	}
	return Pct(r.Rate())
}

// Durations is the median and p90 of a set of durations.
type Durations struct {
	N      int           `json:"n"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
}

// Of summarises durations (nearest-rank percentiles).
func DurationsOf(ds []time.Duration) Durations {
	return Durations{N: len(ds), Median: Percentile(ds, 0.5), P90: Percentile(ds, 0.9)}
}

// HumanDuration formats a duration for people: "45s", "12m", "1h 30m",
// "2d 4h"; "—" for none.
func HumanDuration(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	}
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

// Plural is "1 lead", "2 leads".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// OfferRecord is one offer of a lead to a rep.
type OfferRecord struct {
	Rep      string
	At       time.Time
	AcceptBy time.Time
}

// DeclineRecord is one rep's decline of a lead, with the reason and note.
type DeclineRecord struct {
	Rep, Reason, Note string
	At                time.Time
}

// Deadline is one sales deadline that came due, kept or missed, with the
// rep it was waiting on.
type Deadline struct {
	Phase string // "accept" or "contact"
	Rep   string
	Met   bool
}

// LeadRecord is what one lead's events say for the shared metrics.
type LeadRecord struct {
	ID              string
	CapturedAt      time.Time
	MQLAt           time.Time
	Source, Segment string
	Offers          []OfferRecord
	Declines        []DeclineRecord
	Lapses          []string // the rep of each lapsed offer
	AwayFrom        []string // reps the directory took the lead from while they were away
	AcceptedAt      time.Time
	AcceptedBy      string // person id of whoever accepted
	TakenOver       bool   // a manager took the lead over (no offer to them)
	AcceptedLate    bool   // accepted after the offer's deadline
	FirstContactAt  time.Time
	FirstContactBy  string
	ContactBreachAt time.Time // the first-contact deadline passed with no contact
	ContactBreachOf string    // the rep who held it then
	Converted       bool
	Disqualified    string
	Recycled        string
	HasDisqualified bool
	HasRecycled     bool
	// DisqualifyNote is the rep's note for marketing with the disqualification.
	DisqualifyNote string
	DisqualifiedBy string
	DisqualifiedAt time.Time
	Collateral     []string
	// Skips are why routing passed reps over for the lead (off shift, at
	// cap, away), once per rep and attempt; Waited when nobody could take it.
	Skips []SkipRecord
}

// SkipRecord is one rep routing passed over for a lead, and why.
type SkipRecord struct {
	Rep, Reason string
	Waited      bool
}

// IsMQL reports whether the lead became an MQL.
func (l LeadRecord) IsMQL() bool { return !l.MQLAt.IsZero() }

// Accepted reports whether some rep (or manager) accepted the lead.
func (l LeadRecord) Accepted() bool { return !l.AcceptedAt.IsZero() }

// Rejected reports whether the lead was only declined: decided, not accepted.
func (l LeadRecord) Rejected() bool { return !l.Accepted() && len(l.Declines) > 0 }

// Contacted reports whether a first contact was logged.
func (l LeadRecord) Contacted() bool { return !l.FirstContactAt.IsZero() }

// Deadlines are the sales deadlines of the lead that came due (see the SLA
// compliance definition).
func (l LeadRecord) Deadlines() []Deadline {
	var out []Deadline
	if l.Accepted() && !l.AcceptedLate {
		out = append(out, Deadline{"accept", l.AcceptedBy, true})
	}
	for _, rep := range l.Lapses {
		out = append(out, Deadline{"accept", rep, false})
	}
	if !l.ContactBreachAt.IsZero() {
		out = append(out, Deadline{"contact", l.ContactBreachOf, false})
	} else if l.Contacted() {
		out = append(out, Deadline{"contact", l.FirstContactBy, true})
	}
	return out
}

// AcceptWait is the time to accept of the lead, false when it is not in the
// metric (not accepted, a take-over, or no offer recorded).
func (l LeadRecord) AcceptWait() (time.Duration, bool) {
	if !l.Accepted() || l.TakenOver {
		return 0, false
	}
	for i := len(l.Offers) - 1; i >= 0; i-- {
		if o := l.Offers[i]; !o.At.After(l.AcceptedAt) && o.Rep == l.AcceptedBy {
			return l.AcceptedAt.Sub(o.At), true
		}
	}
	return 0, false
}

// ContactWait is the time to first contact, false when not contacted.
func (l LeadRecord) ContactWait() (time.Duration, bool) {
	if !l.Contacted() || !l.Accepted() || l.FirstContactAt.Before(l.AcceptedAt) {
		return 0, false
	}
	return l.FirstContactAt.Sub(l.AcceptedAt), true
}

// personOf turns an event actor "rep:ana" or "manager:max" into "ana".
func personOf(actor string) string {
	if _, id, ok := strings.Cut(actor, ":"); ok {
		return id
	}
	return actor
}

// LeadRecords folds lead events before `to` into one record per lead, by id.
func LeadRecords(events []StatEvent, to time.Time) []LeadRecord {
	sorted := append([]StatEvent(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	recs := map[string]*LeadRecord{}
	for _, e := range sorted {
		if !to.IsZero() && !e.At.Before(to) || e.Foreign { // another campaign's lead: only its credit counts here
			continue
		}
		l := recs[e.LeadID]
		if l == nil {
			l = &LeadRecord{ID: e.LeadID}
			recs[e.LeadID] = l
		}
		if e.Segment != "" {
			l.Segment = e.Segment
		}
		switch e.Kind {
		case "captured":
			if l.CapturedAt.IsZero() {
				l.CapturedAt = e.At
			}
			l.Source = e.Data["source"]
		case "mql":
			if l.MQLAt.IsZero() {
				l.MQLAt = e.At
			}
		case "offered":
			by, _ := time.Parse(time.RFC3339, e.Data["accept_by"])
			l.Offers = append(l.Offers, OfferRecord{Rep: e.Data["rep"], At: e.At, AcceptBy: by})
		case "accepted":
			if !l.Accepted() {
				l.AcceptedAt, l.AcceptedBy = e.At, personOf(e.Actor)
				l.TakenOver = strings.HasPrefix(e.Actor, "manager:")
				// A take-over carries no deadline: it is in time.
				by, err := time.Parse(time.RFC3339, e.Data["accept_by"])
				l.AcceptedLate = err == nil && e.At.After(by)
			}
		case "lapsed":
			l.Lapses = append(l.Lapses, e.Data["rep"])
		case "skipped": // from routing_skips: why routing passed a rep over
			l.Skips = append(l.Skips, SkipRecord{Rep: e.Data["rep"], Reason: e.Reason, Waited: e.Data["waited"] == "true"})
		case "reassigned":
			if e.Actor == "system:directory" && e.Data["from"] != "" {
				l.AwayFrom = append(l.AwayFrom, e.Data["from"])
			}
		case "rejected":
			l.Declines = append(l.Declines, DeclineRecord{Rep: personOf(e.Actor), Reason: e.Reason, Note: e.Data["note"], At: e.At})
		case "contacted":
			if !l.Contacted() {
				l.FirstContactAt, l.FirstContactBy = e.At, personOf(e.Actor)
			}
			if c := e.Data["collateral"]; c != "" && !slices.Contains(l.Collateral, c) {
				l.Collateral = append(l.Collateral, c)
			}
		case "breached":
			// The first-contact miss; later ones are cadence touches.
			first := e.Data["phase"] == "contact" || e.Data["phase"] == ""
			if first && !l.Contacted() && l.ContactBreachAt.IsZero() {
				l.ContactBreachAt, l.ContactBreachOf = e.At, e.Data["rep"]
			}
		case "converted":
			l.Converted = true
		case "disqualified":
			l.HasDisqualified, l.Disqualified = true, e.Reason
			l.DisqualifyNote, l.DisqualifiedBy, l.DisqualifiedAt = e.Data["note"], personOf(e.Actor), e.At
		case "recycled":
			l.HasRecycled, l.Recycled = true, e.Reason
		}
	}
	out := make([]LeadRecord, 0, len(recs))
	for _, l := range recs {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Cohort keeps the leads that became MQLs in [from, to) (from zero: since
// the beginning).
func Cohort(ls []LeadRecord, from, to time.Time) []LeadRecord {
	var out []LeadRecord
	for _, l := range ls {
		if l.IsMQL() && !l.MQLAt.Before(from) && (to.IsZero() || l.MQLAt.Before(to)) {
			out = append(out, l)
		}
	}
	return out
}

// Acceptance is the acceptance metric over a cohort: accepted leads of the
// decided ones.
func Acceptance(ls []LeadRecord) Ratio {
	var r Ratio
	for _, l := range ls {
		switch {
		case l.Accepted():
			r.N++
			r.Of++
		case l.Rejected():
			r.Of++
		}
	}
	return r
}

// SLACompliance is the SLA metric: deadlines kept of the deadlines due.
func SLACompliance(ls []LeadRecord) Ratio {
	var r Ratio
	for _, l := range ls {
		for _, d := range l.Deadlines() {
			r.Of++
			if d.Met {
				r.N++
			}
		}
	}
	return r
}

// TimeToAccept is the time-to-accept metric over a cohort.
func TimeToAccept(ls []LeadRecord) Durations {
	var ds []time.Duration
	for _, l := range ls {
		if d, ok := l.AcceptWait(); ok {
			ds = append(ds, d)
		}
	}
	return DurationsOf(ds)
}

// TimeToFirstContact is the time-to-first-contact metric over a cohort.
func TimeToFirstContact(ls []LeadRecord) Durations {
	var ds []time.Duration
	for _, l := range ls {
		if d, ok := l.ContactWait(); ok {
			ds = append(ds, d)
		}
	}
	return DurationsOf(ds)
}

// Conversion is the conversion metric: converted leads of the MQLs.
func Conversion(ls []LeadRecord) Ratio {
	var r Ratio
	for _, l := range ls {
		if l.IsMQL() {
			r.Of++
			if l.Converted {
				r.N++
			}
		}
	}
	return r
}

// Metrics are the five shared metrics of one cohort.
type Metrics struct {
	Acceptance         Ratio     `json:"acceptance"`
	SLA                Ratio     `json:"sla"`
	TimeToAccept       Durations `json:"time_to_accept"`
	TimeToFirstContact Durations `json:"time_to_first_contact"`
	Conversion         Ratio     `json:"conversion"`
}

// MetricsOf computes every shared metric of a cohort.
func MetricsOf(ls []LeadRecord) Metrics {
	return Metrics{Acceptance: Acceptance(ls), SLA: SLACompliance(ls), TimeToAccept: TimeToAccept(ls),
		TimeToFirstContact: TimeToFirstContact(ls), Conversion: Conversion(ls)}
}

// RepMetrics is one rep's side of the shared metrics over a cohort, and why
// the rep missed: lapsed offers (missed acceptances) against breached first
// contacts, and the reasons of the rep's declines. The lead ids let a page
// link each number to its leads.
type RepMetrics struct {
	Rep                      string
	SLA                      Ratio
	MissedAccept             []string // lead ids
	MissedContact            []string
	TimeToAccept             Durations
	TimeToFirstContact       Durations
	Declines                 []Count
	Away                     int // leads handed on because the rep was away
	Offers, Accepted         int
	AcceptedLeads, Contacted []string
	// Causes are why the rep missed leads, as recorded (MissCauses): off
	// shift, at cap, away, and each decline reason, each with its leads.
	Causes []Cause
}

// The recorded causes of a rep's misses (routing's skip reasons, and
// declines by reason), in the order pages show them.
const (
	CauseOffShift = "off-shift"
	CauseAtCap    = "at-cap"
	CauseAway     = "away"
	CauseDeclined = "declined:" // + the reason
)

// IsCause reports whether a routing skip reason is one the scoreboard
// counts as a cause (not "inactive" nor "already had this lead").
func IsCause(skipReason string) bool {
	return skipReason == SkipOffShift || skipReason == SkipAtCap || skipReason == SkipAway
}

// Cause is one recorded cause of a rep's misses and the leads it touched
// (each lead once).
type Cause struct {
	Key   string   `json:"key"`
	Label string   `json:"label"`
	Leads []string `json:"leads"`
}

// MissCauses is the one definition of a rep's recorded causes over a
// cohort: the leads routing passed the rep over for because they were off
// shift, at their cap or away (at routing, or handed on by the directory
// while away), and the leads the rep declined, by reason. A lead counts
// once per cause.
func MissCauses(ls []LeadRecord, rep string) []Cause {
	sets := map[string][]string{}
	add := func(key, lead string) {
		if !slices.Contains(sets[key], lead) {
			sets[key] = append(sets[key], lead)
		}
	}
	for _, l := range ls {
		for _, sk := range l.Skips {
			if sk.Rep != rep {
				continue
			}
			switch sk.Reason {
			case SkipOffShift:
				add(CauseOffShift, l.ID)
			case SkipAtCap:
				add(CauseAtCap, l.ID)
			case SkipAway:
				add(CauseAway, l.ID)
			}
		}
		if slices.Contains(l.AwayFrom, rep) {
			add(CauseAway, l.ID)
		}
		for _, d := range l.Declines {
			if d.Rep == rep {
				add(CauseDeclined+orDefault(d.Reason, "unspecified"), l.ID)
			}
		}
	}
	var out []Cause
	for _, k := range []string{CauseOffShift, CauseAtCap, CauseAway} {
		if len(sets[k]) > 0 {
			out = append(out, Cause{Key: k, Label: causeLabels[k], Leads: sets[k]})
		}
	}
	var declined []string
	for k := range sets {
		if strings.HasPrefix(k, CauseDeclined) {
			declined = append(declined, k)
		}
	}
	sort.Strings(declined)
	for _, k := range declined {
		out = append(out, Cause{Key: k, Label: "declined: " + ReasonLabel(strings.TrimPrefix(k, CauseDeclined)), Leads: sets[k]})
	}
	return out
}

var causeLabels = map[string]string{CauseOffShift: "off shift", CauseAtCap: "at cap", CauseAway: "away"}

// ByRep computes each rep's metrics over a cohort, by rep id. Every deadline
// counts for the rep it was waiting on, so the reps' deadlines add up to the
// cohort's SLA compliance.
func ByRep(ls []LeadRecord) map[string]*RepMetrics {
	out := map[string]*RepMetrics{}
	get := func(id string) *RepMetrics {
		r := out[id]
		if r == nil {
			r = &RepMetrics{Rep: id}
			out[id] = r
		}
		return r
	}
	tta, ttfc := map[string][]time.Duration{}, map[string][]time.Duration{}
	declines := map[string]map[string]int{}
	for _, l := range ls {
		for _, o := range l.Offers {
			get(o.Rep).Offers++
		}
		for _, d := range l.Deadlines() {
			r := get(d.Rep)
			r.SLA.Of++
			switch {
			case d.Met:
				r.SLA.N++
			case d.Phase == "accept":
				r.MissedAccept = append(r.MissedAccept, l.ID)
			default:
				r.MissedContact = append(r.MissedContact, l.ID)
			}
		}
		if l.Accepted() {
			r := get(l.AcceptedBy)
			r.Accepted++
			r.AcceptedLeads = append(r.AcceptedLeads, l.ID)
		}
		if d, ok := l.AcceptWait(); ok {
			tta[l.AcceptedBy] = append(tta[l.AcceptedBy], d)
		}
		if d, ok := l.ContactWait(); ok {
			ttfc[l.FirstContactBy] = append(ttfc[l.FirstContactBy], d)
			get(l.FirstContactBy).Contacted = append(get(l.FirstContactBy).Contacted, l.ID)
		}
		for _, rep := range l.AwayFrom {
			get(rep).Away++
		}
		for _, d := range l.Declines {
			if declines[d.Rep] == nil {
				declines[d.Rep] = map[string]int{}
			}
			declines[d.Rep][orDefault(d.Reason, "unspecified")]++
		}
	}
	for id, r := range out {
		r.TimeToAccept, r.TimeToFirstContact = DurationsOf(tta[id]), DurationsOf(ttfc[id])
	}
	for id, m := range declines {
		get(id).Declines = counts(m)
	}
	for _, l := range ls {
		for _, sk := range l.Skips {
			get(sk.Rep) // a rep only ever skipped still has a row
		}
	}
	for id, r := range out {
		r.Causes = MissCauses(ls, id)
	}
	return out
}

// Volume judges an MQL-volume commitment pro rata: perPeriod MQLs are due
// per period, so after `live` of a campaign's life, perPeriod×live/period are
// due. A campaign live for minutes owes a sliver of its weekly target, not
// all of it.
type Volume struct {
	MQLs      int
	PerPeriod int
	Period    time.Duration
	Live      time.Duration
}

// Due is the MQL volume due so far, pro rata.
func (v Volume) Due() float64 {
	if v.Period <= 0 || v.Live <= 0 {
		return 0
	}
	return float64(v.PerPeriod) * float64(v.Live) / float64(v.Period)
}

// Met reports whether the MQLs reach what is due so far.
func (v Volume) Met() bool { return float64(v.MQLs) >= v.Due() }

// String says the verdict and how it was judged.
func (v Volume) String() string {
	return fmt.Sprintf("%s of %.1f due pro rata (%d per %s, live %s)", Plural(v.MQLs, "MQL", "MQLs"), v.Due(),
		v.PerPeriod, HumanDuration(v.Period), HumanDuration(v.Live))
}

// MetricLine is one shared metric as every surface prints it: the name, the
// value, and what it counts.
type MetricLine struct {
	Key, Name, Value, Detail string
}

// Lines are the five metrics in words, in MetricDefs order.
func (m Metrics) Lines() []MetricLine {
	ratio := func(key string, r Ratio, of string) MetricLine {
		d := Def(key)
		if !r.Known() {
			return MetricLine{key, d.Name, "—", "no " + of + " yet"}
		}
		return MetricLine{key, d.Name, r.Pct(), fmt.Sprintf("%d of %s", r.N, Plural(r.Of, strings.TrimSuffix(of, "s"), of))}
	}
	durs := func(key string, ds Durations, of string) MetricLine {
		d := Def(key)
		if ds.N == 0 {
			return MetricLine{key, d.Name, "—", "no " + of + " yet"}
		}
		return MetricLine{key, d.Name, "median " + HumanDuration(ds.Median) + ", p90 " + HumanDuration(ds.P90),
			"over " + Plural(ds.N, strings.TrimSuffix(of, "s"), of)}
	}
	return []MetricLine{
		ratio(MetricAcceptance, m.Acceptance, "decided leads"),
		ratio(MetricSLA, m.SLA, "deadlines"),
		durs(MetricTimeToAccept, m.TimeToAccept, "accepted leads"),
		durs(MetricTimeToFirstContact, m.TimeToFirstContact, "contacted leads"),
		ratio(MetricConversion, m.Conversion, "MQLs"),
	}
}

// String is "Acceptance: 75% (3 of 4 decided leads)".
func (l MetricLine) String() string { return l.Name + ": " + l.Value + " (" + l.Detail + ")" }
