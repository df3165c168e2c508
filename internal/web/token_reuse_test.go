package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/token"
)

// respellings of a link token as an attacker would send them in the path
// (issue 15, finding 2): CR/LF inside, a last character with the same bits,
// padding, the std alphabet.
func respellings(tok string) map[string]string {
	p, sig, _ := strings.Cut(tok, ".")
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alpha, sig[len(sig)-1])
	out := map[string]string{
		"CR":           p + "." + sig[:4] + "%0D" + sig[4:],
		"LF":           p + "." + sig[:4] + "%0A" + sig[4:],
		"CRLF at end":  tok + "%0D%0A",
		"padding":      tok + "%3D",
		"std alphabet": p + "." + strings.NewReplacer("-", "%2B", "_", "%2F").Replace(sig),
	}
	// A 43-character signature leaves two low bits unused.
	out["same-bits last char"] = p + "." + sig[:len(sig)-1] + string(alpha[last^1])
	return out
}

// Issue 15, finding 2: a used one-click link stays used under every other
// spelling; none shows the form or claims the link again.
func TestUsedActionLinkRefusedUnderEveryRespelling(t *testing.T) {
	f := seed(t)
	ctx := context.Background()
	c := token.Claims{Lead: f.leads["Priya Nair"], Actor: "max-manager", Action: "reassign", Attempt: 1, Expires: time.Now().Add(time.Hour).Unix()}
	tok := f.srv.Signer.Sign(c)
	// Unused, the canonical link shows the confirm page.
	if resp, page := get(t, http.DefaultClient, f.url+"/a/"+tok); resp.StatusCode != 200 || !strings.Contains(page, `name="csrf"`) {
		t.Fatalf("fresh link: %d %s", resp.StatusCode, page)
	}
	if err := f.st.ClaimToken(ctx, c.UseKey(), c.Lead, c.Actor, c.Action); err != nil {
		t.Fatal(err)
	}
	if err := f.st.UseToken(ctx, c.UseKey(), c.Action); err != nil {
		t.Fatal(err)
	}
	for name, bad := range respellings(tok) {
		resp, page := get(t, http.DefaultClient, f.url+"/a/"+bad)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(page, `name="csrf"`) {
			t.Errorf("%s: GET %d %s", name, resp.StatusCode, page)
		}
		resp, page = post(t, http.DefaultClient, f.url+"/a/"+bad, url.Values{"csrf": {"x"}, "reason": {"again"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: POST %d %s", name, resp.StatusCode, page)
		}
	}
	var n int
	if err := f.st.Pool.QueryRow(ctx, `select count(*) from used_tokens`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("used_tokens rows %d (%v), want the one use", n, err)
	}
}
