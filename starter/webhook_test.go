package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/webhook"
)

func TestWebhookCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", testenv.Database(t))
	var got []string
	var secret string
	status := http.StatusOK
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = append(got, string(body))
		w.WriteHeader(status)
	}))
	defer rcv.Close()

	for _, c := range []struct{ args, want string }{
		{"webhook add " + rcv.URL, "--events: required"},
		{"webhook add " + rcv.URL + " --events lead.eaten", `events: "lead.eaten" is not an event type`},
		{"webhook add ftp://x --events *", `url: "ftp://x" is not an http(s) URL`},
		{"webhook add " + rcv.URL + " --events * --secret abc", `secret: must start with "whsec_"`},
		{"webhook remove wh_nope", "webhook wh_nope: no such subscription"},
		{"webhook test wh_nope", "webhook wh_nope: no such subscription"},
	} {
		if _, _, err := runCLI(t, strings.Fields(c.args)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.args, err, c.want)
		}
	}
	out, _, err := runCLI(t, "webhook", "add", rcv.URL, "--events", "lead.accepted,sla.breached")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`webhook (wh_[0-9a-f]+) added: .* gets lead.accepted, sla.breached\nsigning secret .*: (whsec_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("add printed:\n%s", out)
	}
	id := m[1]
	secret = m[2]
	out, _, err = runCLI(t, "webhook", "list")
	if err != nil || !strings.Contains(out, id) || strings.Contains(out, "whsec_") {
		t.Fatalf("list (must not show the secret): %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "webhook", "test", id)
	if err != nil || !strings.Contains(out, "delivered: the receiver answered 200") || len(got) != 1 || !strings.Contains(strings.ReplaceAll(got[0], " ", ""), `"type":"webhook.test"`) {
		t.Fatalf("test: %v\n%s\nreceived %v", err, out, got)
	}
	status = http.StatusInternalServerError
	if _, _, err := runCLI(t, "webhook", "test", id); err == nil || !strings.Contains(err.Error(), "answered 500") {
		t.Errorf("test against a failing receiver: %v", err)
	}
	out, _, _ = runCLI(t, "webhook", "list")
	if !strings.Contains(out, "deliveries: 1 pending, 1 delivered, 0 failed") {
		t.Errorf("list counts:\n%s", out)
	}
	if out, _, err := runCLI(t, "webhook", "remove", id); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if out, _, _ := runCLI(t, "webhook", "list"); strings.Contains(out, id) {
		t.Errorf("still listed after remove:\n%s", out)
	}
}
