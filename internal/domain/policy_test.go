package domain

import (
	"strings"
	"testing"
	"time"
)

func TestParsePoliciesNamesEveryBadField(t *testing.T) {
	_, err := ParsePolicies([]byte(`
policies:
  - name: Bad Name
    accept_within: -1h
    first_contact_within: 500ms
    reminders: [0.5, 0.4, 1.2]
    on_miss: {reassign: 11, escalate: true}
    calendar: moon
  - name: team-cal
    accept_within: 4h
    calendar: team
    business_hours:
      hours: {mon: ["09:00-17:00"]}
  - name: bad-hours
    accept_within: 4h
    business_hours:
      hours: {mon: ["13:00-12:00"], funday: ["09:00-10:00"]}
  - name: team-cal
    accept_within: 1h
`))
	if err == nil {
		t.Fatal("bad policies accepted")
	}
	for _, want := range []string{
		"policies[0].name", "policies[0].accept_within: must not be negative", "policies[0].first_contact_within: must be at least 1s",
		"policies[0].reminders[1]", "policies[0].reminders[2]", "policies[0].on_miss.reassign", `policies[0].calendar: "moon"`,
		"policies[1].business_hours.time_zone: is required", "policies[2].business_hours.hours.mon[0]",
		"policies[2].business_hours.hours.funday", `policies[3].name: policy "team-cal" appears twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := ParsePolicies([]byte("policies:\n  - name: x\n    accept_within: 1h\n    colour: red\n")); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestPolicyCalendarFor(t *testing.T) {
	ps, err := ParsePolicies([]byte(`
policies:
  - name: office
    accept_within: 4h
    business_hours:
      hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
  - name: hq
    accept_within: 4h
    calendar: team
    business_hours:
      time_zone: Europe/Berlin
      hours: {mon: ["09:00-17:00"]}
  - name: always
    accept_within: 30m
`))
	if err != nil {
		t.Fatal(err)
	}
	mon := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC) // 10:30 Berlin, 04:30 New York
	cal, _ := ps[0].CalendarFor("America/New_York")
	if cal.IsOpen(mon) {
		t.Error("rep calendar: 04:30 in New York is open")
	}
	cal, _ = ps[1].CalendarFor("America/New_York") // team calendar ignores the rep's zone
	if !cal.IsOpen(mon) {
		t.Error("team calendar: 10:30 in Berlin is closed")
	}
	cal, _ = ps[2].CalendarFor("Asia/Tokyo")
	if got, _ := cal.Add(mon, 30*time.Minute); !got.Equal(mon.Add(30 * time.Minute)) {
		t.Errorf("always-open add = %v", got)
	}
	if d := DefaultPolicy(time.Hour); d.Validate() != nil || d.OnMiss.Reassign != 1 || !d.OnMiss.Escalate {
		t.Errorf("default policy %+v", d)
	}
}
