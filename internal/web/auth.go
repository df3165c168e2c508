package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
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

// signinRequest mails a sign-in link. The answer is the same whether the
// address is known or not, so the form tells a stranger nothing.
func (s *Server) signinRequest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	email, err := domain.NormalizeEmail(r.PostFormValue("email"))
	if err != nil {
		s.render(w, http.StatusBadRequest, "signin.html", map[string]any{"Error": "Email " + err.Error() + ".",
			"Email": r.PostFormValue("email"), "Next": safeNext(r.PostFormValue("next"))})
		return
	}
	sent := func() {
		s.message(w, http.StatusOK, "Check your email",
			"If "+email+" belongs to someone in Baton's directory, a sign-in link is on its way. It works once, for 15 minutes.")
	}
	v, err := s.Store.ViewerByEmail(r.Context(), email)
	if errors.Is(err, store.ErrNoSession) {
		s.Log.Info("sign-in for an unknown address", "email", email)
		sent()
		return
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	m := s.mailer()
	if m == nil || s.PublicURL == "" {
		s.message(w, http.StatusServiceUnavailable, "Sign-in is not available", "This gateway cannot send mail. Nothing was sent.")
		return
	}
	n, err := s.Store.RecentLoginLinks(r.Context(), email, s.Now().Add(-loginLinkTTL))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if n >= loginLinksLimit {
		s.message(w, http.StatusTooManyRequests, "Too many sign-in links",
			"Several links were sent to this address in the last 15 minutes. Use the newest one, or try again later.")
		return
	}
	tok := randomToken()
	hash := token.ID(tok)
	if err := s.Store.CreateLoginLink(r.Context(), hash, email, s.Now().Add(loginLinkTTL)); err != nil {
		s.pageError(w, r, err)
		return
	}
	link := strings.TrimRight(s.PublicURL, "/") + "/signin/" + tok
	if next := safeNext(r.PostFormValue("next")); next != "" {
		link += "?next=" + url.QueryEscape(next)
	}
	name := v.Name
	if name == "" {
		name = email
	}
	text := "Hello " + name + ",\n\nSign in to Baton with this link. It works once, for 15 minutes:\n\n" + link +
		"\n\nIf you did not ask for it, ignore this message; nobody can sign in without it.\n"
	html := `<p>Hello ` + template.HTMLEscapeString(name) + `,</p><p><a href="` + template.HTMLEscapeString(link) +
		`">Sign in to Baton</a>. The link works once, for 15 minutes.</p><p>If you did not ask for it, ignore this message.</p>`
	msg := store.Message{Key: "signin:" + hex.EncodeToString(hash[:12]), Kind: "signin", To: email, ToName: v.Name,
		From: s.MailFrom, Subject: "Your Baton sign-in link", Text: text, HTML: html,
		Links: []store.Link{{Label: "Sign in to Baton", URL: link}}}
	if msg.From == "" {
		msg.From = "Baton <baton@localhost>"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if err := m.Deliver(ctx, msg); err != nil {
		s.Log.Error("send sign-in link", "email", email, "error", err)
		s.message(w, http.StatusServiceUnavailable, "Could not send the link", "Please try again in a minute.")
		return
	}
	s.Log.Info("sign-in link sent", "email", email, "role", v.Role)
	sent()
}

func (s *Server) linkRefused(w http.ResponseWriter, err error) {
	text := "This sign-in link is not valid. Ask for a new one on the sign-in page."
	switch {
	case errors.Is(err, store.ErrLinkUsed):
		text = "This sign-in link was already used. Each link works once; ask for a new one on the sign-in page."
	case errors.Is(err, store.ErrLinkExpired):
		text = "This sign-in link has expired. Ask for a new one on the sign-in page."
	}
	s.message(w, http.StatusForbidden, "This link cannot be used", text)
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

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.Store.SignOut(r.Context(), token.ID(ck.Value)); err != nil {
			s.pageError(w, r, err)
			return
		}
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
