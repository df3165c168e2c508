package e2e

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/batonhq/baton/internal/token"
)

func secSignInCases(t *testing.T, e *secEnv) {
	s := e.s
	t.Run("LinkReused", func(t *testing.T) {
		l := secMintLoginLink(t, s, "cy.walsh@example.com", time.Now().Add(15*time.Minute))
		guard(t, s, secSession, func() { expect(t, secSignInWith(t, newJarClient(), l), http.StatusSeeOther) })
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "GET", URL: l, Client: newJarClient()}), 403, "already used")
		})
	})
	t.Run("LinkExpired", func(t *testing.T) {
		l := secMintLoginLink(t, s, "cy.walsh@example.com", time.Now().Add(-time.Minute))
		guard(t, s, secNothing, func() { expect(t, secSend(t, secReq{Method: "GET", URL: l}), 403, "expired") })
	})
	t.Run("LinkUnknown", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "GET", URL: s.URL + "/signin/" + secRandom()}), 403, "not valid")
		})
	})
	// The sign-in form answers the same for an address in the directory and
	// one that is not (the address itself aside).
	answer := func(email string) (int, string) {
		r := secSend(t, secReq{Method: "POST", URL: s.URL + "/signin", Body: url.Values{"email": {email}}.Encode(),
			Header: map[string]string{"Content-Type": secFormCT}})
		return r.Code, strings.ReplaceAll(r.Body, email, "EMAIL")
	}
	t.Run("EnumerationSameAnswer", func(t *testing.T) {
		guard(t, s, secSigninMail, func() {
			kc, kb := answer("sam.okafor@example.com")
			uc, ub := answer("nobody.here@example.com")
			expectf(t, kc == 200 && kc == uc && kb == ub, "known %d, unknown %d; same page %v", kc, uc, kb == ub)
		})
	})
	t.Run("UnknownAddressWritesNothing", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			c, _ := answer("nobody.else@example.com")
			expect(t, secResp{Code: c}, 200)
		})
	})
	t.Run("Finding5_EnumerationAfterSixTries", func(t *testing.T) {
		guard(t, s, secSigninMail, func() {
			for i := 1; i <= 6; i++ {
				kc, kb := answer("mia.laurent@example.com")
				uc, ub := answer("no.such.person@example.com")
				if kc != uc || kb != ub {
					t.Errorf("try %d: known address %d, unknown %d (same page: %v)", i, kc, uc, kb == ub)
				}
			}
		})
	})
	t.Run("SessionFixation", func(t *testing.T) {
		planted := secRandom()
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(s.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "baton_session", Value: planted, Path: "/"}})
		c := &http.Client{Jar: jar}
		l := secMintLoginLink(t, s, "bea.ortiz@example.com", time.Now().Add(15*time.Minute))
		guard(t, s, secSession, func() {
			expect(t, secSignInWith(t, c, l), http.StatusSeeOther)
			got := secSessionCookie(c, s.URL)
			expectf(t, got != "" && got != planted, "the session kept the planted cookie value")
			r := secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: noRedirectsWith(secWithCookie(s.URL, planted))})
			expectf(t, r.Code == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/signin"),
				"the planted value opened a session: %d %s", r.Code, r.Header.Get("Location"))
		})
	})
	for name, v := range map[string]string{"ForgedSessionCookie": secRandom(), "OversizedSessionCookie": strings.Repeat("x", 4000),
		"SessionCookieWithControls": "a%00b%0d%0a"} {
		t.Run(name, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				r := secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: noRedirectsWith(secWithCookie(s.URL, v))})
				expectf(t, r.Code == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/signin"), "%d %s", r.Code, r.Header.Get("Location"))
			})
		})
	}
	t.Run("SessionCookieFlags", func(t *testing.T) {
		l := secMintLoginLink(t, s, "bea.ortiz@example.com", time.Now().Add(15*time.Minute))
		guard(t, s, secSession, func() {
			r := secSignInWith(t, newJarClient(), l)
			var ck string
			for _, v := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(v, "baton_session=") && !strings.HasPrefix(v, "baton_session=;") {
					ck = v
				}
			}
			expectf(t, strings.Contains(ck, "HttpOnly") && strings.Contains(ck, "SameSite=") && strings.Contains(ck, "Path=/"), "session cookie %q", ck)
		})
	})
}

const secFormCT = "application/x-www-form-urlencoded"

func noRedirectsWith(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

// secSignout posts the sign-out form of a signed-in page as the page would.
func secSignout(t *testing.T, s *Stack, c *http.Client) secResp {
	t.Helper()
	page := secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: c})
	form, ok := secForm(page.Body, "/signout")
	if !ok {
		t.Fatalf("no sign-out form on the inbox: %s", clip(page.Body))
	}
	return secSend(t, secReq{Method: "POST", URL: s.URL + "/signout", Body: form.Encode(), Client: c,
		Header: map[string]string{"Content-Type": secFormCT, "Origin": s.URL, "Sec-Fetch-Site": "same-origin", "Referer": s.URL + "/inbox"}})
}

func secLogout(t *testing.T, e *secEnv) {
	s := e.s
	t.Run("LogoutEndsTheSession", func(t *testing.T) {
		c := secSignIn(t, s, "max.becker@example.com")
		old := secSessionCookie(c, s.URL)
		guard(t, s, []string{"table:sessions"}, func() {
			expect(t, secSignout(t, s, c), 200, "Signed out")
			r := secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: noRedirectsWith(secWithCookie(s.URL, old))})
			expectf(t, r.Code == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/signin"),
				"the old session still works after logout: %d", r.Code)
		})
	})
	t.Run("Finding5_CrossSiteLogoutRefused", func(t *testing.T) {
		c := secSignIn(t, s, "max.becker@example.com")
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/signout", Client: c,
				Header: map[string]string{"Content-Type": secFormCT, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}})
			expect(t, r, 403)
			expect(t, secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: noRedirectsWith(c)}), 200)
		})
	})
	t.Run("GetSignoutDoesNothing", func(t *testing.T) {
		c := secSignIn(t, s, "max.becker@example.com")
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "GET", URL: s.URL + "/signout", Client: noRedirectsWith(c)})
			expectf(t, r.Code == 405 || r.Code == 404, "GET /signout: %d", r.Code)
			expect(t, secSend(t, secReq{Method: "GET", URL: s.URL + "/inbox", Client: noRedirectsWith(c)}), 200)
		})
	})
}

func secIDOR(t *testing.T, e *secEnv) {
	s := e.s
	missing := func(c *http.Client, p string) secResp {
		return secSend(t, secReq{Method: "GET", URL: s.URL + p, Client: noRedirectsWith(c)})
	}
	hidden := func(t *testing.T, c *http.Client, p, notFoundLike, secret string) {
		t.Helper()
		r, ref := missing(c, p), missing(c, notFoundLike)
		expectf(t, r.Code == 404 && r.Body == ref.Body && !strings.Contains(r.Body, secret),
			"%s: %d (same as a missing one: %v)", p, r.Code, r.Body == ref.Body)
	}
	t.Run("RepReadsAnotherRepsLead", func(t *testing.T) {
		a := e.browser(t, e.repA.Email)
		guard(t, s, secNothing, func() {
			expect(t, missing(a, "/leads/"+e.leadA), 200, "Alpha Lead")
			hidden(t, a, "/leads/"+e.leadB, "/leads/ld_aaaaaaaaaaaaaaaa", "Bravo Secret")
		})
	})
	t.Run("RepPagesOmitAnotherRepsLead", func(t *testing.T) {
		a := e.browser(t, e.repA.Email)
		guard(t, s, secNothing, func() {
			for _, p := range []string{"/inbox", "/campaigns", "/campaigns/webinar-q3", "/scoreboard"} {
				r := missing(a, p)
				expectf(t, !strings.Contains(r.Body, "Bravo Secret") && !strings.Contains(r.Body, "Globex Secret"), "%s shows rep B's lead", p)
			}
		})
	})
	t.Run("RepInboxLinksBoundToTheRep", func(t *testing.T) {
		a := e.browser(t, e.repA.Email)
		guard(t, s, secNothing, func() {
			page := missing(a, "/inbox").Body
			links := regexp.MustCompile(`/a/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`).FindAllStringSubmatch(page, -1)
			expectf(t, len(links) > 0, "rep A's inbox has no action links")
			for _, m := range links {
				c, err := e.signer.Verify(m[1], time.Now())
				expectf(t, err == nil && c.Actor == e.repA.ID && c.Lead != e.leadB, "inbox link %+v (%v)", c, err)
			}
		})
	})
	t.Run("RepActsOnAnotherRepsLead", func(t *testing.T) {
		link := e.mint(token.Claims{Lead: e.leadB, Actor: e.repA.ID, Action: "accept", Attempt: 1})
		guard(t, s, secNothing, func() { expect(t, e.confirm(t, link, nil), 409) })
	})
	t.Run("RepSessionIsNotAnAPIKey", func(t *testing.T) {
		a := e.browser(t, e.repA.Email)
		guard(t, s, secNothing, func() { expect(t, missing(a, "/api/v1/leads/"+e.leadB), 401) })
	})
	t.Run("ManagerOtherTeamsLead", func(t *testing.T) {
		d := e.browser(t, "dora.huber@example.com")
		guard(t, s, secNothing, func() {
			expect(t, missing(d, "/leads/"+e.leadDACH), 200, "Delta Dach")
			hidden(t, d, "/leads/"+e.leadA, "/leads/ld_aaaaaaaaaaaaaaaa", "Alpha Lead")
			hidden(t, d, "/campaigns/webinar-q3", "/campaigns/no-such-campaign", "Webinar Q3")
			r := missing(d, "/inbox")
			expectf(t, !strings.Contains(r.Body, "Alpha Lead") && !strings.Contains(r.Body, "Bravo Secret"), "dora's inbox shows EMEA leads")
		})
	})
	t.Run("ManagerActsOnOtherTeamsLead", func(t *testing.T) {
		link := e.mint(token.Claims{Lead: e.leadA, Actor: "dora-manager", Action: "reassign", Attempt: 1})
		guard(t, s, secNothing, func() {
			r := e.confirm(t, link, url.Values{"reason": {"not my team"}})
			expectf(t, r.Code == 409 || r.Code == 403, "another team's manager reassigned the lead: %d %s", r.Code, clip(r.Body))
		})
	})
	t.Run("MarketerOtherCampaign", func(t *testing.T) {
		z, m := e.browser(t, "zoe.weber@example.com"), e.browser(t, "mo.fischer@example.com")
		guard(t, s, secNothing, func() {
			expect(t, missing(z, "/leads/"+e.leadDACH), 200, "Delta Dach")
			expect(t, missing(m, "/leads/"+e.leadA), 200, "Alpha Lead")
			hidden(t, z, "/leads/"+e.leadA, "/leads/ld_aaaaaaaaaaaaaaaa", "Alpha Lead")
			hidden(t, m, "/leads/"+e.leadDACH, "/leads/ld_aaaaaaaaaaaaaaaa", "Delta Dach")
			hidden(t, z, "/campaigns/webinar-q3", "/campaigns/no-such-campaign", "Webinar Q3")
			r := missing(z, "/campaigns")
			expectf(t, !strings.Contains(r.Body, "Webinar Q3"), "zoe's campaign list shows Webinar Q3")
		})
	})
}

// secLocationSafe checks a post-sign-in redirect: a same-origin path with
// no control character, whitespace or backslash, that a browser (which drops
// tabs and newlines) resolves to this host.
func secLocationSafe(base, loc string) error {
	if loc == "" {
		return fmt.Errorf("no Location")
	}
	for _, r := range loc {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' {
			return fmt.Errorf("Location %q holds %q", loc, r)
		}
	}
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		return fmt.Errorf("Location %q is not a path on this site", loc)
	}
	u, err := url.Parse(strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(loc))
	if err != nil {
		return fmt.Errorf("Location %q: %v", loc, err)
	}
	b, _ := url.Parse(base)
	if r := b.ResolveReference(u); u.Scheme != "" || u.Host != "" || r.Host != b.Host {
		return fmt.Errorf("Location %q leaves the site (%s)", loc, r)
	}
	return nil
}

func secRedirects(t *testing.T, e *secEnv) {
	s := e.s
	for _, c := range []struct{ name, query, want string }{
		{"Finding3_EncodedTab", "/%09/evil.example/phish", ""},
		{"Finding3_EncodedNewline", "/%0A/evil.example", ""},
		{"Finding3_EncodedCR", "/%0D/evil.example", ""},
		{"Finding3_TabsAndNewlines", "/%09%0D%0A/evil.example", ""},
		{"Finding3_EncodedSpace", "/%20/evil.example", ""},
		{"Backslash", "/%5Cevil.example", ""},
		{"BackslashSlash", "/%5C/evil.example", ""},
		{"DoubleSlash", "//evil.example", ""},
		{"EncodedDoubleSlash", "/%252F%252Fevil.example", ""},
		{"DoubleEncodedTab", "/%2509/evil.example", ""},
		{"HTTPSURL", "https://evil.example/", ""},
		{"SchemeRelativeWithTab", "%09//evil.example", ""},
		{"JavascriptURL", "javascript:alert(1)", ""},
		{"LeadingSpace", "%20//evil.example", ""},
		{"SafePathKept", "/campaigns/webinar-q3", "/campaigns/webinar-q3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := secMintLoginLink(t, s, "max.becker@example.com", time.Now().Add(15*time.Minute))
			guard(t, s, secSession, func() {
				r := secSignInWith(t, newJarClient(), l+"?next="+c.query)
				loc := r.Header.Get("Location")
				expectf(t, r.Code == http.StatusSeeOther, "sign in: %d", r.Code)
				if err := secLocationSafe(s.URL, loc); err != nil {
					t.Error(err)
				}
				expectf(t, c.want == "" || loc == c.want, "Location %q, want %q", loc, c.want)
			})
		})
	}
}
