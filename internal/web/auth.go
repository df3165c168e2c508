package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// Sign-in by a link sent by email: no passwords. The link opens a confirm
// page (mail scanners prefetch links), whose POST opens a session.
const (
	sessionCookie   = "baton_session"
	signinCSRF      = "baton_signin_csrf"
	loginLinkTTL    = 15 * time.Minute
	loginLinksLimit = 5 // per address per loginLinkTTL
	// DefaultSessionTTL is used when Server.SessionTTL is zero.
	DefaultSessionTTL = 12 * time.Hour
)

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return DefaultSessionTTL
}

// secureCookies is true when the public URL is https.
func (s *Server) secureCookies(r *http.Request) bool {
	return strings.HasPrefix(s.PublicURL, "https://") || r.TLS != nil
}

func (s *Server) mailer() mail.Mailer {
	if s.Mailer != nil {
		return s.Mailer
	}
	if s.Outbox {
		return mail.Outbox{Store: s.Store}
	}
	return nil
}

// viewer returns the signed-in person, if any.
func (s *Server) viewer(r *http.Request) (store.Viewer, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return store.Viewer{}, false
	}
	email, err := s.Store.Session(r.Context(), token.ID(ck.Value), s.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			s.Log.Error("session lookup", "error", err)
		}
		return store.Viewer{}, false
	}
	v, err := s.Store.ViewerByEmail(r.Context(), email)
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			s.Log.Error("viewer lookup", "email", email, "error", err)
		}
		return store.Viewer{}, false // left the directory: the session is worth nothing
	}
	return v, true
}

// requireViewer sends a visitor without a session to the sign-in page.
func (s *Server) requireViewer(w http.ResponseWriter, r *http.Request) (store.Viewer, bool) {
	v, ok := s.viewer(r)
	if !ok {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	}
	return v, ok
}

// safeNext keeps a post-sign-in redirect on this site: it returns next when
// it is a same-origin absolute path, else "". Browsers remove tabs and
// newlines from a URL and read a backslash as a slash, so "/\t/evil.example"
// would be "//evil.example" to them: next is refused if it, or any of its
// percent-decodings, holds a control or space character, a Unicode format
// character or a backslash, or does not start with exactly one "/"; and if a
// WHATWG-style parse (tabs and newlines removed) finds a scheme or a host.
func safeNext(next string) string {
	if next == "" || len(next) > 500 {
		return ""
	}
	for s, i := next, 0; ; i++ {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
			return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
		}) || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
			return ""
		}
		dec, err := url.PathUnescape(s)
		if err != nil || i == 3 && dec != s {
			return "" // bad escapes, or encoded more times than anyone means
		}
		if dec == s {
			break
		}
		s = dec
	}
	u, err := url.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(next))
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return next
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.viewer(r); ok {
		http.Redirect(w, r, landing(v), http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "signin.html", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// signinRequest mails a sign-in link. The answer is the same, in content
// and in time, whether the address is known or not, so the form tells a
// stranger nothing: the rate limits count every submitted address and every
// client address alike, and the directory lookup and the mail happen after
// the answer, off the request path.
func (s *Server) signinRequest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	email, err := domain.NormalizeEmail(r.PostFormValue("email"))
	if err != nil {
		s.render(w, http.StatusBadRequest, "signin.html", map[string]any{"Error": "Email " + err.Error() + ".",
			"Email": r.PostFormValue("email"), "Next": safeNext(r.PostFormValue("next"))})
		return
	}
	if s.mailer() == nil || s.PublicURL == "" {
		s.message(w, http.StatusServiceUnavailable, "Sign-in is not available", "This gateway cannot send mail. Nothing was sent.")
		return
	}
	now := s.Now()
	if !s.signinByIP.take(clientIP(r), now, s.signinPerIP(), loginLinkTTL) || !s.signinByAddr.take(email, now, loginLinksLimit, loginLinkTTL) {
		s.message(w, http.StatusTooManyRequests, "Too many sign-in requests",
			"Too many sign-in links were asked for this address, or from your network, in the last 15 minutes. Use the newest link you have, or try again later.")
		return
	}
	select {
	case s.signinSlots <- struct{}{}:
	default:
		s.message(w, http.StatusServiceUnavailable, "Sign-in is busy", "Nothing was sent. Please try again in a minute.")
		return
	}
	next := safeNext(r.PostFormValue("next"))
	s.signins.Add(1)
	go func() {
		defer s.signins.Done()
		defer func() { <-s.signinSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.sendSigninLink(ctx, email, next, now)
	}()
	s.message(w, http.StatusOK, "Check your email",
		"If "+email+" belongs to someone in Baton's directory, a sign-in link is on its way. It works once, for 15 minutes.")
}

// sendSigninLink makes and mails a sign-in link to a person in the directory
// (and to nobody else), after the request was answered: what happens here is
// only logged.
func (s *Server) sendSigninLink(ctx context.Context, email, next string, now time.Time) {
	v, err := s.Store.ViewerByEmail(ctx, email)
	if errors.Is(err, store.ErrNoSession) {
		s.Log.Info("sign-in for an unknown address", "email", email)
		return
	}
	if err != nil {
		s.Log.Error("sign-in: look up the address", "email", email, "error", err)
		return
	}
	// The per-address limit again, from the record: it holds across gateway
	// replicas, and its refusal is as silent as an unknown address.
	n, err := s.Store.RecentLoginLinks(ctx, email, now.Add(-loginLinkTTL))
	if err != nil {
		s.Log.Error("sign-in: count recent links", "email", email, "error", err)
		return
	}
	if n >= loginLinksLimit {
		s.Log.Info("sign-in link not sent: too many in the last 15 minutes", "email", email)
		return
	}
	tok := randomToken()
	hash := token.ID(tok)
	if err := s.Store.CreateLoginLink(ctx, hash, email, now.Add(loginLinkTTL)); err != nil {
		s.Log.Error("sign-in: store the link", "email", email, "error", err)
		return
	}
	link := strings.TrimRight(s.PublicURL, "/") + "/signin/" + tok
	if next != "" {
		link += "?next=" + url.QueryEscape(next)
	}
	name := mail.HeaderText(v.Name)
	if name == "" {
		name = email
	}
	text := "Hello " + name + ",\n\nSign in to Baton with this link. It works once, for 15 minutes:\n\n" + link +
		"\n\nIf you did not ask for it, ignore this message; nobody can sign in without it.\n"
	html := `<p>Hello ` + template.HTMLEscapeString(name) + `,</p><p><a href="` + template.HTMLEscapeString(link) +
		`">Sign in to Baton</a>. The link works once, for 15 minutes.</p><p>If you did not ask for it, ignore this message.</p>`
	msg := store.Message{Key: "signin:" + hex.EncodeToString(hash[:12]), Kind: "signin", To: email, ToName: mail.HeaderText(v.Name),
		From: s.MailFrom, Subject: "Your Baton sign-in link", Text: text, HTML: html,
		Links: []store.Link{{Label: "Sign in to Baton", URL: link}}}
	if msg.From == "" {
		msg.From = "Baton <baton@localhost>"
	}
	if err := s.mailer().Deliver(ctx, msg); err != nil {
		s.Log.Error("send sign-in link", "email", email, "error", err)
		return
	}
	s.Log.Info("sign-in link sent", "email", email, "role", v.Role)
}

// Sign-in requests allowed per client address per loginLinkTTL, when
// Server.SigninPerIP is zero, and sign-in mails in flight at once.
const (
	DefaultSigninPerIP = 60
	signinInFlight     = 64
)

func (s *Server) signinPerIP() int {
	if s.SigninPerIP > 0 {
		return s.SigninPerIP
	}
	return DefaultSigninPerIP
}

// clientIP is the peer's address. Forwarded headers are not trusted: behind
// a proxy every visitor shares the proxy's budget.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// windowCounter allows limit events per key per fixed window, in this
// process. Keys whose window has passed are dropped as the map grows.
type windowCounter struct {
	mu sync.Mutex
	m  map[string]*countWindow
}

type countWindow struct {
	start time.Time
	n     int
}

func (c *windowCounter) take(key string, now time.Time, limit int, per time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*countWindow{}
	}
	if len(c.m) >= 10000 {
		for k, w := range c.m {
			if now.Sub(w.start) >= per {
				delete(c.m, k)
			}
		}
	}
	w := c.m[key]
	if w == nil || now.Sub(w.start) >= per || now.Before(w.start) {
		w = &countWindow{start: now}
		c.m[key] = w
	}
	if w.n >= limit {
		return false
	}
	w.n++
	return true
}

func (s *Server) linkRefused(w http.ResponseWriter, err error) {
	text := "This sign-in link is not valid. Ask for a new one on the sign-in page."
	switch {
	case errors.Is(err, store.ErrLinkUsed):
		text = "This sign-in link was already used. Each link works once; ask for a new one on the sign-in page."
	case errors.Is(err, store.ErrLinkExpired):
		text = "This sign-in link has expired. Ask for a new one on the sign-in page."
	}
	s.messageLinks(w, http.StatusForbidden, "This link cannot be used", text, []inboxAction{{"Ask for a new sign-in link", "/signin"}})
}

// signinConfirm is the page a sign-in link opens: it changes nothing.
func (s *Server) signinConfirm(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	email, err := s.Store.LoginLink(r.Context(), token.ID(tok), s.Now())
	if err != nil {
		if !errors.Is(err, store.ErrLinkUnknown) && !errors.Is(err, store.ErrLinkUsed) && !errors.Is(err, store.ErrLinkExpired) {
			s.pageError(w, r, err)
			return
		}
		s.linkRefused(w, err)
		return
	}
	csrf := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signinCSRF, Value: csrf, Path: "/signin/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(r), MaxAge: int(loginLinkTTL / time.Second)})
	s.render(w, http.StatusOK, "signin-confirm.html", map[string]any{"Email": email, "CSRF": csrf,
		"Action": r.URL.Path, "Next": safeNext(r.URL.Query().Get("next"))})
}

// signinComplete uses the link and opens a session.
func (s *Server) signinComplete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	ck, err := r.Cookie(signinCSRF)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.message(w, http.StatusForbidden, "Please confirm again",
			"This form expired or was not sent from Baton's page. Open the link from your email again.")
		return
	}
	sid := randomToken()
	now := s.Now()
	expires := now.Add(s.sessionTTL())
	email, err := s.Store.SignIn(r.Context(), token.ID(r.PathValue("token")), token.ID(sid), now, expires)
	if err != nil {
		if errors.Is(err, store.ErrLinkUnknown) || errors.Is(err, store.ErrLinkUsed) || errors.Is(err, store.ErrLinkExpired) {
			s.linkRefused(w, err)
			return
		}
		s.pageError(w, r, err)
		return
	}
	v, err := s.Store.ViewerByEmail(r.Context(), email)
	if err != nil {
		s.message(w, http.StatusForbidden, "You cannot sign in", "This address is no longer in Baton's directory.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r), Expires: expires, MaxAge: int(s.sessionTTL() / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: signinCSRF, Value: "", Path: "/signin/", MaxAge: -1})
	s.Log.Info("signed in", "email", email, "role", v.Role)
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = landing(v)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signoutToken is the sign-out form's CSRF token: an HMAC keyed by the
// session cookie, which only this browser holds (it is HttpOnly). No session,
// no token.
func (s *Server) signoutToken(r *http.Request) string {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(ck.Value))
	m.Write([]byte("baton sign-out form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signout ends the session; the form must carry the token of the page it
// came from, so another site cannot sign anyone out.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	want := s.signoutToken(r)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(r.PostFormValue("csrf"))) != 1 {
		s.message(w, http.StatusForbidden, "Please sign out again",
			"This form expired or was not sent from Baton's page. Nothing was changed; use the Sign out button on a Baton page.")
		return
	}
	ck, _ := r.Cookie(sessionCookie)
	if err := s.Store.SignOut(r.Context(), token.ID(ck.Value)); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
	s.message(w, http.StatusOK, "Signed out", "You are signed out of Baton on this browser.")
}

// landing is where a role starts after signing in.
func landing(v store.Viewer) string {
	switch v.Role {
	case store.RoleSalesLeader, store.RoleMarketingLeader:
		return "/scoreboard"
	case store.RoleMarketer:
		return "/campaigns"
	}
	return "/inbox"
}
