package domain

import (
	"testing"
	"time"
)

func TestMetricsByDefinition(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	by := func(m int) string { return at(m).Format(time.RFC3339) }
	ev := func(lead, kind, actor string, m int, reason string, data map[string]string) StatEvent {
		return StatEvent{LeadID: lead, Kind: kind, Actor: actor, At: at(m), Reason: reason, Data: data}
	}
	events := []StatEvent{
		// a: offered to ana, accepted after 10 min, contacted 20 min later, converted.
		ev("a", "mql", "system", 0, "", nil),
		ev("a", "offered", "system", 0, "", map[string]string{"rep": "ana", "accept_by": by(60)}),
		ev("a", "accepted", "rep:ana", 10, "", map[string]string{"accept_by": by(60)}),
		ev("a", "contacted", "rep:ana", 30, "", nil),
		ev("a", "converted", "rep:ana", 90, "", nil),
		// b: lapsed at ben, then ana accepts after 5 min and breaches the first contact.
		ev("b", "mql", "system", 0, "", nil),
		ev("b", "offered", "system", 0, "", map[string]string{"rep": "ben", "accept_by": by(60)}),
		ev("b", "lapsed", "system", 60, "", map[string]string{"rep": "ben"}),
		ev("b", "offered", "system", 60, "", map[string]string{"rep": "ana", "accept_by": by(120)}),
		ev("b", "accepted", "rep:ana", 65, "", map[string]string{"accept_by": by(120)}),
		ev("b", "breached", "system", 200, "", map[string]string{"phase": "contact", "rep": "ana"}),
		ev("b", "contacted", "rep:ana", 210, "", nil),
		ev("b", "breached", "system", 900, "", map[string]string{"phase": "cadence-2", "rep": "ana"}),
		// c: declined by ben with a note: rejected, not in time-to-accept.
		ev("c", "mql", "system", 0, "", nil),
		ev("c", "offered", "system", 0, "", map[string]string{"rep": "ben", "accept_by": by(60)}),
		ev("c", "rejected", "rep:ben", 3, "bad-fit", map[string]string{"note": "a student"}),
		// d: offered, only lapsed: undecided, out of the acceptance rate.
		ev("d", "mql", "system", 0, "", nil),
		ev("d", "offered", "system", 0, "", map[string]string{"rep": "ben", "accept_by": by(60)}),
		ev("d", "lapsed", "system", 60, "", map[string]string{"rep": "ben"}),
		ev("d", "reassigned", "system:directory", 61, "the holder is out of office", map[string]string{"from": "ben"}),
		// e: a manager took it over: in time, not in time-to-accept.
		ev("e", "mql", "system", 0, "", nil),
		ev("e", "accepted", "manager:max", 70, "took over", nil),
	}
	ls := Cohort(LeadRecords(events, at(10000)), t0, at(10000))
	m := MetricsOf(ls)
	if m.Acceptance != (Ratio{3, 4}) { // a b e of a b c e (d undecided)
		t.Errorf("acceptance %+v", m.Acceptance)
	}
	// met: a accept, a contact, b accept (ana), e accept; missed: b lapse (ben), b contact, d lapse. Cadence not in it.
	if m.SLA != (Ratio{4, 7}) {
		t.Errorf("sla %+v", m.SLA)
	}
	if m.TimeToAccept.N != 2 || m.TimeToAccept.Median != 5*time.Minute || m.TimeToAccept.P90 != 10*time.Minute {
		t.Errorf("time to accept %+v", m.TimeToAccept)
	}
	if m.TimeToFirstContact.N != 2 || m.TimeToFirstContact.Median != 20*time.Minute || m.TimeToFirstContact.P90 != 145*time.Minute {
		t.Errorf("time to first contact %+v", m.TimeToFirstContact)
	}
	if m.Conversion != (Ratio{1, 5}) {
		t.Errorf("conversion %+v", m.Conversion)
	}
	reps := ByRep(ls)
	ana, ben := reps["ana"], reps["ben"]
	if ana.SLA != (Ratio{3, 4}) || len(ana.MissedContact) != 1 || ana.MissedContact[0] != "b" || len(ana.MissedAccept) != 0 ||
		ana.TimeToAccept.N != 2 || ana.Accepted != 2 {
		t.Errorf("ana %+v", ana)
	}
	if ben.SLA != (Ratio{0, 2}) || len(ben.MissedAccept) != 2 || ben.Away != 1 || ben.Offers != 3 || len(ben.Declines) != 1 || ben.Declines[0] != (Count{"bad-fit", 1}) {
		t.Errorf("ben %+v", ben)
	}
	// The reps' deadlines add up to the cohort's.
	sum := Ratio{}
	for _, r := range reps {
		sum.N += r.SLA.N
		sum.Of += r.SLA.Of
	}
	if sum != m.SLA {
		t.Errorf("reps sum to %+v, cohort %+v", sum, m.SLA)
	}
	// The campaign aggregate repeats the same numbers.
	st := AggregateCampaign(events, t0, at(10000), 0)
	if st.Metrics != m || st.Accepted != 3 || st.Rejected != 1 || st.SLAMet != 4 || st.SLAMissed != 3 ||
		st.AcceptMedian != 5*time.Minute || len(st.Notes) != 1 || st.Notes[0].Note != "a student" {
		t.Errorf("aggregate %+v", st)
	}
}

func TestVolumeProRata(t *testing.T) {
	week := 7 * 24 * time.Hour
	v := Volume{MQLs: 1, PerPeriod: 70, Period: week, Live: 10 * time.Minute}
	if d := v.Due(); d > 0.1 || !v.Met() {
		t.Errorf("ten minutes live owes %.2f, met %v", d, v.Met())
	}
	v = Volume{MQLs: 30, PerPeriod: 70, Period: week, Live: 3 * 24 * time.Hour}
	if v.Due() != 30 || !v.Met() {
		t.Errorf("three days of 70 a week: due %.1f", v.Due())
	}
	v.MQLs = 29
	if v.Met() {
		t.Error("29 of 30 due is a miss")
	}
	if got := v.String(); got != "29 MQLs of 30.0 due pro rata (70 per 7d, live 3d)" {
		t.Errorf("String = %q", got)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "—", 4687408 * time.Microsecond: "5s", 90 * time.Second: "2m",
		95 * time.Minute: "1h 35m", 2 * time.Hour: "2h", 50 * time.Hour: "2d 2h", 48 * time.Hour: "2d"} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if Plural(1, "lead", "leads") != "1 lead" || Plural(0, "lead", "leads") != "0 leads" {
		t.Error("plural")
	}
}

func TestMetricLines(t *testing.T) {
	m := Metrics{Acceptance: Ratio{3, 4}, SLA: Ratio{1, 1}, TimeToAccept: Durations{N: 2, Median: 5 * time.Minute, P90: 95 * time.Minute},
		Conversion: Ratio{0, 1}}
	want := []string{"Acceptance: 75% (3 of 4 decided leads)", "SLA compliance: 100% (1 of 1 deadline)",
		"Time to accept: median 5m, p90 1h 35m (over 2 accepted leads)", "Time to first contact: — (no contacted leads yet)",
		"Conversion: 0% (0 of 1 MQL)"}
	for i, l := range m.Lines() {
		if l.String() != want[i] {
			t.Errorf("line %d = %q, want %q", i, l.String(), want[i])
		}
	}
}

func TestNoBestOrWorstWhenNothingDistinguishes(t *testing.T) {
	same := []GroupConversion{{Name: "web", MQLs: 3}, {Name: "ads", MQLs: 1}} // both converted none
	if Best(same) != nil || Worst(same) != nil {
		t.Error("two sources converting alike have no best or worst")
	}
	diff := []GroupConversion{{Name: "web", MQLs: 2, Converted: 1, Rate: 0.5}, {Name: "ads", MQLs: 1}}
	if Best(diff).Name != "web" || Worst(diff).Name != "ads" {
		t.Error("best and worst when they differ")
	}
}

// Issue 16: a disqualification's note reaches marketing beside the decline notes.
func TestDisqualifyNoteIsARepNote(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	events := []StatEvent{
		{LeadID: "a", Kind: "mql", Actor: "system", At: at(0)},
		{LeadID: "a", Kind: "accepted", Actor: "rep:ana", At: at(5)},
		{LeadID: "a", Kind: "disqualified", Actor: "rep:ana", Reason: "student", Data: map[string]string{"note": "thesis project"}, At: at(9)},
		{LeadID: "b", Kind: "mql", Actor: "system", At: at(0)},
		{LeadID: "b", Kind: "accepted", Actor: "rep:ben", At: at(5)},
		{LeadID: "b", Kind: "disqualified", Actor: "rep:ben", Reason: "bad-fit", At: at(9)},
	}
	st := AggregateCampaign(events, t0, at(100), 0)
	if len(st.Notes) != 1 || st.Notes[0] != (RepNote{LeadID: "a", Rep: "ana", Kind: "disqualified", Reason: "student", Note: "thesis project", At: at(9)}) {
		t.Fatalf("notes %+v", st.Notes)
	}
}
