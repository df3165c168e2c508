package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Timers are armed from the worker's wall clock after a local activity
// (timerNow). A worker whose clock runs ahead of the server's then arms them
// short, and the timer fires before the instant: the wait must go on to the
// instant, so no reminder or breach is ever early. Here the worker is 90 s
// ahead; the Friday-evening lead's reminder and breaches land exactly on time.
func TestAWorkerClockAheadNeverFiresADeadlineEarly(t *testing.T) {
	ahead := 0
	t.Cleanup(withWallClock(func(ctx workflow.Context) time.Time { ahead++; return workflow.Now(ctx).Add(90 * time.Second) }))

	r := newLifeRun(t, "ana", "bea")
	var bea, closeErr error
	r.update(nyAt(24, 13, 0), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(24, 15, 0), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-42"}, &closeErr)
	r.execute()
	if bea != nil || closeErr != nil || ahead == 0 {
		t.Fatalf("accept %v, close %v; the wall clock was read %d times", bea, closeErr, ahead)
	}
	wantAt(t, "first reminder", r.eventAt("reminded", 1), nyAt(23, 10, 30))
	wantAt(t, "first breach", r.eventAt("lapsed", 1), nyAt(23, 12, 30))
	wantAt(t, "second reminder", r.eventAt("reminded", 2), nyAt(23, 14, 30))
	wantAt(t, "second breach", r.eventAt("lapsed", 2), nyAt(23, 16, 30))
	wantAt(t, "escalation to the sales leader", r.eventAt("escalated", 2), nyAt(24, 12, 30))
}

// withWallClock sets the worker clock timerNow reads and returns what puts
// the real one back. Tests that set it must not run in parallel.
func withWallClock(clock func(workflow.Context) time.Time) (restore func()) {
	saved := wallClock
	wallClock = clock
	return func() { wallClock = saved }
}

// aheadByUpTo6s is a worker clock 0 to 6 s ahead of the server's, varying
// with the instant it is read.
func aheadByUpTo6s(ctx workflow.Context) time.Time {
	now := workflow.Now(ctx)
	return now.Add(time.Duration(now.UnixNano()/int64(time.Millisecond)%7) * time.Second)
}
