package e2e

// Helpers of the security suite (security_*_test.go). They reuse startStack
// and the package's helpers, and add what an attacker's client needs: raw
// requests with chosen headers and peers, sign-in without the mail budget,
// form scraping, and the mail a lead produced, read from the outbox table.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
)

// secReq is one request as an attacker sends it.
type secReq struct {
	Method, URL, Body string
	Header            map[string]string
	Client            *http.Client // nil: a fresh client that does not follow redirects
}

type secResp struct {
	Code   int
	Body   string
	Header http.Header
	Final  *url.URL // the URL of the last request (after redirects, when followed)
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func secSend(t *testing.T, q secReq) secResp {
	t.Helper()
	req, err := http.NewRequest(q.Method, q.URL, strings.NewReader(q.Body))
	if err != nil {
		t.Fatalf("request %s %s: %v", q.Method, q.URL, err)
	}
	for k, v := range q.Header {
		req.Header.Set(k, v)
	}
	c := q.Client
	if c == nil {
		c = noRedirects()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", q.Method, q.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return secResp{Code: resp.StatusCode, Body: string(b), Header: resp.Header, Final: resp.Request.URL}
}

// secServe runs one request through a handler in-process, from a chosen
// peer address (r.RemoteAddr), as a listener on another interface would see it.
func secServe(h http.Handler, method, target, remote string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func secRandom() string {
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck
	return base64.RawURLEncoding.EncodeToString(b)
}

// secMintLoginLink stores a sign-in link the way POST /signin does, without
// mail, and returns its URL.
func secMintLoginLink(t *testing.T, s *Stack, email string, expires time.Time) string {
	t.Helper()
	tok := secRandom()
	if err := s.Store.CreateLoginLink(context.Background(), token.ID(tok), email, expires); err != nil {
		t.Fatal(err)
	}
	return s.URL + "/signin/" + tok
}

var (
	secFormRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	secInputRe = regexp.MustCompile(`<input[^>]*>`)
	secNameRe  = regexp.MustCompile(`name="([^"]*)"`)
	secValueRe = regexp.MustCompile(`value="([^"]*)"`)
	secTypeRe  = regexp.MustCompile(`type="([^"]*)"`)
)

// secForm returns the hidden fields of the page's form whose action is
// action (the first form when action is empty), and whether it was found.
func secForm(page, action string) (url.Values, bool) {
	for _, m := range secFormRe.FindAllStringSubmatch(page, -1) {
		if action != "" && html.UnescapeString(m[1]) != action {
			continue
		}
		v := url.Values{}
		for _, in := range secInputRe.FindAllString(m[2], -1) {
			if tm := secTypeRe.FindStringSubmatch(in); tm == nil || tm[1] != "hidden" {
				continue
			}
			n, val := secNameRe.FindStringSubmatch(in), secValueRe.FindStringSubmatch(in)
			if n == nil {
				continue
			}
			value := ""
			if val != nil {
				value = html.UnescapeString(val[1])
			}
			v.Set(html.UnescapeString(n[1]), value)
		}
		return v, true
	}
	return nil, false
}

// secSignInWith opens a sign-in link in c and submits its confirm form; it
// returns the POST's answer (not followed).
func secSignInWith(t *testing.T, c *http.Client, link string) secResp {
	t.Helper()
	page := secSend(t, secReq{Method: "GET", URL: link, Client: c})
	if page.Code != 200 {
		t.Fatalf("sign-in page %s: %d %s", link, page.Code, page.Body)
	}
	u, _ := url.Parse(link)
	form, ok := secForm(page.Body, u.Path)
	if !ok {
		t.Fatalf("sign-in page has no form: %s", page.Body)
	}
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return secSend(t, secReq{Method: "POST", URL: link, Body: form.Encode(), Client: &nc,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": u.Scheme + "://" + u.Host}})
}

// secSignIn gives a browser signed in as email (a minted link, so the
// sign-in mail budget of the address is not spent on setup).
func secSignIn(t *testing.T, s *Stack, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := secSignInWith(t, c, secMintLoginLink(t, s, email, time.Now().Add(15*time.Minute)))
	if r.Code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %s", email, r.Code, r.Body)
	}
	return c
}

// secSessionCookie is the session cookie value a browser holds for the stack.
func secSessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "baton_session" {
			return ck.Value
		}
	}
	return ""
}

// secWithCookie is a browser that holds only the given session cookie.
func secWithCookie(base, value string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: "baton_session", Value: value, Path: "/"}})
	return &http.Client{Jar: jar}
}

// secMail is one message in the outbox table.
type secMail struct {
	Key, To, Subject, Text, HTML string
	Links                        []store.Link
}

// secLeadMail waits for the newest message of a kind about a lead (the
// ledger key starts with the lead id and the kind).
func secLeadMail(t *testing.T, s *Stack, leadID, kind string, within time.Duration) secMail {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var m secMail
		var links []byte
		err := s.Store.Pool.QueryRow(context.Background(), `select ledger_key, to_email, subject, text_body, html_body, links
			from outbox where ledger_key like $1 order by id desc limit 1`, leadID+":"+kind+":%").
			Scan(&m.Key, &m.To, &m.Subject, &m.Text, &m.HTML, &links)
		if err == nil {
			json.Unmarshal(links, &m.Links) //nolint:errcheck
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s mail about %s within %s: %v", kind, leadID, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// secSubmit posts one lead (or batch) with the stack's API key.
func secSubmit(t *testing.T, s *Stack, body string) secResp {
	t.Helper()
	return secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: body,
		Header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey}})
}

// secSign signs an intake request with web.Sign, whatever the arguments
// the gateway's signature covers: (secret, timestamp, body) or, when the
// HMAC binds the request line too, (secret, timestamp, method, path, body).
func secSign(t *testing.T, secret string, ts int64, method, path string, body []byte) string {
	t.Helper()
	f := reflect.ValueOf(web.Sign)
	ft := f.Type()
	var args []reflect.Value
	strs := []string{secret, method, path}
	for i := 0; i < ft.NumIn(); i++ {
		switch ft.In(i).Kind() {
		case reflect.String:
			if len(strs) == 0 {
				t.Fatalf("web.Sign%s: cannot tell its arguments", ft)
			}
			args = append(args, reflect.ValueOf(strs[0]).Convert(ft.In(i)))
			strs = strs[1:]
		case reflect.Int64:
			args = append(args, reflect.ValueOf(ts))
		case reflect.Slice:
			args = append(args, reflect.ValueOf(body))
		default:
			t.Fatalf("web.Sign%s: cannot tell its arguments", ft)
		}
	}
	return f.Call(args)[0].String()
}

// secSigned sends a signed intake request.
func secSigned(t *testing.T, s *Stack, method, path, body string, ts int64, sig string, extra map[string]string) secResp {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json", web.HeaderSource: s.Source.Source,
		web.HeaderTimestamp: strconv.FormatInt(ts, 10), web.HeaderSignature: sig}
	for k, v := range extra {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return secSend(t, secReq{Method: method, URL: s.URL + path, Body: body, Header: h})
}

// secNamesField reports whether a problem body names a field in its errors.
func secNamesField(body, field string) bool {
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
		Items  []struct {
			Errors []struct{ Field string } `json:"errors"`
		} `json:"items"`
	}
	if json.Unmarshal([]byte(body), &p) != nil {
		return false
	}
	for _, e := range p.Errors {
		if e.Field == field || strings.HasSuffix(e.Field, "."+field) || strings.HasSuffix(e.Field, "]."+field) {
			return true
		}
	}
	for _, it := range p.Items {
		for _, e := range it.Errors {
			if e.Field == field {
				return true
			}
		}
	}
	return false
}

// secLinkToken is the token of a /a/ or /c/ link.
func secLinkToken(link string) string {
	i := strings.LastIndex(link, "/")
	return link[i+1:]
}

// secReencodings returns other spellings of a token's signature that a
// lenient base64 decoder reads as the same bytes: CR/LF inside it, and the
// other last characters whose unused low bits differ.
func secReencodings(tok string) map[string]string {
	p, sig, _ := strings.Cut(tok, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := map[string]string{
		"crlf-inside": p + "." + sig[:10] + "\r\n" + sig[10:],
		"lf-inside":   p + "." + sig[:20] + "\n" + sig[20:],
		"cr-at-end":   p + "." + sig + "\r",
	}
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	spare := (len(sig) * 6) % 8 // bits of the last character no byte uses
	for k := 1; k < 1<<spare; k++ {
		out["last-char-"+strconv.Itoa(k)] = p + "." + sig[:len(sig)-1] + string(alphabet[last^k])
	}
	return out
}

// secPathEscape escapes a token for a URL path (CR and LF as %0D %0A).
func secPathEscape(tok string) string { return url.PathEscape(tok) }

func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
