package bizclock

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // every worker computes the same deadline, whatever the host has
)

// Spec is a business calendar as written in YAML or JSON, for example:
//
//	time_zone: Europe/Berlin
//	hours:
//	  mon: ["09:00-12:00", "13:00-17:30"]
//	  tue: ["09:00-17:30"]
//	holidays:
//	  - {date: "2026-12-24", name: Christmas Eve, hours: ["09:00-12:00"]}
//	  - {date: "2026-12-25", name: Christmas Day}
//
// Times are local wall-clock times in TimeZone. New validates a Spec and
// turns it into a Calendar.
type Spec struct {
	// TimeZone is the IANA name of the zone the hours are in, such as
	// "Europe/Berlin" or "UTC". It is required; "Local" is rejected because
	// it means each host's own zone.
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	// Hours maps a weekday ("mon", "tue", "wed", "thu", "fri", "sat",
	// "sun") to its working intervals, each "HH:MM-HH:MM", start inclusive
	// and end exclusive. An end of "24:00" is the following midnight.
	// Intervals of a day may touch but not overlap. A weekday that is
	// missing or has no intervals is closed.
	Hours map[string][]string `yaml:"hours" json:"hours"`
	// Holidays close single dates, or replace their hours.
	Holidays []HolidaySpec `yaml:"holidays,omitempty" json:"holidays,omitempty"`
}

// HolidaySpec closes one local date for the whole day or, when Hours is not
// empty, gives the date its own intervals in place of its weekday's.
type HolidaySpec struct {
	// Date is the local date, "YYYY-MM-DD".
	Date string `yaml:"date" json:"date"`
	// Name is a label for people, such as "Christmas Eve"; it changes nothing.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Hours are the date's working intervals, written as in Spec.Hours;
	// empty means closed all day.
	Hours []string `yaml:"hours,omitempty" json:"hours,omitempty"`
}

// FieldError is one problem in a Spec: the field, named as in YAML (for
// example "hours.mon[1]" or "holidays[0].date"), and what is wrong with it.
type FieldError struct {
	Field  string
	Detail string
}

// FieldErrors is every problem New found in a Spec, in a fixed order:
// time_zone, unknown weekdays, hours from Monday to Sunday, then holidays.
type FieldErrors []FieldError

// Error joins all problems into one message.
func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Detail
	}
	return "invalid calendar: " + strings.Join(parts, "; ")
}

func (fe *FieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Calendar is a validated business calendar. Its methods take and return
// instants; working time is defined in local wall-clock time. A Calendar is
// immutable and safe for concurrent use. Make one with New or AlwaysOpen.
type Calendar struct {
	loc      *time.Location
	week     [7][]span        // by time.Weekday
	holidays map[int64][]span // by local date (days since 1970-01-01); empty = closed
}

// span is a working interval in minutes after local midnight, [start, end),
// 0 <= start < end <= 1440.
type span struct{ start, end int }

// weekdayKeys are the keys of Spec.Hours, indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// New validates spec and returns its calendar. On invalid input the error
// is a FieldErrors naming every problem, for example
// `hours.mon[1]: "13:00-12:00": start is not before end`.
func New(spec Spec) (*Calendar, error) {
	var fe FieldErrors
	c := &Calendar{holidays: map[int64][]span{}}

	switch spec.TimeZone {
	case "":
		fe.add("time_zone", "is required: an IANA time zone such as Europe/Berlin")
	case "Local":
		fe.add("time_zone", `"Local" is each host's own zone; name an IANA time zone such as Europe/Berlin`)
	default:
		loc, err := time.LoadLocation(spec.TimeZone)
		if err != nil {
			fe.add("time_zone", "%q is not an IANA time zone such as Europe/Berlin", spec.TimeZone)
		}
		c.loc = loc
	}

	before := len(fe)
	// Sorted keys: the result never depends on map order (workflows call New).
	//workflowcheck:ignore
	for _, k := range slices.Sorted(maps.Keys(spec.Hours)) {
		if !slices.Contains(weekdayKeys[:], k) {
			fe.add("hours."+k, "unknown weekday; use mon, tue, wed, thu, fri, sat or sun")
		}
	}
	open := false
	for i := range 7 {
		wd := (i + 1) % 7 // Monday first
		key := weekdayKeys[wd]
		spans, errs := parseDay("hours."+key, spec.Hours[key])
		fe = append(fe, errs...)
		c.week[wd] = spans
		open = open || len(spans) > 0
	}
	if len(fe) == before && !open {
		fe.add("hours", "no working time on any weekday")
	}

	seen := map[int64]int{}
	for i, h := range spec.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		spans, errs := parseDay(field+".hours", h.Hours)
		d, err := time.Parse(time.DateOnly, h.Date)
		if err != nil {
			fe.add(field+".date", "%q is not a date such as 2026-12-24", h.Date)
		} else if prev, dup := seen[dayNumber(d)]; dup {
			fe.add(field+".date", "%s is already listed at holidays[%d]", h.Date, prev)
		} else {
			seen[dayNumber(d)] = i
			c.holidays[dayNumber(d)] = spans
		}
		fe = append(fe, errs...)
	}

	if len(fe) > 0 {
		return nil, fe
	}
	return c, nil
}

// AlwaysOpen returns a 24x7 calendar in the IANA zone tz. Business time on
// it is real elapsed time, whatever the zone's clock changes.
func AlwaysOpen(tz string) (*Calendar, error) {
	hours := make(map[string][]string, 7)
	for _, k := range weekdayKeys {
		hours[k] = []string{"00:00-24:00"}
	}
	return New(Spec{TimeZone: tz, Hours: hours})
}

// Location returns the calendar's time zone; results are in it.
func (c *Calendar) Location() *time.Location { return c.loc }

// parseDay parses one day's intervals, sorts them and joins touching ones.
// field names the list, such as "hours.mon".
func parseDay(field string, list []string) ([]span, FieldErrors) {
	var fe FieldErrors
	type item struct {
		span
		i int
	}
	items := make([]item, 0, len(list))
	for i, s := range list {
		sp, problem := parseRange(s)
		if problem != "" {
			fe.add(fmt.Sprintf("%s[%d]", field, i), "%q: %s", s, problem)
			continue
		}
		items = append(items, item{sp, i})
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.start - b.start })
	var out []span
	last := -1 // the item reaching furthest so far
	for j, it := range items {
		if last >= 0 && it.start < items[last].end {
			fe.add(fmt.Sprintf("%s[%d]", field, it.i), "%q overlaps %s[%d] %q",
				list[it.i], field, items[last].i, list[items[last].i])
		}
		if last < 0 || it.end > items[last].end {
			last = j
		}
		if n := len(out); n > 0 && it.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, it.end)
		} else {
			out = append(out, it.span)
		}
	}
	return out, fe
}

// parseRange parses "HH:MM-HH:MM"; on failure it says why.
func parseRange(s string) (span, string) {
	a, b, ok := strings.Cut(s, "-")
	if !ok || strings.Contains(b, "-") {
		return span{}, `not a range such as "09:00-17:30"`
	}
	start, problem := parseClock(strings.TrimSpace(a))
	if problem != "" {
		return span{}, problem
	}
	end, problem := parseClock(strings.TrimSpace(b))
	if problem != "" {
		return span{}, problem
	}
	if start >= end {
		return span{}, "start is not before end"
	}
	return span{start, end}, ""
}

// parseClock parses "HH:MM" (or "H:MM") from 00:00 to 24:00 into minutes.
func parseClock(s string) (int, string) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, fmt.Sprintf("%q is not a time such as 09:00", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	switch {
	case m > 59:
		return 0, fmt.Sprintf("%s is not a time: minutes run from 00 to 59", s)
	case h > 24 || h == 24 && m > 0:
		return 0, fmt.Sprintf("%s is outside 00:00-24:00", s)
	}
	return h*60 + m, ""
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
