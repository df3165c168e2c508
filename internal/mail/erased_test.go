package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
)

// withLead stores the campaign and the lead the sample notices are about
// (lead-42), so the lead can be erased.
func withLead(t *testing.T, st *store.Store) {
	t.Helper()
	_, err := st.Pool.Exec(context.Background(), `
		insert into teams (id, name) values ('t-emea', 'EMEA');
		insert into campaigns (id, name, owner_name, owner_email, team_id, status, accept_window_seconds, spec)
			values ('c-webinar-q3', 'Webinar Q3', 'Olga Owner', 'olga@example.com', 't-emea', 'live', 14400, '{}');
		insert into leads (id, email, name, company, campaign_id, state, workflow_id, version)
			values ('lead-42', 'dana.lee@acme.example', 'Dana Lee', 'Acme', 'c-webinar-q3', 'Offered', 'lead-lead-42', 3)`)
	if err != nil {
		t.Fatal(err)
	}
}

func ledgerRows(t *testing.T, st *store.Store, key string) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), `select count(*) from email_ledger where key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A message about a lead erased between the workflow's decision to send it
// and the send (an activity retried after its worker died, found by the
// fault suite on the outbox) must not reach SendGrid: nothing about the
// person goes out, and no ledger row is written. Checked against Prism
// serving SendGrid's contract: the message before the erasure is a valid
// send Prism accepts, the one after it never arrives.
func TestSendGridSendsNothingAboutAnErasedLead(t *testing.T) {
	baseURL, logs := startPrism(t)
	st := openStore(t)
	withLead(t, st)
	ctx := context.Background()
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: baseURL, Grace: grace}
	requests := func() int { return strings.Count(logs.String(), "Request received") }

	before := compose(t, notice(mail.KindOffer))
	before.LeadID = "lead-42"
	if err := sg.Deliver(ctx, before); err != nil {
		t.Fatalf("the offer before the erasure: %v\ncontract violations:\n%s", err, violations(logs.String()))
	}
	if r := ledger(t, st, before.Key); r.Status != "sent" {
		t.Fatalf("ledger row before the erasure = %+v, want sent", r)
	}
	sent := requests()
	if sent != 1 {
		t.Fatalf("Prism logged %d requests for one send; the test counts %q lines:\n%s", sent, "Request received", logs.String())
	}

	if err := st.Erase(ctx, "lead-42"); err != nil {
		t.Fatal(err)
	}
	after := compose(t, notice(mail.KindReminder))
	after.LeadID = "lead-42"
	for i := range 2 { // the first attempt and its retry
		if err := sg.Deliver(ctx, after); err != nil {
			t.Fatalf("Deliver #%d after the erasure: %v, want nil (nothing to send)", i+1, err)
		}
	}
	time.Sleep(200 * time.Millisecond) // Prism logs a request as it arrives
	if n := requests() - sent; n != 0 {
		t.Fatalf("%d requests reached SendGrid after the erasure:\n%s", n, logs.String())
	}
	if n := ledgerRows(t, st, after.Key); n != 0 {
		t.Fatalf("%d ledger rows written for a message after the erasure", n)
	}
	// The message sent before stays sent, its address blanked by the erasure.
	var to string
	if err := st.Pool.QueryRow(ctx, `select to_email from email_ledger where key = $1`, before.Key).Scan(&to); err != nil || to != "erased" {
		t.Fatalf("ledger address of the message before the erasure: %q %v", to, err)
	}
}

// A message whose first call failed definitely (5xx: 'retry') or whose
// outcome is unknown ('sending', past the grace period) is not sent again
// once the lead is erased.
func TestSendGridRetryAfterErasureSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string // the row the first attempt leaves
	}{
		{"retry", "retry"},
		{"unknown outcome", "sending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			withLead(t, st)
			sgs := newCounting(t, accepted("msg-1"))
			m := compose(t, notice(mail.KindOffer))
			m.LeadID = "lead-42"
			first := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace}
			if tc.status == "retry" {
				fail := newCounting(t, status(503, `{"errors":[{"message":"busy"}]}`))
				first.BaseURL = fail.URL
			} else {
				first.Faults = &mail.Faults{AfterSend: func(string) error { return errKilled }} // sent; the worker died before recording it
			}
			if err := first.Deliver(context.Background(), m); err == nil {
				t.Fatal("the first attempt succeeded; want a failure")
			}
			if r := ledger(t, st, m.Key); r.Status != tc.status {
				t.Fatalf("row after the first attempt: %+v, want %s", r, tc.status)
			}
			sentBefore := sgs.of(m.Key)
			if err := st.Erase(context.Background(), "lead-42"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(grace + 100*time.Millisecond) // past the grace period: a resend would be due
			sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: sgs.URL, Grace: grace}
			for i := range 2 {
				if err := sg.Deliver(context.Background(), m); err != nil {
					t.Fatalf("Deliver #%d after the erasure: %v, want nil", i+1, err)
				}
			}
			if n := sgs.of(m.Key) - sentBefore; n != 0 {
				t.Fatalf("%d requests after the erasure", n)
			}
		})
	}
}
