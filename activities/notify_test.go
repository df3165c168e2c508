package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

type captured struct{ msgs []store.Message }

func (c *captured) Deliver(_ context.Context, m store.Message) error {
	c.msgs = append(c.msgs, m)
	return nil
}

// TestContactRemindersCarryTheirAction: a first-contact or follow-up
// reminder links to Log contact (a one-click link for the rep) and the lead.
func TestContactRemindersCarryTheirAction(t *testing.T) {
	signer, _ := token.NewSigner([]byte(strings.Repeat("activities-key", 3)))
	out := &captured{}
	a := &Activities{Mailer: out, Signer: signer, PublicURL: "https://baton.example.com", From: "Baton <baton@example.com>", LinkTTL: time.Hour}
	rep := domain.PersonRef{ID: "ana", Name: "Ana", Email: "ana@example.com", TimeZone: "Europe/Berlin"}
	for _, phase := range []string{"contact", "cadence-2"} {
		in := NotifyInput{Kind: mail.KindReminder, Phase: phase, Seq: 1, To: rep, Rep: rep,
			Lead:     domain.LeadSnapshot{ID: "ld_1", Email: "dana@acme.example", Name: "Dana", Attempt: 1, Owner: rep},
			Campaign: domain.CampaignInfo{ID: "c", Name: "Webinar"}, Deadline: time.Now().Add(time.Hour)}
		if err := a.Notify(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		m := out.msgs[len(out.msgs)-1]
		if len(m.Links) != 2 || m.Links[0].Label != "Log contact" || !strings.HasPrefix(m.Links[1].URL, "https://baton.example.com/leads/ld_1?t=") {
			t.Fatalf("%s reminder links: %+v", phase, m.Links)
		}
		c, err := signer.Verify(strings.TrimPrefix(m.Links[0].URL, "https://baton.example.com/a/"), time.Now())
		if err != nil || c.Action != "contact" || c.Actor != "ana" || c.Lead != "ld_1" {
			t.Fatalf("%s: Log contact link %+v %v", phase, c, err)
		}
		if !strings.Contains(m.Text, m.Links[0].URL) {
			t.Errorf("%s: the text part lacks the link:\n%s", phase, m.Text)
		}
	}
}

// Issue 16: a missed first contact's escalation carries the manager's
// actions (the leader's, at level 2, without the take-over), and a nudge
// carries the link the holder needs, valid after the passed deadline.
func TestMissedFirstContactMailsCarryTheirActions(t *testing.T) {
	signer, _ := token.NewSigner([]byte(strings.Repeat("activities-key", 3)))
	out := &captured{}
	a := &Activities{Mailer: out, Signer: signer, PublicURL: "https://baton.example.com", From: "Baton <baton@example.com>", LinkTTL: time.Hour}
	rep := domain.PersonRef{ID: "ana", Name: "Ana", Email: "ana@example.com", TimeZone: "Europe/Berlin"}
	max := domain.PersonRef{ID: "max", Name: "Max", Email: "max@example.com", TimeZone: "Europe/Berlin"}
	lead := domain.LeadSnapshot{ID: "ld_1", Email: "dana@acme.example", Name: "Dana", Attempt: 3, Owner: rep}
	passed := time.Now().Add(-2 * time.Hour)
	send := func(in NotifyInput) store.Message {
		t.Helper()
		in.Lead, in.Campaign = lead, domain.CampaignInfo{ID: "c", Name: "Webinar"}
		if err := a.Notify(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		return out.msgs[len(out.msgs)-1]
	}
	actions := func(m store.Message) string {
		var xs []string
		for _, l := range m.Links {
			if u, ok := strings.CutPrefix(l.URL, "https://baton.example.com/a/"); ok {
				c, err := signer.Verify(u, time.Now())
				if err != nil || c.Attempt != 3 || c.Lead != "ld_1" {
					t.Fatalf("%s link: %+v %v", l.Label, c, err)
				}
				xs = append(xs, c.Action)
			}
		}
		return strings.Join(xs, ",")
	}
	m := send(NotifyInput{Kind: mail.KindEscalation, Phase: "contact", Seq: 1, To: max, Rep: rep, Deadline: time.Now()})
	if got := actions(m); got != "hand,hand-self,extend-contact,nudge" {
		t.Errorf("manager's escalation actions %q", got)
	}
	m = send(NotifyInput{Kind: mail.KindEscalation, Phase: "contact", Seq: 2, To: max, Rep: rep, Deadline: time.Now()})
	if got := actions(m); got != "hand,extend-contact,nudge" {
		t.Errorf("leader's escalation actions %q", got)
	}
	m = send(NotifyInput{Kind: mail.KindEscalation, Phase: "accept", Seq: 1, To: max, Rep: rep, Deadline: time.Now()})
	if got := actions(m); got != "reassign,takeover,extend,nudge" {
		t.Errorf("accept escalation actions %q", got)
	}
	m = send(NotifyInput{Kind: mail.KindNudge, Phase: "contact", Seq: 1, To: rep, Rep: rep, From: max, Deadline: passed})
	if got := actions(m); got != "contact" || !strings.Contains(m.Subject, "Max asks") {
		t.Errorf("nudge after a missed contact: %q %q", got, m.Subject)
	}
	m = send(NotifyInput{Kind: mail.KindNudge, Phase: "accept", Seq: 2, To: rep, Rep: rep, From: max, Deadline: passed})
	if got := actions(m); got != "accept" {
		t.Errorf("nudge of an escalated offer: %q", got)
	}
	m = send(NotifyInput{Kind: mail.KindHanded, Phase: "contact", To: rep, Rep: rep, From: max, Deadline: time.Now().Add(time.Hour)})
	if got := actions(m); got != "contact" || !strings.Contains(m.Text, "Max handed you") {
		t.Errorf("handed: %q\n%s", got, m.Text)
	}
}
