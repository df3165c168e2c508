package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/token"
)

func secLinkForgery(t *testing.T, e *secEnv) {
	s := e.s
	link := e.offerA.Links[0].URL
	tok := secLinkToken(link)
	claims, err := e.signer.Verify(tok, time.Now())
	if err != nil {
		t.Fatalf("the offer's link does not verify: %v", err)
	}
	other, _ := token.NewSigner([]byte(strings.Repeat("not-the-gateway-key", 2)))
	payload, sig, _ := strings.Cut(tok, ".")
	edited := claims
	edited.Actor = e.repB.ID
	eb, _ := json.Marshal(edited)
	expired := claims
	expired.Expires = time.Now().Add(-time.Minute).Unix()
	view := claims
	view.Action = "view"
	for _, c := range []struct {
		name, path, text string
	}{
		{"TamperedSignature", "/a/" + tok[:len(tok)-3] + "AAA", "cannot be used"},
		{"SignedWithAnotherKey", "/a/" + other.Sign(claims), "signature does not match"},
		{"ClaimsEditedSignatureKept", "/a/" + base64.RawURLEncoding.EncodeToString(eb) + "." + sig, "signature does not match"},
		{"Expired", "/a/" + e.signer.Sign(expired), "expired"},
		{"ViewTokenAsAction", "/a/" + e.signer.Sign(view), "cannot be used"},
		{"NoSignature", "/a/" + payload, "cannot be used"},
		{"EmptySignature", "/a/" + payload + ".", "cannot be used"},
		{"Oversized", "/a/" + payload + "." + strings.Repeat("A", 3000), "cannot be used"},
		{"PaddedSignature", "/a/" + tok + "=", "cannot be used"},
	} {
		t.Run(c.name, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				expect(t, secSend(t, secReq{Method: "GET", URL: s.URL + c.path}), http.StatusForbidden, c.text)
				// Straight to the POST (no confirm page): refused too.
				expect(t, secSend(t, secReq{Method: "POST", URL: s.URL + c.path, Body: "csrf=x",
					Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), http.StatusForbidden)
			})
		})
	}
	// Another spelling of a valid, unused link is not that link: only the
	// canonical encoding Sign produces verifies (BRIEF.md "Tokens").
	enc := secReencodings(tok)
	names := make([]string, 0, len(enc))
	for n := range enc {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run("Finding2_UnusedReencoded_"+n, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				expect(t, secSend(t, secReq{Method: "GET", URL: s.URL + "/a/" + secPathEscape(enc[n])}), http.StatusForbidden)
			})
		})
	}
}

func secLinkReuse(t *testing.T, e *secEnv) {
	s := e.s
	t.Run("AcceptedLinkReused", func(t *testing.T) {
		id := e.newLead(t, secLeadBody("reuse.accept@initech.example", "Reuse Accept", "Initech"))
		link := secLeadMail(t, s, id, "offer", 5*time.Second).Links[0].URL
		guard(t, s, secAction, func() { expect(t, e.confirm(t, link, nil), 200, "Lead accepted") })
		guard(t, s, secNothing, func() {
			expect(t, e.confirm(t, link, nil), http.StatusForbidden, "already used")
			// The same token with its dot percent-encoded is the same link.
			i := strings.LastIndex(link, ".")
			u := link[:i] + "%2E" + link[i+1:]
			expect(t, secSend(t, secReq{Method: "GET", URL: u}), http.StatusForbidden, "already used")
		})
	})

	// A manager's "send to the next rep" link, used once: its other
	// spellings must not move the lead again (the probe moved one three times).
	var reassign string
	reason := url.Values{"reason": {"security suite"}}
	t.Run("ReassignLinkUsedOnce", func(t *testing.T) {
		id := e.newLead(t, secLeadBody("reuse.reassign@initech.example", "Reuse Reassign", "Initech"))
		link := e.mint(token.Claims{Lead: id, Actor: "max-manager", Action: "reassign", Attempt: 1})
		guard(t, s, secAction, func() { expect(t, e.confirm(t, link, reason), 200, "reassigned") })
		guard(t, s, secNothing, func() { expect(t, e.confirm(t, link, reason), http.StatusForbidden, "already used") })
		reassign = link
	})
	if reassign != "" {
		enc := secReencodings(secLinkToken(reassign))
		names := make([]string, 0, len(enc))
		for n := range enc {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t.Run("Finding2_UsedReassignReencoded_"+n, func(t *testing.T) {
				guard(t, s, secNothing, func() {
					expect(t, e.confirm(t, s.URL+"/a/"+secPathEscape(enc[n]), reason), http.StatusForbidden)
				})
			})
		}
	}

	t.Run("ParallelSameLinkOneWins", func(t *testing.T) {
		id := e.newLead(t, secLeadBody("parallel.same@initech.example", "Parallel Same", "Initech"))
		link := e.mint(token.Claims{Lead: id, Actor: "max-manager", Action: "reassign", Attempt: 1})
		c := newJarClient()
		page := secSend(t, secReq{Method: "GET", URL: link, Client: c})
		form, ok := secForm(page.Body, "")
		if !ok {
			t.Fatalf("confirm page: %d %s", page.Code, page.Body)
		}
		form.Set("reason", "security suite")
		guard(t, s, secAction, func() {
			codes := secParallel(t, 8, func(int) secResp {
				return secSend(t, secReq{Method: "POST", URL: link, Body: form.Encode(), Client: c,
					Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": s.URL}})
			})
			secOneWins(t, codes)
		})
	})

	t.Run("ParallelReencodingsOneWins", func(t *testing.T) {
		id := e.newLead(t, secLeadBody("parallel.enc@initech.example", "Parallel Enc", "Initech"))
		link := secLeadMail(t, s, id, "offer", 5*time.Second).Links[0].URL
		tok := secLinkToken(link)
		urls := []string{link}
		for _, v := range secReencodings(tok) {
			urls = append(urls, s.URL+"/a/"+secPathEscape(v))
		}
		type armed struct {
			c    *http.Client
			form url.Values
			u    string
		}
		var ready []armed
		refusedEarly := 0
		for _, u := range urls {
			c := newJarClient()
			page := secSend(t, secReq{Method: "GET", URL: u, Client: c})
			if form, ok := secForm(page.Body, ""); ok && page.Code == 200 {
				ready = append(ready, armed{c, form, u})
			} else {
				refusedEarly++
			}
		}
		guard(t, s, secAction, func() {
			codes := secParallel(t, len(ready), func(i int) secResp {
				a := ready[i]
				return secSend(t, secReq{Method: "POST", URL: a.u, Body: a.form.Encode(), Client: a.c,
					Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": s.URL}})
			})
			secOneWins(t, codes)
		})
		t.Logf("%d spellings refused at the confirm page, %d raced", refusedEarly, len(ready))
	})
}

// secParallel runs n requests at once and returns their answers.
func secParallel(t *testing.T, n int, f func(i int) secResp) []secResp {
	t.Helper()
	out := make([]secResp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out[i] = f(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return out
}

// secOneWins checks that exactly one answer did the action and every other
// was refused (403 link used, or 409 the workflow's stale answer).
func secOneWins(t *testing.T, rs []secResp) {
	t.Helper()
	won, refused := 0, 0
	var codes []int
	for _, r := range rs {
		codes = append(codes, r.Code)
		switch r.Code {
		case 200:
			won++
		case 403, 409:
			refused++
		}
	}
	if won != 1 || refused != len(rs)-1 {
		t.Errorf("%d concurrent uses of one link: codes %v, want exactly one 200", len(rs), codes)
	}
}

func secCSRF(t *testing.T, e *secEnv) {
	s := e.s
	link := e.offerA.Links[0].URL
	form := secFormCT
	t.Run("ActionPostWithoutCookie", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "POST", URL: link, Body: "csrf=abc", Header: map[string]string{"Content-Type": form}}), 403)
		})
	})
	t.Run("ActionPostWrongToken", func(t *testing.T) {
		c := newJarClient()
		secSend(t, secReq{Method: "GET", URL: link, Client: c})
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "POST", URL: link, Body: "csrf=00112233445566778899aabbccddeeff", Client: c,
				Header: map[string]string{"Content-Type": form}}), 403)
		})
	})
	t.Run("ActionCrossSitePost", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "POST", URL: link, Body: "csrf=",
				Header: map[string]string{"Content-Type": form, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}), 403)
		})
	})
	t.Run("GetNeverActs", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			for range 3 {
				expect(t, secSend(t, secReq{Method: "GET", URL: link}), 200)
			}
			r := secSend(t, secReq{Method: "HEAD", URL: link})
			expectf(t, r.Code == 200 || r.Code == 405, "HEAD: %d", r.Code)
		})
	})
	t.Run("ActionCookieIsStrict", func(t *testing.T) {
		r := secSend(t, secReq{Method: "GET", URL: link})
		ck := r.Header.Get("Set-Cookie")
		expectf(t, strings.Contains(ck, "HttpOnly") && strings.Contains(ck, "SameSite=Strict"), "confirm cookie %q", ck)
	})
	t.Run("SigninPostWithoutCookie", func(t *testing.T) {
		l := secMintLoginLink(t, s, "cy.walsh@example.com", time.Now().Add(15*time.Minute))
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "POST", URL: l, Body: "csrf=abc", Header: map[string]string{"Content-Type": form}}), 403)
			expect(t, secSend(t, secReq{Method: "POST", URL: l, Body: "csrf=",
				Header: map[string]string{"Content-Type": form, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}), 403)
		})
		// Refused without being spent: the link still opens its page.
		expect(t, secSend(t, secReq{Method: "GET", URL: l}), 200)
	})
}
