package domain

import (
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
