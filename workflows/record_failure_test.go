package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
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

// dbAwayMailer fails every message's first n attempts as the mailers do
// when Baton's own PostgreSQL is away (the ledger cannot be written): a
// plain retryable error, nothing about the message or its recipient.
type dbAwayMailer struct {
	*fakeMailer
	n int32
}

func (m dbAwayMailer) Deliver(ctx context.Context, msg store.Message) error {
	if activity.GetInfo(ctx).Attempt <= m.n {
		return errors.New("claim email " + msg.Key + ": dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return m.fakeMailer.Deliver(ctx, msg)
}

// Found by the fault suite (make chaos-dev): a notice gave up after six
// attempts, which a failing database (PostgreSQL restarting: 1+2+4+8+16 s of
// backoff) uses up in half a minute. The offer was then recorded
// undeliverable and the rep unreachable, and the lead moved to the next rep,
// whose offer met the same outage. Baton's own outage is not the message's
// fault: the notice is retried through it and goes out.
func TestDatabaseAwayDoesNotMakeAnOfferUndeliverable(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	r.withMailer(dbAwayMailer{fakeMailer: r.mail, n: 8})
	var accept, closeErr error
	r.update(nyAt(23, 9, 0), UpdateAccept, AcceptInput{RepID: "ana", Attempt: 1}, &accept)
	r.update(nyAt(23, 9, 5), UpdateClose, CloseInput{RepID: "ana", Outcome: OutcomeConverted, Reference: "OPP-1"}, &closeErr)
	out := r.execute()
	if accept != nil || closeErr != nil || out.State != domain.StateConverted {
		t.Fatalf("accept %v, close %v, state %s; events %v", accept, closeErr, out.State, r.store.kinds())
	}
	for _, k := range r.store.kinds() {
		if k == "mail-failed" || k == "unreachable" {
			t.Fatalf("the database outage made the offer undeliverable: events %v", r.store.kinds())
		}
	}
	if got := kindsOf(r.mail.to("ana@example.com")); len(got) == 0 || got[0] != "offer" {
		t.Fatalf("mail to ana: %v, want the offer", got)
	}
}
