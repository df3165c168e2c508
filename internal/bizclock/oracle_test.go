package bizclock

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// namedCalendar is a calendar under test together with the years in which
// its zone's clock changes are worth sweeping.
type namedCalendar struct {
	name  string
	cal   *Calendar
	years []int
}

// testCalendars covers the shapes the clock must handle: office hours with
// holidays, split shifts, intervals ending at 24:00, 24x7, night shifts over
// the changed hour, half-hour changes (Lord Howe), changes at midnight (Sao
// Paulo until 2019) and a skipped day (Apia, 2011-12-30).
func testCalendars(tb testing.TB) []namedCalendar {
	return []namedCalendar{
		{"ny-office", mustNew(tb, nyOffice), []int{2026}},
		{"berlin-split", mustNew(tb, berlinSplit), []int{2026}},
		{"berlin-late", mustNew(tb, berlinLate), []int{2026}},
		{"berlin-nights", mustNew(tb, berlinNights), []int{2026}},
		{"berlin-gap-shift", mustNew(tb, berlinGapShift), []int{2026}},
		{"ny-nights", mustNew(tb, nyNights), []int{2026}},
		{"berlin-24x7", mustAlwaysOpen(tb, "Europe/Berlin"), []int{2026}},
		{"ny-24x7", mustAlwaysOpen(tb, "America/New_York"), []int{2026}},
		{"lord-howe-nights", mustNew(tb, Spec{TimeZone: "Australia/Lord_Howe", Hours: everyDay("01:45-02:15", "02:20-02:40", "23:00-24:00")}), []int{2026}},
		{"sao-paulo-midnight", mustNew(tb, Spec{TimeZone: "America/Sao_Paulo", Hours: everyDay("00:00-00:30", "22:00-24:00")}), []int{2018, 2019}},
		{"apia-office", mustNew(tb, Spec{
			TimeZone: "Pacific/Apia",
			Hours:    map[string][]string{"thu": {"09:00-17:00", "23:00-24:00"}, "fri": {"00:00-17:00"}, "sat": {"10:00-12:00"}},
			Holidays: []HolidaySpec{{Date: "2011-12-29", Hours: []string{"20:00-24:00"}}},
		}), []int{2011}},
	}
}

// oracleOpen decides whether t is open from the wall clock alone, using Go's
// conversion of t to local time rather than the calendar's own. An instant
// whose wall time the clock already showed once (the second pass of a
// repeated hour) belongs to an interval only if that interval runs through
// the end of the repeated span, because wall times mean their first pass.
func oracleOpen(c *Calendar, t time.Time) bool {
	lt := t.In(c.loc)
	_, off := lt.Zone()
	if start, _ := lt.ZoneBounds(); !start.IsZero() {
		before := start.Add(-time.Nanosecond).In(c.loc)
		_, prevOff := before.Zone()
		if repeated := time.Duration(prevOff-off) * time.Second; repeated > 0 && t.Sub(start) < repeated {
			lt = before
		}
	}
	h, m, s := lt.Clock()
	ns := int64(h*3600+m*60+s)*1e9 + int64(lt.Nanosecond())
	for _, sp := range c.spansOn(dayNumber(lt)) {
		if int64(sp.start)*60e9 <= ns && ns < int64(sp.end)*60e9 {
			return true
		}
	}
	return false
}

// transitions returns the instants at which loc's offset changes in year.
func transitions(loc *time.Location, year int) []time.Time {
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	for {
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			return out
		}
		_, a := next.Add(-time.Nanosecond).In(loc).Zone()
		_, b := next.In(loc).Zone()
		if a != b {
			out = append(out, next)
		}
		t = next.In(loc)
	}
}

// TestMatchesMinuteOracle compares IsOpen, NextOpen, Add and Elapsed with a
// minute-by-minute count of oracleOpen over eight days around every clock
// change of each test calendar's zone, and around an ordinary week. All
// interval boundaries of these calendars fall on whole UTC minutes.
func TestMatchesMinuteOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, nc := range testCalendars(t) {
		c := nc.cal
		var centres []time.Time
		for _, y := range nc.years {
			centres = append(centres, transitions(c.loc, y)...)
			centres = append(centres, time.Date(y, 6, 10, 12, 0, 0, 0, c.loc))
		}
		for _, centre := range centres {
			t.Run(fmt.Sprintf("%s/%s", nc.name, centre.Format(time.RFC3339)), func(t *testing.T) {
				const n = 8 * 24 * 60
				w0 := centre.Add(-4 * 24 * time.Hour).Truncate(time.Minute)
				minute := func(i int) time.Time { return w0.Add(time.Duration(i) * time.Minute) }
				open := make([]bool, n)
				prefix := make([]int, n+1) // open minutes in [0, i)
				for i := range n {
					m := minute(i)
					open[i] = oracleOpen(c, m)
					prefix[i+1] = prefix[i]
					if open[i] {
						prefix[i+1]++
					}
					if got := c.IsOpen(m); got != open[i] {
						t.Fatalf("IsOpen(%s) = %v, oracle %v", m.In(c.loc).Format(time.RFC3339), got, open[i])
					}
					before := m.Add(-time.Nanosecond)
					if got, want := c.IsOpen(before), oracleOpen(c, before); got != want {
						t.Fatalf("IsOpen(%s) = %v, oracle %v", before.In(c.loc).Format(time.RFC3339Nano), got, want)
					}
				}
				for i := 0; i < n/2; i += 7 {
					start := minute(i)
					if j := slices.Index(open[i:], true); j >= 0 {
						got, err := c.NextOpen(start)
						if err != nil || !got.Equal(minute(i+j)) {
							t.Fatalf("NextOpen(%s) = %s, %v; oracle %s", start.In(c.loc).Format(time.RFC3339), got.Format(time.RFC3339), err, minute(i+j).In(c.loc).Format(time.RFC3339))
						}
					}
					for _, d := range []int{1, 29, 37, 120, 240, 570} {
						// The deadline is the end of the minute that brings the count to d.
						j, found := slices.BinarySearch(prefix, prefix[i]+d)
						if !found {
							continue // beyond the window
						}
						got, err := c.Add(start, time.Duration(d)*time.Minute)
						if err != nil || !got.Equal(minute(j)) {
							t.Fatalf("Add(%s, %dm) = %s, %v; oracle %s", start.In(c.loc).Format(time.RFC3339), d, got.Format(time.RFC3339), err, minute(j).In(c.loc).Format(time.RFC3339))
						}
					}
				}
				for range 300 {
					i, j := rng.IntN(n+1), rng.IntN(n+1)
					want := time.Duration(max(0, prefix[j]-prefix[i])) * time.Minute
					if got := c.Elapsed(minute(i), minute(j)); got != want {
						t.Fatalf("Elapsed(%s, %s) = %v, oracle %v", minute(i).In(c.loc).Format(time.RFC3339), minute(j).In(c.loc).Format(time.RFC3339), got, want)
					}
				}
			})
		}
	}
}
