// Package web is the gateway's HTTP surface: the lead intake API, the lead
// and outbox APIs, and the server-rendered pages behind one-click links.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

//go:embed templates/*.html
var templateFS embed.FS

// The pages' style sheet and script, served from /static/: the
// Content-Security-Policy allows no inline style or script.
//
//go:embed static
var staticFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"local": func(t *time.Time, tz string) string {
		if t == nil {
			return "—"
		}
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" {
			loc = time.UTC
		}
		return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
	},
	"reason": domain.ReasonLabel,
	"event":  domain.EventLabel,
	"dur":    domain.HumanDuration,
	"plural": domain.Plural,
}).ParseFS(templateFS, "templates/*.html"))

// Server holds the gateway's dependencies.
type Server struct {
	Store    *store.Store
	Temporal client.Client
	Intake   *intake.Service
	Signer   *token.Signer
	Slack    *SlackApp // Slack's buttons (slack.go); nil: off
	Outbox   bool      // dev outbox mode: serve /outbox and /api/v1/outbox, to loopback peers only
	Log      *slog.Logger
	Now      func() time.Time
	SendGrid *SendGridEvents // SendGrid's Event Webhook; nil turns it off
	// ReplayWindow bounds a signed intake request's age (DefaultReplayWindow when zero).
	ReplayWindow time.Duration
	limits       limiters // per-source rate limits
	// Sign-in and pages (auth.go, pages.go): the mailer of sign-in links
	// (nil with Outbox: the local outbox), the base URL of those links, the
	// From address, and how long a session lasts (default 12h).
	Mailer     mail.Mailer
	PublicURL  string
	MailFrom   string
	SessionTTL time.Duration
	// Operations (ops.go): /metrics and request counts, when set; with a
	// MetricsToken, /metrics asks for it as a bearer token.
	Metrics      *metrics.Metrics
	MetricsToken string
	// SigninPerIP caps sign-in requests per client address per 15 minutes
	// (DefaultSigninPerIP when zero); each submitted address gets 5.
	SigninPerIP  int
	signinByIP   windowCounter
	signinByAddr windowCounter
	signinSlots  chan struct{}  // sign-in mails in flight
	signins      sync.WaitGroup // sign-in mails being sent (tests wait on it)
}

// MaxBody is the largest request body the API reads.
const MaxBody = 1 << 20

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.signinSlots == nil {
		s.signinSlots = make(chan struct{}, signinInFlight)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{name}", serveStatic)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /api/v1/leads", s.postLeads)
	mux.HandleFunc("POST /api/v1/leads/{id}/events", s.postEvent)
	mux.HandleFunc("GET /api/v1/leads/{id}", s.getLeadAuth)
	mux.HandleFunc("GET /a/{token}", s.confirmPage)
	mux.HandleFunc("POST /a/{token}", s.doAction)
	mux.HandleFunc("GET /leads/{id}", s.leadOrTimeline) // pages.go: the emailed link's token, or a session
	s.campaignRoutes(mux)                               // GET/POST /c/{token}: a reviewer's sign-off
	mux.HandleFunc("POST /api/v1/sendgrid/events", s.sendgridEvents)
	s.notifyRoutes(mux) // webhooks.go: operator view of webhook deliveries; slack.go: Slack interactions
	mux.HandleFunc("GET /away/{token}", s.awayPage)
	mux.HandleFunc("POST /away/{token}", s.setAway)
	s.routes(mux) // pages.go: sign-in, inbox, campaign, scoreboard, readyz, metrics
	if s.Outbox {
		// Everyone's mail, sign-in links included: loopback peers only, and
		// to anyone else exactly the 404 of a path that does not exist.
		mux.Handle("/api/v1/outbox", loopbackOnly(http.HandlerFunc(s.getOutbox)))
		mux.Handle("/outbox", loopbackOnly(http.HandlerFunc(s.outboxPage)))
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusOK, "home.html", map[string]any{"Outbox": s.Outbox && loopbackPeer(r)})
	})
	return s.logRequests(s.securityHeaders(s.sameOriginForms(mux))) // ops.go
}

// sameOriginForms refuses a state-changing request to the pages (every path
// outside /api/, which has its own authentication) that a browser says comes
// from another site: Sec-Fetch-Site other than same-origin or none, or else
// an Origin other than this host or BATON_PUBLIC_URL. Requests from other
// clients, which send neither header, pass to the CSRF tokens of the forms.
func (s *Server) sameOriginForms(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		cop.AddTrustedOrigin(u.Scheme + "://" + u.Host) //nolint:errcheck // a parsed origin is valid
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			if err := cop.Check(r); err != nil {
				s.Log.Info("cross-site form refused", "method", r.Method, "path_prefix", firstSegment(r.URL.Path),
					"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
				s.message(w, http.StatusForbidden, "This form was sent from another site",
					"Nothing was changed. Use the form on Baton's own page.")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// firstSegment is "/a/" of "/a/<token>": paths hold tokens, logs must not.
func firstSegment(p string) string {
	if i := strings.IndexByte(strings.TrimPrefix(p, "/"), '/'); i >= 0 {
		return p[:i+2]
	}
	return p
}

// loopbackPeer reports whether the request comes straight from this host: a
// loopback peer address and no sign of a proxy in between (a reverse proxy
// on the same host would otherwise make every visitor look local).
func loopbackPeer(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if len(r.Header.Values(h)) > 0 {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// loopbackOnly answers anyone but a loopback peer with the mux's own 404,
// byte for byte, and allows GET and HEAD only.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackPeer(r) {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ContentSecurityPolicy is sent with every gateway response: only this
// site's own style sheet and script (no inline ones), forms that post only
// here, and no framing, plugins, base URL changes or other fetches.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) securityHeaders(h http.Handler) http.Handler {
	hsts := strings.HasPrefix(s.PublicURL, "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // tokens live in paths
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if hsts || r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// serveStatic serves a file of static/ (and nothing else: no listing).
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || name == "" || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b) //nolint:errcheck
}

// problem is an RFC 9457 body.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) //nolint:errcheck
}

func writeProblem(w http.ResponseWriter, p problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p) //nolint:errcheck
}

// apiError maps an error to an HTTP problem, in one place.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	var fe domain.FieldErrors
	switch {
	case errors.As(err, &fe):
		writeProblem(w, problem{Type: "https://baton.dev/problems/validation", Title: "The request has invalid fields",
			Status: http.StatusBadRequest, Errors: fe})
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, problem{Title: "Not found", Status: http.StatusNotFound, Detail: err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		writeProblem(w, problem{Title: "Timed out", Status: http.StatusServiceUnavailable, Detail: "try again"})
	default:
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		writeProblem(w, problem{Title: "Internal error", Status: http.StatusInternalServerError})
	}
}

// preferAsync reports whether the request says `Prefer: respond-async`
// (RFC 7240): answer once the lead is safe in Temporal, not once processed.
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "respond-async") {
				return true
			}
		}
	}
	return false
}

// jsonFieldError names the field of a JSON type error.
func jsonFieldError(err error) []domain.FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return []domain.FieldError{{Field: te.Field, Detail: "must be a " + te.Type.String() + ", not a JSON " + te.Value}}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		f := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return []domain.FieldError{{Field: f, Detail: "is not a lead field"}}
	}
	return nil
}

func (s *Server) getLead(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !domain.ValidLeadID(id) {
		writeProblem(w, problem{Title: "Not a lead id", Status: http.StatusBadRequest, Detail: strconv.Quote(id) + " is not a lead id such as ld_…"})
		return
	}
	// A lead just posted may be in Temporal only (pending): not a 404.
	v, err := s.leadOrPending(r.Context(), id)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type outboxItem struct {
	Key     string       `json:"key"`
	Kind    string       `json:"kind"`
	To      string       `json:"to"`
	Subject string       `json:"subject"`
	Text    string       `json:"text"`
	Links   []store.Link `json:"links"`
	SentAt  time.Time    `json:"sent_at"`
}

func (s *Server) outbox(r *http.Request) ([]store.Message, error) {
	limit := 100
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 && l <= 1000 {
		limit = l
	}
	return s.Store.Outbox(r.Context(), strings.TrimSpace(r.URL.Query().Get("to")), limit)
}

func (s *Server) getOutbox(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.outbox(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := make([]outboxItem, len(msgs))
	for i, m := range msgs {
		out[i] = outboxItem{Key: m.Key, Kind: m.Kind, To: m.To, Subject: m.Subject, Text: m.Text, Links: m.Links, SentAt: m.SentAt}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.outbox(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "outbox.html", map[string]any{"Messages": msgs, "To": r.URL.Query().Get("to")})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.Log.Error("render", "template", name, "error", err)
	}
}

// message renders the one-message page used for every outcome.
func (s *Server) message(w http.ResponseWriter, status int, title, text string) {
	s.render(w, status, "message.html", map[string]any{"Title": title, "Text": text, "Status": status})
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, domain.ErrNotFound) {
		s.message(w, http.StatusNotFound, "Not found", "There is no such lead.")
		return
	}
	s.Log.Error("page failed", "path", r.URL.Path, "error", err)
	s.message(w, http.StatusInternalServerError, "Something went wrong", "Nothing was changed. Please try again in a minute.")
}

// verify checks a link token; on failure it writes the 403 page.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, action string) (token.Claims, bool) {
	c, err := s.Signer.Verify(r.PathValue("token"), s.Now())
	if err == nil && action != "" && c.Action != action {
		err = token.ErrMalformed
	}
	if err != nil {
		text := "This link is not valid: " + err.Error() + ". Nothing was changed."
		if errors.Is(err, token.ErrExpired) {
			text = "This link has expired. Nothing was changed. Links in Baton's emails stay valid for a limited time; ask your manager if you still need this lead."
		}
		s.message(w, http.StatusForbidden, "This link cannot be used", text)
		return c, false
	}
	return c, true
}

const csrfCookie = "baton_csrf"

// actions are what a one-click link may do, with its page's wording.
var actions = map[string]struct{ Title, Button, Done, DoneText string }{
	"accept":   {"Accept", "Accept lead", "Lead accepted", "It is yours. Reach out, then log the contact here: the first-contact clock runs."},
	"reject":   {"Decline", "Decline lead", "Lead declined", "It goes to the next rep now. Thank you for saying so early."},
	"reassign": {"Hand over", "Reassign lead", "Lead reassigned", "It was offered to the rep you chose (or the next in rotation); the new acceptance clock runs."},
	"extend":   {"Extend the deadline of", "Extend once", "Deadline extended", "The rep has more time; the clock re-armed at the new deadline."},
	"takeover": {"Take over", "Take it myself", "The lead is yours", "You hold it now, accepted; the first-contact clock runs on your calendar."},
	// A missed first contact (issue 16), and the nudge of any escalated lead.
	"hand":           {"Hand on", "Hand the lead over", "Lead handed over", "The rep you chose holds it now, accepted, with a fresh first-contact deadline; they were mailed."},
	"hand-self":      {"Take over", "Take it myself", "The lead is yours", "You hold it now, accepted, with a fresh first-contact deadline on your calendar."},
	"extend-contact": {"Extend the first-contact deadline of", "Extend once", "Deadline extended", "The rep has more time: a new first-contact deadline, and the escalation stopped."},
	"nudge":          {"Nudge the rep about", "Send the nudge", "Nudge sent", "Baton mailed the rep on your behalf with the link they need; the nudge is on the lead's record."},
}

// verifyAction checks the token and that its action is one the gateway does.
func (s *Server) verifyAction(w http.ResponseWriter, r *http.Request) (token.Claims, bool) {
	c, ok := s.verify(w, r, "")
	if ok {
		if _, known := actions[c.Action]; !known {
			s.message(w, http.StatusForbidden, "This link cannot be used", "This link is not a Baton action. Nothing was changed.")
			return c, false
		}
		ok = s.notUsed(w, r, c) // pages.go: a link is usable once
	}
	return c, ok
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.verifyAction(w, r)
	if !ok {
		return
	}
	lead, err := s.Store.Lead(r.Context(), c.Lead)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	who, err := s.Store.Person(r.Context(), c.Actor)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if why := staleText(lead, c, who.TimeZone, s.Now()); why != "" {
		s.messageLinks(w, http.StatusConflict, "Nothing to do here any more", why+" Nothing was changed.", s.staleLinks(c))
		return
	}
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	csrf := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/a/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(r), MaxAge: 3600}) // Secure when BATON_PUBLIC_URL is https (auth.go)
	data := map[string]any{"Lead": lead, "Rep": who, "CSRF": csrf, "Action": r.URL.Path,
		"Kind": c.Action, "Words": actions[c.Action], "RejectReasons": domain.RejectReasons,
		"DisqualifyReasons": domain.DisqualifyReasons, "RecycleReasons": domain.RecycleReasons, "Channels": workflows.Channels}
	switch c.Action {
	case "extend", "extend-contact":
		data["Extensions"] = extendChoices(s.window(r.Context(), lead))
	case "reassign", "hand":
		data["Reps"] = s.teamReps(r.Context(), lead, c.Actor)
	}
	s.render(w, http.StatusOK, "confirm.html", data)
}

// update builds the workflow update a confirmed form asks for.
func update(c token.Claims, r *http.Request) (string, any, error) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	note := strings.TrimSpace(r.PostFormValue("note"))
	switch c.Action {
	case "accept":
		return workflows.UpdateAccept, workflows.AcceptInput{RepID: c.Actor, Attempt: c.Attempt}, nil
	case "reject":
		return workflows.UpdateReject, workflows.RejectInput{RepID: c.Actor, Attempt: c.Attempt, Reason: reason, Note: note}, nil
	case "reassign":
		return workflows.UpdateReassign, workflows.ReassignInput{ManagerID: c.Actor, ToRep: r.PostFormValue("to"), Reason: reason}, nil
	case "takeover":
		return workflows.UpdateReassign, workflows.ReassignInput{ManagerID: c.Actor, ToRep: c.Actor, TakeOver: true, Reason: "taken over from the escalation email"}, nil
	case "extend":
		by, err := time.ParseDuration(r.PostFormValue("by"))
		if err != nil {
			return "", nil, errors.New("choose how much time to add")
		}
		return workflows.UpdateExtend, workflows.ExtendInput{ManagerID: c.Actor, By: by, Reason: reason}, nil
	case "hand":
		to := r.PostFormValue("to")
		if to == "" {
			return "", nil, errors.New("choose the rep to hand the lead to")
		}
		return workflows.UpdateHand, workflows.HandInput{ManagerID: c.Actor, ToRep: to, Attempt: c.Attempt, Reason: reason}, nil
	case "hand-self":
		return workflows.UpdateHand, workflows.HandInput{ManagerID: c.Actor, ToRep: c.Actor, TakeOver: true, Attempt: c.Attempt,
			Reason: "taken over after the first-contact deadline passed"}, nil
	case "extend-contact":
		by, err := time.ParseDuration(r.PostFormValue("by"))
		if err != nil {
			return "", nil, errors.New("choose how much time to give")
		}
		return workflows.UpdateExtendContact, workflows.ExtendContactInput{ManagerID: c.Actor, Attempt: c.Attempt, By: by, Reason: reason}, nil
	case "nudge":
		// One nudge per click: the link's use key names the click, so a
		// repeat of the same Update (a retry) sends nothing more.
		return workflows.UpdateNudge, workflows.NudgeInput{ManagerID: c.Actor, Attempt: c.Attempt, ClickID: hex.EncodeToString(c.UseKey()),
			Note: note}, nil
	}
	return moreUpdates(c, r) // pages.go: disqualify and contact, from the inbox
}

func (s *Server) doAction(w http.ResponseWriter, r *http.Request) {
	c, ok := s.verifyAction(w, r)
	if !ok {
		return
	}
	ck, err := r.Cookie(csrfCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.message(w, http.StatusForbidden, "Please confirm again",
			"This form expired or was not sent from Baton's page. Nothing was changed. Open the link from your email again.")
		return
	}
	name, arg, err := update(c, r)
	if err != nil {
		s.message(w, http.StatusBadRequest, "Nothing was changed", err.Error()+".")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if !s.claim(w, r, c) { // pages.go: one use per link, recorded with the outcome
		return
	}
	defer func() { s.settle(r, c, err) }()
	err = s.runUpdate(ctx, workflows.LeadWorkflowID(c.Lead), name, arg)
	words := actions[c.Action]
	switch {
	case err == nil:
		s.done(w, r, c, words.Done, words.DoneText)
	case IsUnknownUpdate(err):
		// The lead's workflow runs on a build from before this action
		// (docs/releases.md): say so, and how to go on, instead of a 500.
		s.Log.Warn("action unknown to the lead's build", "action", c.Action, "lead", c.Lead, "update", name)
		s.messageLinks(w, http.StatusConflict, "Not available for this lead yet",
			"This lead is still handled by an earlier release of Baton, which does not have this action. Nothing was changed. "+
				"Open the lead for the actions it takes, or ask your administrator.", s.staleLinks(c))
	case s.explainUpdate(w, err, words.Done, words.DoneText):
	default:
		// The workflow may have ended (the lead was accepted and closed): explain from the record.
		if lead, lerr := s.Store.Lead(r.Context(), c.Lead); lerr == nil && lead.Owner != nil && lead.AcceptedAt != nil {
			who := lead.Owner.Name
			if lead.Owner.ID == c.Actor {
				who = "you"
			}
			s.message(w, http.StatusConflict, "Nothing was changed", "This lead was already accepted by "+who+" at "+
				lead.AcceptedAt.UTC().Format("Mon 2 Jan 15:04 MST")+" and is "+lead.State+" now.")
			return
		}
		s.Log.Error("action failed", "action", c.Action, "lead", c.Lead, "actor", c.Actor, "error", err)
		s.message(w, http.StatusServiceUnavailable, "Could not do that right now", "Nothing was changed. Please try again in a minute.")
	}
}

func (s *Server) leadPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.Signer.Verify(r.URL.Query().Get("t"), s.Now())
	if err != nil || c.Action != "view" || c.Lead != r.PathValue("id") {
		s.messageLinks(w, http.StatusForbidden, "This link cannot be used", "Lead pages open from the link in Baton's email. Nothing was shown. Signed in, you can open it from your inbox.",
			[]inboxAction{{"Your inbox", "/inbox"}})
		return
	}
	lead, err := s.leadOrPending(r.Context(), c.Lead)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// The reader is the link's person: their zone, and the actions their role allows.
	v := store.Viewer{PersonID: c.Actor}
	if p, err := s.Store.Person(r.Context(), c.Actor); err == nil {
		if pv, err := s.Store.ViewerByEmail(r.Context(), p.Email); err == nil {
			v = pv
		} else {
			v.TimeZone = p.TimeZone
		}
	}
	data := s.leadData(r.Context(), v, lead)
	s.render(w, http.StatusOK, "lead.html", data)
}

// runUpdate sends a one-click action's Update and waits for its outcome.
func (s *Server) runUpdate(ctx context.Context, workflowID, name string, arg any) error {
	return tclient.Update(ctx, s.Temporal, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, nil)
}

// IsUnknownUpdate reports whether the workflow refused an Update because it
// has no handler of that name: a run on a build from before the Update was
// added (the SDK's "unknown update" rejection).
func IsUnknownUpdate(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && strings.HasPrefix(ae.Message(), "unknown update ")
}

// explainUpdate answers an action whose outcome the workflow decided: done,
// refused as stale (who holds it now), or refused as bad input. It reports
// false for any other error, which the caller explains.
func (s *Server) explainUpdate(w http.ResponseWriter, err error, done, doneText string) bool {
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		s.message(w, http.StatusOK, done, doneText)
	case errors.As(err, &ae) && ae.Type() == workflows.ErrStaleAction:
		s.message(w, http.StatusConflict, "Nothing was changed", ae.Message())
	case errors.As(err, &ae) && ae.Type() == "InvalidInput":
		s.message(w, http.StatusBadRequest, "Nothing was changed", ae.Message()+". Go back and correct it.")
	default:
		return false
	}
	return true
}
