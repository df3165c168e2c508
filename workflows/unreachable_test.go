package workflows

import (
	"context"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"go.temporal.io/sdk/temporal"
)

// refusingMailer is SendGrid answering 400 for some addresses.
type refusingMailer struct {
	*fakeMailer
	refuse map[string]bool
	tries  int
}

func (m *refusingMailer) Deliver(ctx context.Context, msg store.Message) error {
	if m.refuse[msg.To] {
		m.tries++
		return temporal.NewNonRetryableApplicationError("sendgrid rejected "+msg.Key+" with 400: invalid address", mail.ErrRejected, nil)
	}
	return m.fakeMailer.Deliver(ctx, msg)
}

func newRefusingRun(t *testing.T, refuse ...string) *lifeRun {
	r := newLifeRun(t, "ana", "bea")
	rm := &refusingMailer{fakeMailer: r.mail, refuse: map[string]bool{}}
	for _, a := range refuse {
		rm.refuse[a] = true
	}
	// Replace the registered activities with ones using the refusing mailer.
	acts := newActivities(r.store, r.mail)
	acts.Mailer = rm
	r.env.RegisterActivity(acts)
	return r
}

func kindsOf(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Kind)
	}
	return out
}

func TestRefusedOfferTakesTheRepUnreachablePath(t *testing.T) {
	r := newRefusingRun(t, "ana@example.com")
	var bea, closeErr error
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-9"}, &closeErr)
	out := r.execute()
	if bea != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", bea, closeErr)
	}
	// The refusal does not wait for the 4-hour deadline: bea is offered at once.
	wantAt(t, "second offer", r.eventAt("offered", 2), nyAt(20, 16, 30))
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "mail-rejected", "unreachable", "offered", "accepted", "contact-due", "converted")
	if got := kindsOf(r.mail.to("max@example.com")); strings.Join(got, ",") != mail.KindUnreachable {
		t.Errorf("manager got %v, want one %s alert", got, mail.KindUnreachable)
	}
	if got := r.mail.to("ana@example.com"); len(got) != 0 {
		t.Errorf("the unreachable rep was mailed %v", kindsOf(got))
	}
	if got := kindsOf(r.mail.to("bea@example.com")); len(got) != 1 || got[0] != mail.KindOffer {
		t.Errorf("bea got %v, want the offer", got)
	}
	for _, e := range r.store.events {
		if e.Kind == "mail-rejected" && !strings.Contains(e.Reason, "400: invalid address") {
			t.Errorf("mail-rejected reason %q lacks SendGrid's status and message", e.Reason)
		}
	}
	if out.Owner.ID != "bea" || out.State != domain.StateConverted {
		t.Fatalf("result %+v", out)
	}
}

func TestRefusedReminderIsRecordedAndTheLeadGoesOn(t *testing.T) {
	// Every message to ana is refused, but only the offer moves the lead:
	// refusing the manager's alert must not fail the workflow either.
	r := newRefusingRun(t, "ana@example.com", "max@example.com")
	var bea, closeErr error
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-9"}, &closeErr)
	r.execute()
	if bea != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", bea, closeErr)
	}
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "mail-rejected", "unreachable", "offered", "mail-rejected", "accepted", "contact-due", "converted")
}

func TestBouncedOfferReassignsAtOnceAndAlertsTheManager(t *testing.T) {
	r := newLifeRun(t, "ana", "bea")
	bounce := MailBounce{Key: "ld_test:offer:accept:1:0:ana", Kind: mail.KindOffer, Email: "ana@example.com", Attempt: 1,
		Event: "bounce", Reason: "550 5.1.1 mailbox unavailable"}
	r.at(nyAt(20, 16, 35), func() { r.env.SignalWorkflow(SignalMailBounced, bounce) })
	// A repeat of the same event and a bounce of a notice change nothing more.
	r.at(nyAt(20, 16, 36), func() { r.env.SignalWorkflow(SignalMailBounced, bounce) })
	notice := bounce
	notice.Kind, notice.Attempt = mail.KindReminder, 2
	r.at(nyAt(20, 16, 37), func() { r.env.SignalWorkflow(SignalMailBounced, notice) })
	var bea, closeErr error
	r.update(nyAt(20, 16, 40), UpdateAccept, AcceptInput{RepID: "bea", Attempt: 2}, &bea)
	r.update(nyAt(20, 16, 45), UpdateClose, CloseInput{RepID: "bea", Outcome: OutcomeConverted, Reference: "OPP-9"}, &closeErr)
	out := r.execute()
	if bea != nil || closeErr != nil {
		t.Fatalf("accept %v, close %v", bea, closeErr)
	}
	wantAt(t, "second offer", r.eventAt("offered", 2), nyAt(20, 16, 35))
	wantKinds(t, r.store.kinds(), "captured", "mql", "offered", "unreachable", "offered", "accepted", "contact-due", "converted")
	alerts := r.mail.to("max@example.com")
	if len(alerts) != 1 || alerts[0].Kind != mail.KindUnreachable || !strings.Contains(alerts[0].Text, "550 5.1.1") {
		t.Fatalf("manager mail %v, want one rep-unreachable alert with the bounce reason", kindsOf(alerts))
	}
	if got := kindsOf(r.mail.to("ana@example.com")); len(got) != 1 {
		t.Errorf("ana got %v, want only the (bounced) offer", got)
	}
	if out.Owner.ID != "bea" {
		t.Fatalf("owner %s", out.Owner.ID)
	}
}

func TestReassignedNoticeSaysWhy(t *testing.T) {
	r := newLifeRun(t, "ana", "bea", "cy")
	var away, moved, cy, closeErr error
	r.update(nyAt(23, 9, 15), UpdateAway, AwayInput{RepID: "ana", Until: nyAt(27, 17, 0)}, &away)
	r.update(nyAt(23, 9, 20), UpdateReassign, ReassignInput{ManagerID: "max", Reason: "Bea is at the offsite"}, &moved)
	r.update(nyAt(23, 9, 25), UpdateAccept, AcceptInput{RepID: "cy", Attempt: 3}, &cy)
	r.update(nyAt(23, 9, 30), UpdateClose, CloseInput{RepID: "cy", Outcome: OutcomeConverted, Reference: "OPP-14"}, &closeErr)
	r.execute()
	if away != nil || moved != nil || cy != nil || closeErr != nil {
		t.Fatalf("away %v, reassign %v, accept %v, close %v", away, moved, cy, closeErr)
	}
	for rep, want := range map[string]string{
		"ana@example.com": "moved to Bea at Mon 23 Nov 09:15 EST: the holder is out of office.",
		"bea@example.com": "moved to Cy at Mon 23 Nov 09:20 EST: your manager moved it (Bea is at the offsite).",
	} {
		var notice *store.Message
		for _, m := range r.mail.to(rep) {
			if m.Kind == mail.KindReassigned {
				notice = &m
			}
		}
		if notice == nil || !strings.Contains(notice.Text, want) {
			t.Errorf("%s: reassigned notice %+v, want it to say %q", rep, notice, want)
		}
	}
}
