package domain

import (
	"strings"
	"testing"
	"time"
)

func TestBatchWindowRule(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	const win = time.Minute
	// Nothing sent yet: the first leads, at once, and opens a window.
	s := NextBatchStep(MailWindow{}, t0, win, "escalation", "Max@Example.com")
	if !s.SendNow || !s.ClosesAt.Equal(t0.Add(win)) {
		t.Fatalf("first: %+v", s)
	}
	w := MailWindow{ClosesAt: s.ClosesAt}
	// The next, inside the window: a new batch, due when the window closes.
	s = NextBatchStep(w, t0.Add(time.Second), win, "escalation", "Max@Example.com")
	if s.SendNow || !s.NewBatch || !s.Due.Equal(t0.Add(win)) || s.Batch != BatchKey("escalation", "max@example.com", t0.Add(win)) {
		t.Fatalf("second: %+v", s)
	}
	w.OpenBatch = s.Batch
	// Later ones join it, even once it is due but not yet claimed.
	for _, at := range []time.Duration{2 * time.Second, 59 * time.Second, 61 * time.Second} {
		if s2 := NextBatchStep(w, t0.Add(at), win, "escalation", "max@example.com"); s2.SendNow || s2.NewBatch || s2.Batch != s.Batch {
			t.Fatalf("at +%s: %+v", at, s2)
		}
	}
	// The batch went out at +61s: the next window runs to +121s, so what
	// comes meanwhile waits for the next batch (one email per window).
	w = BatchSent(t0.Add(61*time.Second), win)
	if s3 := NextBatchStep(w, t0.Add(70*time.Second), win, "escalation", "max@example.com"); s3.SendNow || !s3.NewBatch || !s3.Due.Equal(t0.Add(121*time.Second)) {
		t.Fatalf("after a batch: %+v", s3)
	}
	// A window that closed with nothing queued: the next leads again.
	if s4 := NextBatchStep(w, t0.Add(121*time.Second), win, "escalation", "max@example.com"); !s4.SendNow {
		t.Fatalf("after a quiet window: %+v", s4)
	}
	// Window zero: no batching.
	if s5 := NextBatchStep(MailWindow{ClosesAt: t0.Add(time.Hour), OpenBatch: "x"}, t0, 0, "escalation", "m"); !s5.SendNow {
		t.Fatalf("window 0: %+v", s5)
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "  ": "", "+49 30 123456": "+4930123456", "+1 (415) 555-0100": "+14155550100", "0049 30 123456": "+4930123456",
		"030 123456": "030123456", "030.123.456": "030123456", "5550100": "5550100", "+123456789012345": "+123456789012345",
	} {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, frag := range map[string]string{
		"+49 30 12x456": `has 'x'`, "030 1234 ext 5": `has 'e'`, "49+30": "+ that is not at the start", "123": "at least 4",
		"+1234567": "at least 8", "+1234567890123456": "at most 15", "+0301234567": "does not start with 0",
		"030\n123456": "control", "030\u202e123456": "bidirectional", strings.Repeat("1 ", 25): "longer than 40",
		"tel:+4930123456": `has 't'`,
	} {
		if _, err := NormalizePhone(in); err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("NormalizePhone(%q) = %v; want an error with %q", in, err, frag)
		}
	}
	if TelURL("+4930123456") != "tel:+4930123456" || TelURL("javascript:x") != "" || TelURL("+49 30") != "" || TelURL("") != "" {
		t.Fatal("TelURL lets a non-stored form through")
	}
}

func TestMissCausesCountLeadsOncePerCause(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ev := func(lead, kind, actor, reason string, data map[string]string, min int) StatEvent {
		return StatEvent{LeadID: lead, Kind: kind, Actor: actor, Reason: reason, Data: data, At: at.Add(time.Duration(min) * time.Minute)}
	}
	skip := func(lead, rep, why string, min int) StatEvent {
		return ev(lead, "skipped", "system:routing", why, map[string]string{"rep": rep, "waited": "false"}, min)
	}
	evs := []StatEvent{
		ev("a", "mql", "system", "", nil, 0), skip("a", "bea", SkipOffShift, 1), skip("a", "cy", SkipAtCap, 1),
		skip("a", "bea", SkipOffShift, 5), // a second attempt of the same lead: still one lead
		ev("b", "mql", "system", "", nil, 0), skip("b", "bea", SkipAway, 1),
		ev("c", "mql", "system", "", nil, 0), ev("c", "reassigned", "system:directory", "", map[string]string{"from": "bea"}, 2),
		ev("c", "rejected", "rep:bea", "no-budget", nil, 3), ev("d", "mql", "system", "", nil, 0), ev("d", "rejected", "rep:bea", "bad-fit", nil, 3),
		ev("e", "mql", "system", "", nil, 0), skip("e", "bea", "inactive", 1), // not a cause
	}
	by := ByRep(Cohort(LeadRecords(evs, time.Time{}), time.Time{}, time.Time{}))
	got := map[string][]string{}
	for _, c := range by["bea"].Causes {
		got[c.Label] = c.Leads
	}
	want := map[string][]string{"off shift": {"a"}, "away": {"b", "c"}, "declined: " + ReasonLabel("bad-fit"): {"d"}, "declined: " + ReasonLabel("no-budget"): {"c"}}
	if len(got) != len(want) {
		t.Fatalf("bea's causes: %v, want %v", got, want)
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != strings.Join(v, ",") {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	if c := by["cy"]; c == nil || len(c.Causes) != 1 || c.Causes[0].Key != CauseAtCap || len(c.Causes[0].Leads) != 1 {
		t.Fatalf("cy (only ever skipped at cap): %+v", c)
	}
	if order := by["bea"].Causes; order[0].Key != CauseOffShift || order[1].Key != CauseAway {
		t.Fatalf("causes out of order: %+v", order)
	}
}
