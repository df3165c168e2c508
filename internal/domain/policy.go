package domain

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
	"go.yaml.in/yaml/v3"
)

// Policy is an SLA policy: the agreement between the teams, in numbers.
// Campaigns name one; a lead keeps the version it started with.
type Policy struct {
	Name               string   `yaml:"name" json:"name"`
	AcceptWithin       Duration `yaml:"accept_within" json:"accept_within"`               // business time
	FirstContactWithin Duration `yaml:"first_contact_within" json:"first_contact_within"` // business time from acceptance
	// Reminders are points in each window, as fractions of it, at which the
	// holder is reminded (0.5 = half-way).
	Reminders []float64 `yaml:"reminders,omitempty" json:"reminders,omitempty"`
	OnMiss    OnMiss    `yaml:"on_miss" json:"on_miss"`
	// Calendar says whose business hours count: "rep" (default: the policy's
	// hours in the rep's own time zone) or "team" (the hours as written,
	// in business_hours.time_zone).
	Calendar      string        `yaml:"calendar,omitempty" json:"calendar,omitempty"`
	BusinessHours bizclock.Spec `yaml:"business_hours" json:"business_hours"`
	// SnoozeMax is how far a prospect's "call me Monday" may push the
	// first-contact deadline; zero allows no snooze.
	SnoozeMax Duration `yaml:"snooze_max,omitempty" json:"snooze_max,omitempty"`
	// Cadence is the follow-up after first contact: Touches touches in all
	// (the first contact counts as the first), spread evenly over Within of
	// business time, each with its own deadline. A lead still open when the
	// last deadline passes is recycled with the reason "no-response".
	Cadence Cadence `yaml:"cadence,omitempty" json:"cadence,omitempty"`
	// NobodyEligible is what happens when no rep can take a lead: "escalate"
	// (the default: tell the manager now and retry routing every
	// RoutingRetry until someone can, or the manager moves it) or "manager"
	// (offer it to the team's manager).
	NobodyEligible string   `yaml:"nobody_eligible,omitempty" json:"nobody_eligible,omitempty"`
	RoutingRetry   Duration `yaml:"routing_retry,omitempty" json:"routing_retry,omitempty"`
	// OutOfOffice is what a clock waiting on a rep who goes away does:
	// "reassign" (the default; an accepted lead's clock pauses instead) or
	// "pause" (the deadline moves by the business time the rep is away).
	OutOfOffice string `yaml:"out_of_office,omitempty" json:"out_of_office,omitempty"`
	// RecycleCooldown is how long a recycled lead rests before it returns to
	// nurture (wall time); zero keeps recycled leads closed.
	RecycleCooldown Duration `yaml:"recycle_cooldown,omitempty" json:"recycle_cooldown,omitempty"`
	// LeaderAlert tells the sales leader when one rep misses repeatedly.
	LeaderAlert LeaderAlert `yaml:"leader_alert,omitempty" json:"leader_alert,omitempty"`
}

// Cadence is K touches within a business-time span.
type Cadence struct {
	Touches int      `yaml:"touches" json:"touches"`
	Within  Duration `yaml:"within" json:"within"` // business time, e.g. 24h = three 8-hour days
}

// LeaderAlert: Misses missed deadlines by one rep within Within alert the
// sales leader. Zero Misses turns it off.
type LeaderAlert struct {
	Misses int      `yaml:"misses" json:"misses"`
	Within Duration `yaml:"within" json:"within"`
}

// OnMiss is what a missed deadline does.
type OnMiss struct {
	Reassign int  `yaml:"reassign" json:"reassign"` // at most this many reassignments per lead
	Escalate bool `yaml:"escalate" json:"escalate"` // escalate one level on a miss that is not reassigned
}

// Calendars a policy may count on.
const (
	CalendarRep  = "rep"
	CalendarTeam = "team"
)

// What to do when nobody is eligible.
const (
	NobodyEscalate = "escalate"
	NobodyManager  = "manager"
)

// What a clock does when its rep goes out of office.
const (
	AwayReassign = "reassign"
	AwayPause    = "pause"
)

// DefaultRoutingRetry is how often routing is retried for an unroutable lead.
const DefaultRoutingRetry = 15 * time.Minute

// MaxReassign bounds on_miss.reassign.
const MaxReassign = 10

// PolicyFile is a YAML file of policies.
type PolicyFile struct {
	Policies []Policy `yaml:"policies"`
}

// ParsePolicies decodes and validates a policy file.
func ParsePolicies(data []byte) ([]Policy, error) {
	var f PolicyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, parseErr(err)
	}
	var fe FieldErrors
	if len(f.Policies) == 0 {
		fe.Add("policies", "at least one policy is required")
	}
	seen := map[string]bool{}
	for i := range f.Policies {
		p := &f.Policies[i]
		path := fmt.Sprintf("policies[%d]", i)
		if seen[p.Name] {
			fe.Add(path+".name", "policy %q appears twice", p.Name)
		}
		seen[p.Name] = true
		for _, e := range p.validate() {
			fe.Add(path+"."+e.Field, "%s", e.Detail)
		}
	}
	return f.Policies, fe.Err()
}

// Validate names every bad field of one policy.
func (p *Policy) Validate() error { return p.validate().Err() }

func (p *Policy) validate() FieldErrors {
	var fe FieldErrors
	if !ValidSlug(p.Name) {
		fe.Add("name", "%q is not a policy name (lower-case letters, digits and dashes)", p.Name)
	}
	window := func(field string, d Duration, required bool) {
		switch {
		case d == 0 && required:
			fe.Add(field, "is required, e.g. 4h")
		case d < 0:
			fe.Add(field, "must not be negative")
		case d > 0 && time.Duration(d) < time.Second:
			fe.Add(field, "must be at least 1s")
		case time.Duration(d) > MaxAcceptWindow:
			fe.Add(field, "must be at most %s", MaxAcceptWindow)
		}
	}
	window("accept_within", p.AcceptWithin, true)
	window("first_contact_within", p.FirstContactWithin, false)
	for i, r := range p.Reminders {
		if r <= 0 || r >= 1 {
			fe.Add(fmt.Sprintf("reminders[%d]", i), "%v is not a fraction between 0 and 1 (exclusive)", r)
		} else if i > 0 && r <= p.Reminders[i-1] {
			fe.Add(fmt.Sprintf("reminders[%d]", i), "%v must be greater than the reminder before it", r)
		}
	}
	if p.OnMiss.Reassign < 0 || p.OnMiss.Reassign > MaxReassign {
		fe.Add("on_miss.reassign", "%d is outside 0..%d", p.OnMiss.Reassign, MaxReassign)
	}
	if p.SnoozeMax < 0 || time.Duration(p.SnoozeMax) > 90*24*time.Hour {
		fe.Add("snooze_max", "must be between 0 and 2160h (90 days)")
	}
	switch p.NobodyEligible {
	case "", NobodyEscalate, NobodyManager:
	default:
		fe.Add("nobody_eligible", "%q is neither \"escalate\" nor \"manager\"", p.NobodyEligible)
	}
	if p.RoutingRetry != 0 && (p.RoutingRetry < Duration(time.Second) || time.Duration(p.RoutingRetry) > 24*time.Hour) {
		fe.Add("routing_retry", "must be between 1s and 24h")
	}
	switch p.OutOfOffice {
	case "", AwayReassign, AwayPause:
	default:
		fe.Add("out_of_office", "%q is neither \"reassign\" nor \"pause\"", p.OutOfOffice)
	}
	if p.RecycleCooldown < 0 || time.Duration(p.RecycleCooldown) > 366*24*time.Hour {
		fe.Add("recycle_cooldown", "must be between 0 and 8784h (366 days)")
	}
	if p.Cadence.Touches != 0 && (p.Cadence.Touches < 2 || p.Cadence.Touches > 20) {
		fe.Add("cadence.touches", "%d is outside 2..20 (or 0 for no cadence)", p.Cadence.Touches)
	}
	if p.Cadence.Touches >= 2 && (p.Cadence.Within < Duration(time.Second) || time.Duration(p.Cadence.Within) > MaxAcceptWindow) {
		fe.Add("cadence.within", "must be between 1s and %s when touches is set", MaxAcceptWindow)
	}
	if p.LeaderAlert.Misses < 0 || p.LeaderAlert.Misses > 100 {
		fe.Add("leader_alert.misses", "%d is outside 0..100", p.LeaderAlert.Misses)
	}
	if p.LeaderAlert.Misses > 0 && (p.LeaderAlert.Within < Duration(time.Second) || time.Duration(p.LeaderAlert.Within) > 366*24*time.Hour) {
		fe.Add("leader_alert.within", "must be between 1s and 8784h when misses is set")
	}
	switch p.Calendar {
	case "":
		p.Calendar = CalendarRep
	case CalendarRep, CalendarTeam:
	default:
		fe.Add("calendar", "%q is neither \"rep\" nor \"team\"", p.Calendar)
	}
	if len(p.BusinessHours.Hours) == 0 && len(p.BusinessHours.Holidays) == 0 && p.BusinessHours.TimeZone == "" {
		// No hours at all: the clock runs around the clock.
		return fe
	}
	spec := p.BusinessHours
	if p.Calendar == CalendarRep && spec.TimeZone == "" {
		spec.TimeZone = "UTC" // checked with each rep's own zone when used
	}
	if p.Calendar == CalendarTeam && spec.TimeZone == "" {
		fe.Add("business_hours.time_zone", "is required when calendar is \"team\"")
		return fe
	}
	if _, err := bizclock.New(spec); err != nil {
		if bfe, ok := err.(bizclock.FieldErrors); ok {
			for _, e := range bfe {
				fe.Add("business_hours."+e.Field, "%s", e.Detail)
			}
		} else {
			fe.Add("business_hours", "%s", strings.TrimPrefix(err.Error(), "bizclock: "))
		}
	}
	return fe
}

// CalendarFor returns the calendar a clock waiting on a rep in repTZ counts.
func (p Policy) CalendarFor(repTZ string) (*bizclock.Calendar, error) {
	spec := p.BusinessHours
	if p.Calendar != CalendarTeam {
		spec.TimeZone = repTZ
		if spec.TimeZone == "" {
			spec.TimeZone = "UTC"
		}
	}
	if len(spec.Hours) == 0 && len(spec.Holidays) == 0 {
		return bizclock.AlwaysOpen(spec.TimeZone)
	}
	return bizclock.New(spec)
}

// DefaultPolicy is what a campaign without a policy gets: its acceptance
// window around the clock, one reassignment, then escalation.
func DefaultPolicy(accept time.Duration) Policy {
	return Policy{Name: "default", AcceptWithin: Duration(accept), OnMiss: OnMiss{Reassign: 1, Escalate: true}, Calendar: CalendarRep}
}

// Calendar is the business calendar an SLA clock counts on (internal/bizclock).
type Calendar = bizclock.Calendar

// ClockFor is CalendarFor, falling back to the clock around the clock in UTC
// when the zone or hours cannot make a calendar (the policy and the rep's
// zone were validated on import, so this is a guard, reported in err).
func (p Policy) ClockFor(repTZ string) (*Calendar, error) {
	cal, err := p.CalendarFor(repTZ)
	if err != nil {
		utc, _ := bizclock.AlwaysOpen("UTC")
		return utc, err
	}
	return cal, nil
}

// AddBusiness adds d of business time to t on cal; a calendar with no open
// time counts wall time rather than never.
func AddBusiness(cal *Calendar, t time.Time, d time.Duration) time.Time {
	r, err := cal.Add(t, d)
	if err != nil {
		return t.Add(d)
	}
	return r
}
