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
