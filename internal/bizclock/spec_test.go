package bizclock

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestNewRejects(t *testing.T) {
	mon := func(hours ...string) map[string][]string { return map[string][]string{"mon": hours} }
	tests := []struct {
		name string
		spec Spec
		want string // the whole message after "invalid calendar: "
	}{
		{"unknown zone", Spec{TimeZone: "Mars/Olympus_Mons", Hours: weekdays9to5},
			`time_zone: "Mars/Olympus_Mons" is not an IANA time zone such as Europe/Berlin`},
		{"missing zone", Spec{Hours: weekdays9to5},
			`time_zone: is required: an IANA time zone such as Europe/Berlin`},
		{"host zone", Spec{TimeZone: "Local", Hours: weekdays9to5},
			`time_zone: "Local" is each host's own zone; name an IANA time zone such as Europe/Berlin`},
		{"start after end", Spec{TimeZone: "UTC", Hours: mon("09:00-12:00", "13:00-12:00")},
			`hours.mon[1]: "13:00-12:00": start is not before end`},
		{"empty interval", Spec{TimeZone: "UTC", Hours: mon("09:00-09:00")},
			`hours.mon[0]: "09:00-09:00": start is not before end`},
		{"starts at 24:00", Spec{TimeZone: "UTC", Hours: mon("24:00-24:00")},
			`hours.mon[0]: "24:00-24:00": start is not before end`},
		{"overlap", Spec{TimeZone: "UTC", Hours: mon("09:00-12:00", "11:00-13:00")},
			`hours.mon[1]: "11:00-13:00" overlaps hours.mon[0] "09:00-12:00"`},
		{"overlap listed first", Spec{TimeZone: "UTC", Hours: mon("11:00-13:00", "09:00-12:00")},
			`hours.mon[0]: "11:00-13:00" overlaps hours.mon[1] "09:00-12:00"`},
		{"contained", Spec{TimeZone: "UTC", Hours: mon("08:00-18:00", "10:00-11:00", "12:00-13:00")},
			`hours.mon[1]: "10:00-11:00" overlaps hours.mon[0] "08:00-18:00"; hours.mon[2]: "12:00-13:00" overlaps hours.mon[0] "08:00-18:00"`},
		{"duplicate", Spec{TimeZone: "UTC", Hours: mon("09:00-17:00", "09:00-17:00")},
			`hours.mon[1]: "09:00-17:00" overlaps hours.mon[0] "09:00-17:00"`},
		{"past 24:00", Spec{TimeZone: "UTC", Hours: mon("18:00-24:30")},
			`hours.mon[0]: "18:00-24:30": 24:30 is outside 00:00-24:00`},
		{"hour 25", Spec{TimeZone: "UTC", Hours: mon("09:00-25:00")},
			`hours.mon[0]: "09:00-25:00": 25:00 is outside 00:00-24:00`},
		{"minute 60", Spec{TimeZone: "UTC", Hours: mon("09:60-17:00")},
			`hours.mon[0]: "09:60-17:00": 09:60 is not a time: minutes run from 00 to 59`},
		{"negative time", Spec{TimeZone: "UTC", Hours: mon("-01:00-17:00")},
			`hours.mon[0]: "-01:00-17:00": not a range such as "09:00-17:30"`},
		{"not a time", Spec{TimeZone: "UTC", Hours: mon("9am-5pm")},
			`hours.mon[0]: "9am-5pm": "9am" is not a time such as 09:00`},
		{"not a range", Spec{TimeZone: "UTC", Hours: mon("09:00")},
			`hours.mon[0]: "09:00": not a range such as "09:00-17:30"`},
		{"unknown weekday", Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"09:00-17:00"}, "Monday": {"09:00-17:00"}}},
			`hours.Monday: unknown weekday; use mon, tue, wed, thu, fri, sat or sun`},
		{"no working time", Spec{TimeZone: "UTC"},
			`hours: no working time on any weekday`},
		{"only closed weekdays", Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": nil, "sun": {}}},
			`hours: no working time on any weekday`},
		{"no weekly time, only a holiday's", Spec{TimeZone: "UTC", Holidays: []HolidaySpec{{Date: "2026-12-24", Hours: []string{"09:00-12:00"}}}},
			`hours: no working time on any weekday`},
		{"bad holiday date", Spec{TimeZone: "UTC", Hours: weekdays9to5, Holidays: []HolidaySpec{{Date: "2026-02-30"}}},
			`holidays[0].date: "2026-02-30" is not a date such as 2026-12-24`},
		{"holiday date in another format", Spec{TimeZone: "UTC", Hours: weekdays9to5, Holidays: []HolidaySpec{{Date: "24.12.2026"}}},
			`holidays[0].date: "24.12.2026" is not a date such as 2026-12-24`},
		{"holiday twice", Spec{TimeZone: "UTC", Hours: weekdays9to5, Holidays: []HolidaySpec{{Date: "2026-12-24"}, {Date: "2026-12-25"}, {Date: "2026-12-24", Hours: []string{"09:00-12:00"}}}},
			`holidays[2].date: 2026-12-24 is already listed at holidays[0]`},
		{"bad holiday hours", Spec{TimeZone: "UTC", Hours: weekdays9to5, Holidays: []HolidaySpec{{Date: "2026-12-24", Hours: []string{"12:00-09:00"}}}},
			`holidays[0].hours[0]: "12:00-09:00": start is not before end`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.spec)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.spec)
			}
			if c != nil {
				t.Errorf("New returned a calendar with an error")
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err is %T, want FieldErrors", err)
			}
			if got := strings.TrimPrefix(err.Error(), "invalid calendar: "); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := New(Spec{
		TimeZone: "Europe/Berln",
		Hours: map[string][]string{
			"mon": {"09:00-12:00", "13:00-12:00"},
			"fri": {"09:00-17:00", "16:00-18:00"},
			"xyz": {"09:00-17:00"},
		},
		Holidays: []HolidaySpec{{Date: "2026-13-01"}, {Date: "2026-12-24", Hours: []string{"09:00-24:01"}}},
	})
	var fe FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want FieldErrors", err)
	}
	var fields []string
	for _, e := range fe {
		fields = append(fields, e.Field)
	}
	want := "time_zone hours.xyz hours.mon[1] hours.fri[1] holidays[0].date holidays[1].hours[0]"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("fields %q, want %q\n(%v)", got, want, err)
	}
}

func TestAddRejectsNegativeDuration(t *testing.T) {
	c := mustNew(t, nyOffice)
	_, err := c.Add(ts(t, "2026-06-05T16:30:00-04:00"), -time.Second)
	if !errors.Is(err, ErrNegativeDuration) {
		t.Fatalf("err = %v, want ErrNegativeDuration", err)
	}
	if want := "add -1s to 2026-06-05T16:30:00-04:00: negative business duration"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

// TestNoWorkingTimeIsAnError closes every Monday, the only working day, for
// more than 400 days: Add and NextOpen give up instead of searching forever.
func TestNoWorkingTimeIsAnError(t *testing.T) {
	spec := func(weeks int) Spec {
		s := Spec{TimeZone: "Europe/Berlin", Hours: map[string][]string{"mon": {"09:00-17:00"}}}
		for i := range weeks {
			s.Holidays = append(s.Holidays, HolidaySpec{Date: time.Date(2026, 1, 5+7*i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)})
		}
		return s
	}
	start := ts(t, "2026-01-01T12:00:00+01:00")

	closed := mustNew(t, spec(60)) // Mondays from 2026-01-05 to 2027-02-22
	_, err := closed.Add(start, time.Hour)
	if !errors.Is(err, ErrNoWorkingTime) {
		t.Fatalf("Add: err = %v, want ErrNoWorkingTime", err)
	}
	if want := "add 1h0m0s to 2026-01-01T12:00:00+01:00: no working time in the 400 days from 2026-01-01T12:00:00+01:00"; err.Error() != want {
		t.Errorf("Add: err = %q, want %q", err, want)
	}
	if _, err := closed.NextOpen(start); !errors.Is(err, ErrNoWorkingTime) {
		t.Errorf("NextOpen: err = %v, want ErrNoWorkingTime", err)
	}
	// Elapsed and IsOpen are bounded by their arguments and need no limit.
	if e := closed.Elapsed(start, start.AddDate(2, 0, 0)); e != 8*time.Hour*(104-60) {
		t.Errorf("Elapsed over two years = %v", e)
	}

	// The limit counts closed days after the last working time, not from t.
	s := spec(60)
	s.Holidays = s.Holidays[1:] // open on 2026-01-05 only, then closed 413 days
	_, err = mustNew(t, s).Add(start, 9*time.Hour)
	if want := "add 9h0m0s to 2026-01-01T12:00:00+01:00: no working time in the 400 days from 2026-01-05T17:00:00+01:00"; err == nil || err.Error() != want {
		t.Errorf("Add: err = %v, want %q", err, want)
	}

	// 50 closed Mondays is within the limit.
	open := mustNew(t, spec(50))
	got, err := open.Add(start, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := ts(t, "2026-12-21T10:00:00+01:00"); !got.Equal(want) {
		t.Errorf("Add = %s, want %s", got, want)
	}
}

func TestAlwaysOpenRejectsUnknownZone(t *testing.T) {
	_, err := AlwaysOpen("Europe/Atlantis")
	if want := `invalid calendar: time_zone: "Europe/Atlantis" is not an IANA time zone such as Europe/Berlin`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestSpecFromYAML decodes a calendar the way an SLA policy will embed it.
func TestSpecFromYAML(t *testing.T) {
	const doc = `
time_zone: Europe/Berlin
hours:
  mon: ["09:00-12:00", "13:00-17:30"]
  tue: ["09:00 - 17:30"]
  sat: []
holidays:
  - {date: "2026-12-24", name: Christmas Eve, hours: ["09:00-12:00"]}
  - {date: "2026-12-25", name: Christmas Day}
`
	var spec Spec
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, spec)
	for _, tt := range []struct {
		a, b string
		want time.Duration
	}{
		{"2026-06-08T00:00:00+02:00", "2026-06-10T00:00:00+02:00", 7*time.Hour + 30*time.Minute + 8*time.Hour + 30*time.Minute},
		{"2026-12-24T00:00:00+01:00", "2026-12-26T00:00:00+01:00", 3 * time.Hour},
	} {
		if got := c.Elapsed(ts(t, tt.a), ts(t, tt.b)); got != tt.want {
			t.Errorf("Elapsed(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func ExampleCalendar_Add() {
	c, err := New(Spec{
		TimeZone: "America/New_York",
		Hours: map[string][]string{
			"mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "wed": {"09:00-17:00"},
			"thu": {"09:00-17:00"}, "fri": {"09:00-17:00"},
		},
	})
	if err != nil {
		panic(err)
	}
	lead := time.Date(2026, 6, 5, 16, 30, 0, 0, c.Location()) // a Friday
	due, _ := c.Add(lead, 4*time.Hour)
	remind, _ := c.Add(lead, 2*time.Hour) // at 50% of the window
	fmt.Println(due.Format("Mon 15:04"), remind.Format("Mon 15:04"))
	// Output: Mon 12:30 Mon 10:30
}
