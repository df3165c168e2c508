package workflows

import (
	"errors"
	"testing"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5/pgconn"
)

// Issue 15, finding 4: how a lead workflow failed. A short database step is a
// local activity, and the SDK ends a local activity's retries at its
// ScheduleToCloseTimeout, which defaults to its StartToCloseTimeout (10s):
// a database refusing a row, or away for more than ten seconds, failed the
// lead. A transient error now retries as long as it lasts.
func TestDatabaseAwayLongerThanTenSecondsDoesNotFailTheLead(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	fails := 0
	r.store.failRecord = func(ev domain.Event) error {
		if ev.Kind == "mql" && fails < 7 { // 1+2+4+8+16+32+60 s of backoff
			fails++
			return errors.New("connect: connection refused")
		}
		return nil
	}
	var accept, closeErr error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &accept)
	r.update(nyAt(23, 9, 5), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	out := r.execute()
	if accept != nil || closeErr != nil || out.State != domain.StateConverted || fails != 7 {
		t.Fatalf("accept %v, close %v, state %s, %d failures", accept, closeErr, out.State, fails)
	}
}

// PostgreSQL refusing an event's data for good (a data exception, SQLSTATE
// class 22) is non-retryable; the lead goes on instead of failing.
func TestDataRefusedByTheDatabaseDoesNotFailTheLead(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.store.failRecord = func(ev domain.Event) error {
		if ev.Kind == "mql" {
			return &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}
		}
		return nil
	}
	var accept, closeErr error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &accept)
	r.update(nyAt(23, 9, 5), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	out := r.execute()
	if accept != nil || closeErr != nil || out.State != domain.StateConverted {
		t.Fatalf("accept %v, close %v, state %s", accept, closeErr, out.State)
	}
	wantKinds(t, r.store.kinds()[:3], "captured", "offered", "accepted")
}
