package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
)

// Issue 15, finding 2 on the real stack: the manager's "hand to a rep"
// link moves the lead once. Its other spellings (CR/LF inside, another last
// character with the same bits) were each a fresh link; now each is refused
// and the lead moves no more.
func TestReencodedManagerLinkMovesTheLeadOnce(t *testing.T) {
	s := startStack(t)
	usePolicy(t, s, domain.Policy{Name: "e2e-escalate-first", AcceptWithin: domain.Duration(2 * time.Second),
		OnMiss: domain.OnMiss{Reassign: 0, Escalate: true}})
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"otto@umbrella.example","name":"Otto Berg","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	id := res["id"].(string)
	esc := waitMail(t, s, "max.becker@example.com", "escalation", 10*time.Second)
	link := linkNamed(t, esc, "Hand to a rep") // no rep named: the next one in the rotation
	if code, page := clickWith(t, link, url.Values{"reason": {"move 1"}}); code != 200 || !strings.Contains(page, "Lead reassigned") {
		t.Fatalf("first use: %d %s", code, page)
	}
	waitMail(t, s, "bea.ortiz@example.com", "offer", 5*time.Second)
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alpha, link[len(link)-1])
	dot := strings.LastIndexByte(link, '.')
	for name, again := range map[string]string{
		"CR inside":           link[:dot+5] + "%0D" + link[dot+5:],
		"LF at the end":       link + "%0A",
		"same-bits last char": link[:len(link)-1] + string(alpha[last^1]),
	} {
		if code, page := clickWith(t, again, url.Values{"reason": {name}}); code != 403 {
			t.Errorf("%s: %d %s", name, code, page)
		}
	}
	moves := 0
	for _, e := range getLead(t, s, id).Events {
		if e.Kind == "reassigned" {
			moves++
		}
	}
	if moves != 1 {
		t.Fatalf("%d moves recorded, want 1", moves)
	}
}
