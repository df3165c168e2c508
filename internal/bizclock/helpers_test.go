package bizclock

import (
	"testing"
	"time"
)

// Calendars shared by the tests. Dates used in 2026: Fridays Jun 5 and 12,
// Memorial Day Mon May 25, Christmas Eve Thu Dec 24; Europe/Berlin changes
// clocks on Sun Mar 29 (02:00 CET -> 03:00 CEST) and Sun Oct 25 (03:00 CEST
// -> 02:00 CET); America/New_York on Sun Mar 8 (02:00 EST -> 03:00 EDT) and
// Sun Nov 1 (02:00 EDT -> 01:00 EST).
var (
	weekdays9to5 = map[string][]string{
		"mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "wed": {"09:00-17:00"},
		"thu": {"09:00-17:00"}, "fri": {"09:00-17:00"},
	}
	// nyOffice is Mon-Fri 09:00-17:00 in New York with a holiday Monday, a
	// half day on Christmas Eve and Christmas Day off.
	nyOffice = Spec{
		TimeZone: "America/New_York",
		Hours:    weekdays9to5,
		Holidays: []HolidaySpec{
			{Date: "2026-05-25", Name: "Memorial Day"},
			{Date: "2026-12-24", Name: "Christmas Eve", Hours: []string{"09:00-12:00"}},
			{Date: "2026-12-25", Name: "Christmas Day"},
		},
	}
	// berlinSplit is a split shift with lunch from 12:00 to 13:00.
	berlinSplit = Spec{
		TimeZone: "Europe/Berlin",
		Hours: map[string][]string{
			"mon": {"09:00-12:00", "13:00-17:30"}, "tue": {"13:00-17:30", "09:00-12:00"},
			"wed": {"09:00-12:00", "13:00-17:30"}, "thu": {"09:00-12:00", "13:00-17:30"},
			"fri": {"09:00-12:00", "13:00-17:30"},
		},
	}
	// berlinLate runs Monday evening through midnight into Tuesday.
	berlinLate = Spec{
		TimeZone: "Europe/Berlin",
		Hours:    map[string][]string{"mon": {"18:00-24:00"}, "tue": {"00:00-02:00"}},
	}
	// berlinNights is a night shift over the hour the clocks change.
	berlinNights = Spec{TimeZone: "Europe/Berlin", Hours: everyDay("01:00-04:00")}
	// berlinGapShift starts inside the skipped / repeated hour on Sundays.
	berlinGapShift = Spec{TimeZone: "Europe/Berlin", Hours: map[string][]string{"sun": {"02:30-05:00"}}}
	// nyNights covers the US change on Sunday nights.
	nyNights = Spec{TimeZone: "America/New_York", Hours: map[string][]string{"sun": {"01:00-03:00"}}}
)

func everyDay(hours ...string) map[string][]string {
	m := map[string][]string{}
	for _, k := range weekdayKeys {
		m[k] = hours
	}
	return m
}

func mustNew(tb testing.TB, spec Spec) *Calendar {
	tb.Helper()
	c, err := New(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func mustAlwaysOpen(tb testing.TB, tz string) *Calendar {
	tb.Helper()
	c, err := AlwaysOpen(tz)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// ts parses an RFC 3339 instant; offsets make the hand-computed cases
// unambiguous around clock changes.
func ts(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
