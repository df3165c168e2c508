// Package bizclock is the business-hours clock behind SLA deadlines: it adds
// business time to an instant and measures the business time between two
// instants on a Calendar of working hours per weekday and holidays in one
// IANA time zone. It is pure Go: no Temporal, no database, and time zones
// come from the embedded tzdata, so every worker computes the same deadline.
//
// # Semantics
//
// Working intervals are local wall-clock times and half-open: 09:00-17:00
// is open at 09:00 and closed at 17:00. An interval may end at 24:00, which
// is the next day's 00:00, so Mon 18:00-24:00 and Tue 00:00-02:00 form one
// stretch of working time.
//
// A wall-clock time becomes an instant the same way everywhere (intervals,
// holidays, midnight):
//   - a time that occurs twice when the clocks go back is its first
//     occurrence (as in RFC 5545), so an interval that spans the repeated
//     hour contains both passes of it and a night shift 01:00-04:00 on the
//     night the clocks go back lasts four real hours;
//   - a time that does not exist because the clocks go forward is the instant
//     of the change, when the clock reads the first time after the gap: a
//     shift 02:30-05:00 on that night starts at 03:00, a shift 01:00-04:00
//     lasts two real hours, and an interval entirely inside the gap is empty.
//
// Business time is real elapsed time (time.Duration) inside working
// intervals, so a 24x7 calendar counts exactly what a stopwatch would, 23 or
// 25 hours on the days the clocks change.
//
// Add(t, 0) is NextOpen(t): t itself when open, otherwise the next opening;
// it is when an SLA clock starts running. For d > 0, Add(t, d) is the
// earliest instant by which d of business time has elapsed since t; when
// that is the end of an interval, Add returns the end rather than the next
// opening. Hence, for all t and d >= 0, Elapsed(t, Add(t, d)) == d, Add is
// non-decreasing in d, and for d > 0 the instant 1ns before the result is
// open.
package bizclock

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNegativeDuration is wrapped by Add when asked to add a negative duration.
var ErrNegativeDuration = errors.New("negative business duration")

// ErrNoWorkingTime is wrapped by Add and NextOpen when the calendar stays
// closed for more than 400 consecutive local days (holidays can do that;
// New rejects a calendar without any weekly working time), rather than
// searching forever.
var ErrNoWorkingTime = errors.New("no working time")

// maxClosedDays is how many consecutive closed local days Add and NextOpen
// look through before they give up with ErrNoWorkingTime.
const maxClosedDays = 400

// Add returns the instant by which d of business time has elapsed since t,
// in the calendar's location. Add(t, 0) is NextOpen(t); for d > 0 a deadline
// that falls exactly at the end of an interval is that end, not the next
// opening. It fails for d < 0 (ErrNegativeDuration) and when the calendar is
// closed for more than 400 days in a row (ErrNoWorkingTime).
func (c *Calendar) Add(t time.Time, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("add %v to %s: %w", d, t.Format(time.RFC3339Nano), ErrNegativeDuration)
	}
	r, closedFrom, ok := c.advance(t, d)
	if !ok {
		return time.Time{}, fmt.Errorf("add %v to %s: %w in the %d days from %s",
			d, t.Format(time.RFC3339Nano), ErrNoWorkingTime, maxClosedDays, closedFrom.In(c.loc).Format(time.RFC3339Nano))
	}
	return r, nil
}

// NextOpen returns the first open instant at or after t, in the calendar's
// location: t itself when IsOpen(t). It fails with ErrNoWorkingTime when the
// calendar is closed for more than 400 days in a row.
func (c *Calendar) NextOpen(t time.Time) (time.Time, error) {
	r, closedFrom, ok := c.advance(t, 0)
	if !ok {
		return time.Time{}, fmt.Errorf("next opening after %s: %w in the %d days from %s",
			t.Format(time.RFC3339Nano), ErrNoWorkingTime, maxClosedDays, closedFrom.In(c.loc).Format(time.RFC3339Nano))
	}
	return r, nil
}

// advance walks the intervals from t, consuming d >= 0 of business time.
// When it gives up, closedFrom is where the closed stretch began.
func (c *Calendar) advance(t time.Time, d time.Duration) (r, closedFrom time.Time, ok bool) {
	k := c.cursor(t)
	horizon := k.day + maxClosedDays
	closedFrom = t
	for {
		s, e, found := k.next(horizon)
		if !found {
			return time.Time{}, closedFrom, false
		}
		if !e.After(t) {
			continue
		}
		if s.Before(t) {
			s = t
		}
		avail := e.Sub(s)
		if d <= avail {
			return s.Add(d).In(c.loc), time.Time{}, true
		}
		d -= avail
		horizon = k.day + maxClosedDays
		closedFrom = e
	}
}

// Elapsed returns the business time between a and b: how much of [a, b) is
// working time. It is 0 when b is not after a.
func (c *Calendar) Elapsed(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	k := c.cursor(a)
	k.stop, k.bounded = b, true
	var sum time.Duration
	for {
		s, e, ok := k.next(math.MaxInt64)
		if !ok || !s.Before(b) {
			return sum
		}
		if !e.After(a) {
			continue
		}
		if s.Before(a) {
			s = a
		}
		if e.After(b) {
			e = b
		}
		d := e.Sub(s)
		if sum > math.MaxInt64-d {
			return math.MaxInt64 // more than 292 years of business time
		}
		sum += d
	}
}

// IsOpen reports whether t is working time: inside some working interval
// [start, end).
func (c *Calendar) IsOpen(t time.Time) bool {
	k := c.cursor(t)
	k.stop, k.bounded = t.Add(time.Nanosecond), true
	for {
		s, e, ok := k.next(math.MaxInt64)
		if !ok {
			return false
		}
		if e.After(t) {
			return !s.After(t)
		}
	}
}

// cursor yields a calendar's non-empty working intervals as instants, in
// order, day by day. Intervals of different days never overlap and come in
// order because wallInstant is non-decreasing.
type cursor struct {
	c     *Calendar
	day   int64  // local date of spans, as days since 1970-01-01
	spans []span // the day's working intervals
	i     int    // next index into spans
	// When bounded, the cursor does not move on to a day that starts at or
	// after stop: nothing there begins before stop.
	stop    time.Time
	bounded bool
}

// cursor returns a cursor at the local date of t. No earlier date has an
// interval that ends after t: the midnight starting t's date is an instant
// at or before t.
func (c *Calendar) cursor(t time.Time) cursor {
	_, off := t.In(c.loc).Zone()
	day := floorDiv(t.Unix()+int64(off), 86400)
	return cursor{c: c, day: day, spans: c.spansOn(day)}
}

// next returns the next non-empty interval [s, e), moving on by days but
// not past lastDay (nor past stop when bounded).
func (k *cursor) next(lastDay int64) (s, e time.Time, ok bool) {
	for {
		for k.i < len(k.spans) {
			sp := k.spans[k.i]
			k.i++
			s, e = k.c.wallInstant(k.day, sp.start), k.c.wallInstant(k.day, sp.end)
			if e.After(s) { // an interval inside a skipped hour is empty
				return s, e, true
			}
		}
		if k.day >= lastDay || k.bounded && !k.c.wallInstant(k.day+1, 0).Before(k.stop) {
			return time.Time{}, time.Time{}, false
		}
		k.day++
		k.spans, k.i = k.c.spansOn(k.day), 0
	}
}

// spansOn returns the working intervals of a local date.
func (c *Calendar) spansOn(day int64) []span {
	if h, ok := c.holidays[day]; ok {
		return h
	}
	return c.week[weekday(day)]
}

// maxOffset exceeds the largest UTC offset tzdata has ever used (about 15h).
const maxOffset = 36 * 3600

// wallInstant returns the instant at which the local clock reads minute
// (0..1440) of the local date day. Of a time that occurs twice it returns the
// first occurrence; for a time that is skipped, the instant the clock jumps
// past it. It is non-decreasing in (day, minute).
func (c *Calendar) wallInstant(day int64, minute int) time.Time {
	w := day*86400 + int64(minute)*60 // the wall time, in seconds as if UTC
	// Walk the zone's periods forward from an instant whose wall time is
	// certainly before w; the first period whose wall times reach past w
	// either contains w or starts after a gap that contains w.
	t := time.Unix(w-maxOffset, 0).In(c.loc)
	for {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix()+int64(off) > w {
			if u := w - int64(off); u >= t.Unix() {
				return time.Unix(u, 0).In(c.loc)
			}
			return t // w was skipped; t is when the period after the gap starts
		}
		t = end
	}
}

// dayNumber returns the days since 1970-01-01 of a date's year, month and day.
func dayNumber(d time.Time) int64 {
	y, m, dd := d.Date()
	return floorDiv(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

// weekday returns the weekday of a day number; 1970-01-01 was a Thursday.
func weekday(day int64) time.Weekday {
	return time.Weekday((day%7 + 7 + 4) % 7)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
