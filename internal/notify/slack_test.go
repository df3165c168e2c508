package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
)

// fakeSlack answers the Web API methods from a table and records calls.
type fakeSlack struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
	forms []url.Values
	auth  []string
	reply map[string]string // method -> JSON body
}

func newFakeSlack(t *testing.T, reply map[string]string) *fakeSlack {
	f := &fakeSlack{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		method := strings.TrimPrefix(r.URL.Path, "/")
		f.mu.Lock()
		f.calls = append(f.calls, method)
		f.forms = append(f.forms, form)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		body, ok := f.reply[method]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "unknown method", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSlack) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == method {
			n++
		}
	}
	return n
}

var okSlack = map[string]string{
	"users.lookupByEmail": `{"ok":true,"user":{"id":"U0ANA"}}`,
	"conversations.open":  `{"ok":true,"channel":{"id":"D0ANA"}}`,
	"chat.postMessage":    `{"ok":true,"channel":"D0ANA","ts":"1700000000.000100"}`,
}

func offer() store.Message {
	return slackSamples()[0]
}

// TestSlackLookupByEmailThenDM: a person without a Slack id in the
// directory is found by email once (kept for next time), and the token goes
// in the Authorization header, never in the body.
func TestSlackLookupByEmailThenDM(t *testing.T) {
	st := openStore(t)
	f := newFakeSlack(t, okSlack)
	email := &countMailer{}
	n := notify.New(email, notify.Options{Slack: &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-secret", f.URL+"/", nil),
		Store: st, Signer: signer, PublicURL: publicURL}})
	ctx := context.Background()
	m := offer()
	for range 2 { // a retried activity: Slack gets it once
		if err := n.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if f.count("users.lookupByEmail") != 1 || f.count("conversations.open") != 1 || f.count("chat.postMessage") != 1 {
		t.Fatalf("calls %v: want one lookup, one open, one post", f.calls)
	}
	if f.forms[0].Get("email") != "ana.schmidt@example.com" {
		t.Errorf("lookup form %v", f.forms[0])
	}
	for i, form := range f.forms {
		if form.Has("token") || f.auth[i] != "Bearer xoxb-secret" {
			t.Errorf("%s: token in the body (%v) or Authorization %q", f.calls[i], form.Has("token"), f.auth[i])
		}
	}
	if p, _ := st.SlackPerson(ctx, m.To); p.UserID != "U0ANA" {
		t.Errorf("the Slack id found by email was not kept: %+v", p)
	}
	post := f.forms[2]
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(post.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks: %v (%s)", err, post.Get("blocks"))
	}
	raw := post.Get("blocks")
	for _, want := range []string{`"action_id":"baton:accept"`, `"action_id":"baton:reject"`, `"static_select"`, "not-my-territory", `Lea \u0026lt;Meyer\u0026gt; \u0026amp; co`} {
		if !strings.Contains(raw, want) {
			t.Errorf("blocks lack %s:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "/a/") {
		t.Error("a signed link token is in the Slack message; buttons carry action names, the tokens stay in PostgreSQL")
	}
	if len(email.keys) != 0 {
		t.Errorf("email also sent: %v", email.keys)
	}
}

// TestSlackFailureSendsEmailAndRecordsWhy: a revoked token, an outage and
// a person who turned Slack off all get the message by email at once (no
// error for the activity to retry), and the lead's events say why.
func TestSlackFailureSendsEmailAndRecordsWhy(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		reply map[string]string
		why   string
	}{
		{"revoked token", map[string]string{"conversations.open": `{"ok":false,"error":"token_revoked"}`}, "conversations.open: token_revoked"},
		{"outage", map[string]string{"conversations.open": `{"ok":true,"channel":{"id":"D1"}}`}, "chat.postMessage: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			if err := st.SetSlackUserID(ctx, "ana", "U0ANA"); err != nil {
				t.Fatal(err)
			}
			f := newFakeSlack(t, c.reply) // chat.postMessage unknown: 404, as in an outage
			email := &countMailer{}
			n := notify.New(email, notify.Options{Slack: &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-x", f.URL+"/", nil),
				Store: st, Signer: signer, PublicURL: publicURL}})
			m := offer()
			for range 2 {
				if err := n.Deliver(ctx, m); err != nil {
					t.Fatalf("a Slack failure must not fail the notice: %v", err)
				}
			}
			if len(email.keys) != 2 || email.keys[0] != m.Key {
				t.Errorf("email got %v; want the message (the email ledger keeps it to one send)", email.keys)
			}
			if f.count("conversations.open") != 1 {
				t.Errorf("Slack tried %d times; a failed message is not tried in Slack again", f.count("conversations.open"))
			}
			var reason string
			err := st.Pool.QueryRow(ctx, `select reason from lead_events where lead_id = 'lead-42' and kind = 'slack-failed'`).Scan(&reason)
			if err != nil || !strings.Contains(reason, "sent by email") || !strings.Contains(reason, c.why) {
				t.Errorf("lead event: %q %v; want why (%s)", reason, err, c.why)
			}
		})
	}
	t.Run("slack off", func(t *testing.T) {
		st := openStore(t)
		if _, err := st.Pool.Exec(ctx, `update people set slack_user_id = 'U0ANA', slack_off = true where id = 'ana'`); err != nil {
			t.Fatal(err)
		}
		f := newFakeSlack(t, okSlack)
		email := &countMailer{}
		n := notify.New(email, notify.Options{Slack: &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-x", f.URL+"/", nil),
			Store: st, Signer: signer, PublicURL: publicURL}})
		if err := n.Deliver(ctx, offer()); err != nil || len(email.keys) != 1 || len(f.calls) != 0 {
			t.Errorf("slack off: err %v, email %v, slack calls %v", err, email.keys, f.calls)
		}
	})
	t.Run("kinds", func(t *testing.T) {
		st := openStore(t)
		if _, err := st.Pool.Exec(ctx, `update people set slack_user_id = 'U0ANA', slack_kinds = '{escalation}' where id = 'ana'`); err != nil {
			t.Fatal(err)
		}
		f := newFakeSlack(t, okSlack)
		email := &countMailer{}
		n := notify.New(email, notify.Options{Slack: &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-x", f.URL+"/", nil),
			Store: st, Signer: signer, PublicURL: publicURL}})
		if err := n.Deliver(ctx, offer()); err != nil || len(email.keys) != 1 || len(f.calls) != 0 {
			t.Errorf("an offer to someone taking only escalations in Slack: err %v, email %v, slack %v", err, email.keys, f.calls)
		}
	})
}

// TestSlackCapFullGoesByEmail: one Slack rate cap per worker; a message it
// cannot take before the activity's deadline goes by email at once.
func TestSlackCapFullGoesByEmail(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.SetSlackUserID(ctx, "ana", "U0ANA"); err != nil {
		t.Fatal(err)
	}
	f := newFakeSlack(t, okSlack)
	email := &countMailer{}
	n := notify.New(email, notify.Options{SlackRate: 0.1, Slack: &notify.SlackChannel{Client: notify.NewSlackClient("xoxb-x", f.URL+"/", nil),
		Store: st, Signer: signer, PublicURL: publicURL}})
	msgs := slackSamples()
	if err := n.Deliver(ctx, msgs[0]); err != nil || f.count("chat.postMessage") != 1 {
		t.Fatalf("first: %v, posts %d", err, f.count("chat.postMessage"))
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second) // the activity's deadline
	defer cancel()
	start := time.Now()
	if err := n.Deliver(dctx, msgs[1]); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond || f.count("chat.postMessage") != 1 || len(email.keys) != 1 || email.keys[0] != msgs[1].Key {
		t.Errorf("took %s, posts %d, email %v: want the second message by email at once", d, f.count("chat.postMessage"), email.keys)
	}
}
