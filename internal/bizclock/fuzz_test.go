package bizclock

import (
	"errors"
	"testing"
	"time"
)

// FuzzAddElapsed checks, for any calendar of testCalendars, any instant from
// 2000 to 2100 (or, when the top bit of which is set, in the 12 hours before
// a clock change) and any d up to 500 business hours, that
//   - Elapsed(t, Add(t, d)) == d;
//   - Add is monotonic in d, and Add(Add(t, d), e) == Add(t, d+e) for e > 0;
//   - Add(t, 0) == NextOpen(t), which is open, at or after t, with nothing
//     open between t and it;
//   - for d > 0, the instant 1ns before Add(t, d) is open and Elapsed up to
//     it is d-1ns, so Add returns the earliest instant possible;
//   - Elapsed is additive over a point between its ends;
//   - IsOpen agrees with the wall-clock oracle at every instant involved;
//   - results are in the calendar's location.
func FuzzAddElapsed(f *testing.F) {
	day := int64(24 * time.Hour)
	since2000 := func(s string) int64 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			f.Fatal(err)
		}
		return int64(t.Sub(fuzzBase))
	}
	// Seeds: calendar index into testCalendars (top bit: near a clock
	// change), instant (ns after 2000), d, e.
	f.Add(uint8(0), since2000("2026-06-05T16:30:00-04:00"), int64(4*time.Hour), int64(2*time.Hour))
	f.Add(uint8(0), since2000("2026-12-24T10:00:00-05:00"), int64(4*time.Hour), int64(time.Nanosecond))
	f.Add(uint8(1), since2000("2026-06-08T11:00:00+02:00"), int64(time.Hour), int64(30*time.Minute))
	f.Add(uint8(2), since2000("2026-06-08T23:00:00+02:00"), int64(time.Hour), int64(time.Hour))
	f.Add(uint8(3), since2000("2026-10-25T01:00:00+02:00"), int64(150*time.Minute), int64(0))
	f.Add(uint8(3), since2000("2026-03-29T01:00:00+01:00"), int64(2*time.Hour), int64(time.Hour))
	f.Add(uint8(4), since2000("2026-03-28T23:00:00+01:00"), int64(0), int64(2*time.Hour))
	f.Add(uint8(5), since2000("2026-11-01T00:59:59.999999999-04:00"), int64(time.Hour), int64(2*time.Hour))
	f.Add(uint8(6), since2000("2026-10-25T00:00:00+02:00"), int64(3*time.Hour), int64(day))
	f.Add(uint8(7), since2000("2026-03-08T01:30:00-05:00"), int64(time.Hour), int64(time.Minute))
	f.Add(uint8(8), since2000("2026-10-04T01:50:00+10:30"), int64(20*time.Minute), int64(time.Second))
	f.Add(uint8(9), since2000("2018-11-03T23:00:00-03:00"), int64(time.Hour), int64(time.Minute))
	f.Add(uint8(10), since2000("2011-12-29T21:00:00-10:00"), int64(3*time.Hour), int64(time.Hour))
	f.Add(uint8(0x80|6), since2000("2026-10-24T12:00:00Z"), int64(11*time.Hour), int64(time.Hour))

	cals := testCalendars(f)
	f.Fuzz(func(t *testing.T, which uint8, at, d, e int64) {
		c := cals[int(which&0x7f)%len(cals)].cal
		start := fuzzBase.Add(time.Duration(mod(at, int64(fuzzSpan))))
		if which&0x80 != 0 {
			// Start within 12 hours before the zone's next clock change.
			if _, end := start.In(c.loc).ZoneBounds(); !end.IsZero() {
				start = end.Add(-time.Duration(mod(at, int64(12*time.Hour))))
			}
		}
		dd := time.Duration(mod(d, int64(500*time.Hour)))
		de := time.Duration(mod(e, int64(100*time.Hour)))

		checkOpen := func(x time.Time) bool {
			t.Helper()
			got := c.IsOpen(x)
			if want := oracleOpen(c, x); got != want {
				t.Fatalf("IsOpen(%s) = %v, oracle %v", x.In(c.loc).Format(time.RFC3339Nano), got, want)
			}
			return got
		}
		add := func(x time.Time, d time.Duration) time.Time {
			t.Helper()
			r, err := c.Add(x, d)
			if err != nil {
				t.Fatalf("Add(%s, %v): %v", x.Format(time.RFC3339Nano), d, err)
			}
			if r.Location() != c.loc {
				t.Fatalf("Add(%s, %v) is in %v, want %v", x.Format(time.RFC3339Nano), d, r.Location(), c.loc)
			}
			return r
		}

		if _, err := c.Add(start, -dd-1); !errors.Is(err, ErrNegativeDuration) {
			t.Fatalf("Add(%s, %v): err = %v, want ErrNegativeDuration", start, -dd-1, err)
		}

		next, err := c.NextOpen(start)
		if err != nil {
			t.Fatal(err)
		}
		if next.Before(start) || !checkOpen(next) || c.Elapsed(start, next) != 0 ||
			checkOpen(start) != next.Equal(start) || next.After(start) && checkOpen(next.Add(-1)) {
			t.Fatalf("NextOpen(%s) = %s", start.Format(time.RFC3339Nano), next.Format(time.RFC3339Nano))
		}
		if r := add(start, 0); !r.Equal(next) {
			t.Fatalf("Add(%s, 0) = %s, NextOpen = %s", start.Format(time.RFC3339Nano), r.Format(time.RFC3339Nano), next.Format(time.RFC3339Nano))
		}

		r := add(start, dd)
		if got := c.Elapsed(start, r); got != dd {
			t.Fatalf("Elapsed(%s, Add(_, %v) = %s) = %v", start.Format(time.RFC3339Nano), dd, r.Format(time.RFC3339Nano), got)
		}
		if dd > 0 {
			last := r.Add(-1)
			if !checkOpen(last) || c.Elapsed(start, last) != dd-1 {
				t.Fatalf("Add(%s, %v) = %s: not the earliest instant with that much business time",
					start.Format(time.RFC3339Nano), dd, r.Format(time.RFC3339Nano))
			}
		}
		checkOpen(r)

		r2 := add(start, dd+de)
		if r2.Before(r) {
			t.Fatalf("Add(%s, %v) = %s is before Add(_, %v) = %s", start.Format(time.RFC3339Nano), dd+de, r2.Format(time.RFC3339Nano), dd, r.Format(time.RFC3339Nano))
		}
		if de > 0 {
			if r3 := add(r, de); !r3.Equal(r2) {
				t.Fatalf("Add(Add(%s, %v), %v) = %s, Add(_, %v) = %s", start.Format(time.RFC3339Nano), dd, de, r3.Format(time.RFC3339Nano), dd+de, r2.Format(time.RFC3339Nano))
			}
		}

		mid := start.Add(r2.Sub(start) / 2)
		if a, b, all := c.Elapsed(start, mid), c.Elapsed(mid, r2), c.Elapsed(start, r2); a+b != all || all != dd+de {
			t.Fatalf("Elapsed not additive: %v + %v != %v (want %v)", a, b, all, dd+de)
		}
		checkOpen(mid)
	})
}

var fuzzBase = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzSpan is how far after 2000 fuzzed instants go.
const fuzzSpan = 100 * 365 * 24 * time.Hour

// mod is a non-negative remainder.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
