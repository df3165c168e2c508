package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

const publicURL = "https://baton.example.com"

var signer = func() *token.Signer {
	s, err := token.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return s
}()

func link(action, actor string) store.Link {
	return store.Link{Label: action, URL: publicURL + "/a/" + signer.Sign(token.Claims{Lead: "lead-42", Actor: actor, Action: action,
		Attempt: 1, Expires: time.Now().Add(time.Hour).Unix()})}
}

// slackSamples is one message of every kind Slack carries, with the links
// the activities put on it.
func slackSamples() []store.Message {
	view := store.Link{Label: "Open the lead", URL: publicURL + "/leads/lead-42?t=abc"}
	var out []store.Message
	for _, kind := range notify.SlackKinds {
		m := store.Message{Key: "lead-42:" + kind + ":accept:1:0:ana", Kind: kind, To: "ana.schmidt@example.com", ToName: "Ana Schmidt",
			Subject: "New lead for you: Lea <Meyer> & co", Text: "Lea Meyer, ACME (DE), score 80.\nAccept by 14:00 UTC.",
			LeadID: "lead-42", WorkflowID: "lead-lead-42", Attempt: 1}
		switch kind {
		case domain.KindOffer, domain.KindReminder:
			m.Links = []store.Link{link("accept", "ana"), link("reject", "ana")}
		case domain.KindEscalation:
			m.Links = []store.Link{view, link("reassign", "ana"), link("takeover", "ana"), link("extend", "ana")}
		case domain.KindUnreachable, domain.KindLeader:
			m.Links = []store.Link{view}
		}
		out = append(out, m)
	}
	return out
}

// TestSlackContract sends every Slack message kind through Prism serving
// Slack's own Web API contract: conversations.open, chat.postMessage with
// Block Kit, and chat.update after an action; any validator error fails it.
// (users.lookupByEmail is not here: the 2020 contract allows it only as a
// GET with the token in the query string, which Slack no longer accepts
// from new apps; slack-go POSTs it, as Slack documents today. The lookup is
// tested against a loopback server in TestSlackLookupByEmail.)
func TestSlackContract(t *testing.T) {
	base, logs := startPrism(t)
	st := openStore(t)
	if err := st.SetSlackUserID(context.Background(), "ana", "W012A3CDE"); err != nil { // the directory's slack id
		t.Fatal(err)
	}
	email := &countMailer{}
	ch := &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-test-token", base, quirkClient()), Store: st, Signer: signer, PublicURL: publicURL}
	n := notify.New(email, notify.Options{Slack: ch})
	for _, m := range slackSamples() {
		t.Run(m.Kind, func(t *testing.T) {
			before := len(violations(logs.String()))
			if err := n.Deliver(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			row, err := st.SlackMessage(context.Background(), notify.LedgerKey(m.Key, notify.Slack))
			if err != nil || row.Status != "sent" || row.Channel == "" || row.TS == "" {
				t.Errorf("slack row = %+v, %v; want sent with channel and ts", row, err)
			}
			if v := violations(logs.String()); len(v) > before {
				t.Errorf("Prism found contract violations:\n%s", strings.Join(v[before:], "\n"))
			}
		})
	}
	t.Run("chat.update", func(t *testing.T) {
		before := len(violations(logs.String()))
		row, err := st.SlackMessage(context.Background(), notify.LedgerKey(slackSamples()[0].Key, notify.Slack))
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.ShowOutcome(context.Background(), row, "Accepted by <@W012A3CDE> at 14:02 UTC.", ch.Blocks(slackSamples()[0])); err != nil {
			t.Fatal(err)
		}
		if v := violations(logs.String()); len(v) > before {
			t.Errorf("Prism found contract violations:\n%s", strings.Join(v[before:], "\n"))
		}
	})
	if len(email.keys) != 0 {
		t.Errorf("email sent %v though Slack took every message", email.keys)
	}
}
