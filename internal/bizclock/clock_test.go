package bizclock

import (
	"testing"
	"time"
)

func TestAdd(t *testing.T) {
	ny := mustNew(t, nyOffice)
	split := mustNew(t, berlinSplit)
	late := mustNew(t, berlinLate)
	nights := mustNew(t, berlinNights)
	gapShift := mustNew(t, berlinGapShift)
	nyNight := mustNew(t, nyNights)
	berlin24 := mustAlwaysOpen(t, "Europe/Berlin")
	ny24 := mustAlwaysOpen(t, "America/New_York")

	tests := []struct {
		name  string
		cal   *Calendar
		start string
		d     time.Duration
		want  string
	}{
		// Mon-Fri 09:00-17:00 New York.
		{"friday 16:30 lead, 4h SLA: due monday 12:30", ny, "2026-06-05T16:30:00-04:00", 4 * time.Hour, "2026-06-08T12:30:00-04:00"},
		{"50% of that window: monday 10:30", ny, "2026-06-05T16:30:00-04:00", 2 * time.Hour, "2026-06-08T10:30:00-04:00"},
		{"same lead given in UTC", ny, "2026-06-05T20:30:00Z", 4 * time.Hour, "2026-06-08T12:30:00-04:00"},
		{"start on saturday", ny, "2026-06-06T11:00:00-04:00", 4 * time.Hour, "2026-06-08T13:00:00-04:00"},
		{"start on sunday night", ny, "2026-06-07T23:59:59-04:00", 30 * time.Minute, "2026-06-08T09:30:00-04:00"},
		{"start before opening", ny, "2026-06-09T07:15:00-04:00", 4 * time.Hour, "2026-06-09T13:00:00-04:00"},
		{"start after closing", ny, "2026-06-09T19:00:00-04:00", time.Hour, "2026-06-10T10:00:00-04:00"},
		{"deadline exactly at close is the close", ny, "2026-06-09T13:00:00-04:00", 4 * time.Hour, "2026-06-09T17:00:00-04:00"},
		{"1ns past close is the next morning", ny, "2026-06-09T13:00:00-04:00", 4*time.Hour + 1, "2026-06-10T09:00:00.000000001-04:00"},
		{"whole week ends friday at close", ny, "2026-06-08T09:00:00-04:00", 40 * time.Hour, "2026-06-12T17:00:00-04:00"},
		{"41h runs into the next monday", ny, "2026-06-08T09:00:00-04:00", 41 * time.Hour, "2026-06-15T10:00:00-04:00"},
		{"sub-second precision", ny, "2026-06-09T16:59:59.5-04:00", time.Second, "2026-06-10T09:00:00.5-04:00"},
		{"zero when open is the start", ny, "2026-06-09T10:00:00-04:00", 0, "2026-06-09T10:00:00-04:00"},
		{"zero when closed is the next opening", ny, "2026-06-05T17:00:00-04:00", 0, "2026-06-08T09:00:00-04:00"},
		{"holiday monday: due tuesday", ny, "2026-05-22T16:30:00-04:00", 4 * time.Hour, "2026-05-26T12:30:00-04:00"},
		{"start on the holiday", ny, "2026-05-25T10:00:00-04:00", time.Hour, "2026-05-26T10:00:00-04:00"},
		{"partial holiday then a day off and a weekend", ny, "2026-12-24T10:00:00-05:00", 4 * time.Hour, "2026-12-28T11:00:00-05:00"},
		{"after the partial holiday closed", ny, "2026-12-24T13:00:00-05:00", 0, "2026-12-28T09:00:00-05:00"},
		{"partial holiday closes at noon exactly", ny, "2026-12-23T16:00:00-05:00", 4 * time.Hour, "2026-12-24T12:00:00-05:00"},
		{"US spring forward over a weekend", ny, "2026-03-06T16:00:00-05:00", 2 * time.Hour, "2026-03-09T10:00:00-04:00"},
		{"US fall back over a weekend", ny, "2026-10-30T16:00:00-04:00", 2 * time.Hour, "2026-11-02T10:00:00-05:00"},

		// Split shift 09:00-12:00, 13:00-17:30 Berlin.
		{"split: across lunch", split, "2026-06-08T11:00:00+02:00", 2 * time.Hour, "2026-06-08T14:00:00+02:00"},
		{"split: deadline at lunch is noon, not 13:00", split, "2026-06-08T11:00:00+02:00", time.Hour, "2026-06-08T12:00:00+02:00"},
		{"split: start during lunch", split, "2026-06-08T12:15:00+02:00", 30 * time.Minute, "2026-06-08T13:30:00+02:00"},
		{"split: into the next morning", split, "2026-06-08T16:30:00+02:00", 2 * time.Hour, "2026-06-09T10:00:00+02:00"},
		{"split: friday's last half hour, then monday morning", split, "2026-06-12T17:00:00+02:00", 3*time.Hour + 30*time.Minute, "2026-06-15T12:00:00+02:00"},
		{"split: over a weekend and lunch", split, "2026-06-12T17:30:00+02:00", 3*time.Hour + 30*time.Minute, "2026-06-15T13:30:00+02:00"},

		// Mon 18:00-24:00, Tue 00:00-02:00 Berlin.
		{"24:00: runs on past midnight", late, "2026-06-08T23:00:00+02:00", 2 * time.Hour, "2026-06-09T01:00:00+02:00"},
		{"24:00: deadline at midnight", late, "2026-06-08T18:00:00+02:00", 6 * time.Hour, "2026-06-09T00:00:00+02:00"},
		{"24:00: start before opening, end at close", late, "2026-06-08T17:00:00+02:00", 8 * time.Hour, "2026-06-09T02:00:00+02:00"},
		{"24:00: into next week", late, "2026-06-09T01:59:00+02:00", 2 * time.Minute, "2026-06-15T18:01:00+02:00"},

		// 24x7 counts real time through the clock changes.
		{"24x7 Berlin spring forward", berlin24, "2026-03-29T00:00:00+01:00", 3 * time.Hour, "2026-03-29T04:00:00+02:00"},
		{"24x7 Berlin the minute before the jump", berlin24, "2026-03-29T01:59:00+01:00", time.Minute, "2026-03-29T03:00:00+02:00"},
		{"24x7 Berlin fall back lands in the repeated hour", berlin24, "2026-10-25T00:00:00+02:00", 3 * time.Hour, "2026-10-25T02:00:00+01:00"},
		{"24x7 Berlin first pass to second pass", berlin24, "2026-10-25T02:30:00+02:00", time.Hour, "2026-10-25T02:30:00+01:00"},
		{"24x7 Berlin a week over the change", berlin24, "2026-03-23T12:00:00+01:00", 7 * 24 * time.Hour, "2026-03-30T13:00:00+02:00"},
		{"24x7 New York spring forward", ny24, "2026-03-08T01:30:00-05:00", time.Hour, "2026-03-08T03:30:00-04:00"},
		{"24x7 New York fall back", ny24, "2026-11-01T00:30:00-04:00", 2 * time.Hour, "2026-11-01T01:30:00-05:00"},

		// Night shift 01:00-04:00 Berlin: 2 real hours in spring, 4 in autumn.
		{"nights spring: 90 min", nights, "2026-03-29T01:00:00+01:00", 90 * time.Minute, "2026-03-29T03:30:00+02:00"},
		{"nights spring: the whole short shift", nights, "2026-03-29T01:00:00+01:00", 2 * time.Hour, "2026-03-29T04:00:00+02:00"},
		{"nights spring: into the next night", nights, "2026-03-29T01:00:00+01:00", 150 * time.Minute, "2026-03-30T01:30:00+02:00"},
		{"nights fall: first pass", nights, "2026-10-25T01:00:00+02:00", 90 * time.Minute, "2026-10-25T02:30:00+02:00"},
		{"nights fall: second pass", nights, "2026-10-25T01:00:00+02:00", 150 * time.Minute, "2026-10-25T02:30:00+01:00"},
		{"nights fall: the whole long shift", nights, "2026-10-25T01:00:00+02:00", 4 * time.Hour, "2026-10-25T04:00:00+01:00"},
		{"nights fall: start in the second pass", nights, "2026-10-25T02:30:00+01:00", time.Hour, "2026-10-25T03:30:00+01:00"},
		{"nights fall: opening after a closed day", nights, "2026-10-24T04:00:00+02:00", 0, "2026-10-25T01:00:00+02:00"},

		// Sunday 02:30-05:00 Berlin: the start is skipped in spring, repeated in autumn.
		{"skipped start opens at the jump", gapShift, "2026-03-29T00:00:00+01:00", 0, "2026-03-29T03:00:00+02:00"},
		{"skipped start: the shift is 2h", gapShift, "2026-03-29T00:00:00+01:00", 2 * time.Hour, "2026-03-29T05:00:00+02:00"},
		{"skipped start: 2h01 is next sunday", gapShift, "2026-03-29T00:00:00+01:00", 2*time.Hour + time.Minute, "2026-04-05T02:31:00+02:00"},
		{"repeated start opens at its first pass", gapShift, "2026-10-25T00:00:00+02:00", 0, "2026-10-25T02:30:00+02:00"},
		{"repeated start: the shift is 3h30", gapShift, "2026-10-25T00:00:00+02:00", 3*time.Hour + 30*time.Minute, "2026-10-25T05:00:00+01:00"},

		// Sunday 01:00-03:00 New York: 1 real hour in spring, 3 in autumn.
		{"US nights spring: the shift is 1h", nyNight, "2026-03-08T00:00:00-05:00", time.Hour, "2026-03-08T03:00:00-04:00"},
		{"US nights spring: 61 min is next sunday", nyNight, "2026-03-08T01:00:00-05:00", 61 * time.Minute, "2026-03-15T01:01:00-04:00"},
		{"US nights fall: second pass of 01:00", nyNight, "2026-11-01T01:00:00-04:00", time.Hour, "2026-11-01T01:00:00-05:00"},
		{"US nights fall: the shift is 3h", nyNight, "2026-11-01T01:00:00-04:00", 3 * time.Hour, "2026-11-01T03:00:00-05:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, want := ts(t, tt.start), ts(t, tt.want)
			got, err := tt.cal.Add(start, tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Errorf("Add(%s, %v) = %s, want %s", tt.start, tt.d, got.Format(time.RFC3339Nano), tt.want)
			}
			if got.Location() != tt.cal.Location() {
				t.Errorf("result in %v, want %v", got.Location(), tt.cal.Location())
			}
			if e := tt.cal.Elapsed(start, got); e != tt.d {
				t.Errorf("Elapsed(start, Add(start, %v)) = %v", tt.d, e)
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	ny := mustNew(t, nyOffice)
	split := mustNew(t, berlinSplit)
	late := mustNew(t, berlinLate)
	nights := mustNew(t, berlinNights)
	berlin24 := mustAlwaysOpen(t, "Europe/Berlin")
	ny24 := mustAlwaysOpen(t, "America/New_York")

	tests := []struct {
		name string
		cal  *Calendar
		a, b string
		want time.Duration
	}{
		{"over a weekend", ny, "2026-06-05T16:30:00-04:00", "2026-06-08T12:30:00-04:00", 4 * time.Hour},
		{"a whole week", ny, "2026-06-08T00:00:00-04:00", "2026-06-15T00:00:00-04:00", 40 * time.Hour},
		{"a weekend alone", ny, "2026-06-06T00:00:00-04:00", "2026-06-08T00:00:00-04:00", 0},
		{"over a weekend and a holiday monday", ny, "2026-05-22T16:30:00-04:00", "2026-05-26T12:30:00-04:00", 4 * time.Hour},
		{"the holiday week", ny, "2026-05-25T00:00:00-04:00", "2026-06-01T00:00:00-04:00", 32 * time.Hour},
		{"the christmas week", ny, "2026-12-21T00:00:00-05:00", "2026-12-28T00:00:00-05:00", 27 * time.Hour},
		{"inside one interval", ny, "2026-06-09T10:00:00-04:00", "2026-06-09T10:00:00.000000007-04:00", 7},
		{"both ends closed", ny, "2026-06-09T18:00:00-04:00", "2026-06-10T08:00:00-04:00", 0},
		{"over the US spring change", ny, "2026-03-06T16:00:00-05:00", "2026-03-09T10:00:00-04:00", 2 * time.Hour},
		{"over the US fall change", ny, "2026-10-30T16:00:00-04:00", "2026-11-02T10:00:00-05:00", 2 * time.Hour},
		{"equal instants", ny, "2026-06-09T10:00:00-04:00", "2026-06-09T10:00:00-04:00", 0},
		{"b before a", ny, "2026-06-09T12:00:00-04:00", "2026-06-09T10:00:00-04:00", 0},
		{"split day", split, "2026-06-08T00:00:00+02:00", "2026-06-09T00:00:00+02:00", 7*time.Hour + 30*time.Minute},
		{"lunch alone", split, "2026-06-08T12:00:00+02:00", "2026-06-08T13:00:00+02:00", 0},
		{"through midnight", late, "2026-06-08T17:00:00+02:00", "2026-06-09T03:00:00+02:00", 8 * time.Hour},
		{"24x7 spring day is 23h", berlin24, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23 * time.Hour},
		{"24x7 fall day is 25h", berlin24, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25 * time.Hour},
		{"24x7 New York spring day", ny24, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 23 * time.Hour},
		{"24x7 New York fall day", ny24, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25 * time.Hour},
		{"24x7 a year", berlin24, "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00", 365 * 24 * time.Hour},
		{"nights spring day", nights, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 2 * time.Hour},
		{"nights fall day", nights, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 4 * time.Hour},
		{"nights fall second pass only", nights, "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.Elapsed(ts(t, tt.a), ts(t, tt.b)); got != tt.want {
				t.Errorf("Elapsed(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestElapsedSaturates(t *testing.T) {
	c := mustAlwaysOpen(t, "UTC")
	a := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	b := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := c.Elapsed(a, b); got != time.Duration(1<<63-1) {
		t.Errorf("Elapsed over 400 years = %v, want the largest Duration", got)
	}
}

func TestIsOpenAndNextOpen(t *testing.T) {
	ny := mustNew(t, nyOffice)
	late := mustNew(t, berlinLate)
	nights := mustNew(t, berlinNights)
	gapShift := mustNew(t, berlinGapShift)

	tests := []struct {
		name string
		cal  *Calendar
		at   string
		open bool
		next string // NextOpen; empty means the same instant
	}{
		{"at opening", ny, "2026-06-09T09:00:00-04:00", true, ""},
		{"1ns before opening", ny, "2026-06-09T08:59:59.999999999-04:00", false, "2026-06-09T09:00:00-04:00"},
		{"1ns before closing", ny, "2026-06-09T16:59:59.999999999-04:00", true, ""},
		{"at closing", ny, "2026-06-09T17:00:00-04:00", false, "2026-06-10T09:00:00-04:00"},
		{"friday evening", ny, "2026-06-05T17:00:00-04:00", false, "2026-06-08T09:00:00-04:00"},
		{"holiday", ny, "2026-05-25T10:00:00-04:00", false, "2026-05-26T09:00:00-04:00"},
		{"partial holiday morning", ny, "2026-12-24T11:59:00-05:00", true, ""},
		{"partial holiday noon", ny, "2026-12-24T12:00:00-05:00", false, "2026-12-28T09:00:00-05:00"},
		{"midnight inside 18:00-24:00 + 00:00-02:00", late, "2026-06-09T00:00:00+02:00", true, ""},
		{"1ns before midnight", late, "2026-06-08T23:59:59.999999999+02:00", true, ""},
		{"tuesday 02:00", late, "2026-06-09T02:00:00+02:00", false, "2026-06-15T18:00:00+02:00"},
		{"second pass of the repeated hour", nights, "2026-10-25T02:30:00+01:00", true, ""},
		{"end of the long night shift", nights, "2026-10-25T04:00:00+01:00", false, "2026-10-26T01:00:00+01:00"},
		{"just after the spring jump", nights, "2026-03-29T03:00:00+02:00", true, ""},
		// The shift starts at the first 02:30, so it holds all of the second pass.
		{"repeated start: first pass before it", gapShift, "2026-10-25T02:29:00+02:00", false, "2026-10-25T02:30:00+02:00"},
		{"repeated start: second pass 02:15", gapShift, "2026-10-25T02:15:00+01:00", true, ""},
		{"skipped start: just before the jump", gapShift, "2026-03-29T01:59:59.999999999+01:00", false, "2026-03-29T03:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := ts(t, tt.at)
			if got := tt.cal.IsOpen(at); got != tt.open {
				t.Errorf("IsOpen(%s) = %v, want %v", tt.at, got, tt.open)
			}
			want := at
			if tt.next != "" {
				want = ts(t, tt.next)
			}
			got, err := tt.cal.NextOpen(at)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) || got.Location() != tt.cal.Location() {
				t.Errorf("NextOpen(%s) = %s, want %s in %v", tt.at, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano), tt.cal.Location())
			}
		})
	}
}

// BenchmarkAdd4h is the common case: a 4-business-hour SLA from a Friday
// evening lead.
func BenchmarkAdd4h(b *testing.B) {
	c := mustNew(b, nyOffice)
	start := ts(b, "2026-06-05T16:30:00-04:00")
	for b.Loop() {
		if _, err := c.Add(start, 4*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
