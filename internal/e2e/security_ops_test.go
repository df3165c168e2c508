package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/web"
)

// secGateway is a second gateway on the stack's store and Temporal, wired
// with the options a case needs (the outbox, metrics, the webhook).
func secGateway(e *secEnv, edit func(*web.Server)) *web.Server {
	s := e.s
	srv := &web.Server{Store: s.Store, Temporal: s.Temporal, Signer: e.signer, Log: tclient.QuietLogger(), PublicURL: s.URL,
		Intake: &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}}
	if edit != nil {
		edit(srv)
	}
	return srv
}

func secWebhook(t *testing.T, e *secEnv) {
	s := e.s
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sgn := signer{key}
	cfg := s.Config
	cfg.SendGridWebhookPublicKey, cfg.SendGridWebhookTolerance = sgn.publicKey(t), 5*time.Minute
	events, err := web.NewSendGridEvents(cfg)
	if err != nil || events == nil {
		t.Fatalf("webhook config: %v", err)
	}
	gw := httptest.NewServer(secGateway(e, func(srv *web.Server) { srv.SendGrid = events }).Handler())
	t.Cleanup(gw.Close)
	m := sentMail{To: e.offerA.To, Args: map[string]string{"baton_key": e.offerA.Key, "baton_kind": "offer", "baton_lead": e.leadA,
		"baton_workflow": "lead-" + e.leadA, "baton_attempt": "1"}}
	// A bounce would move the lead: the attacks below carry one.
	bounce, _ := json.Marshal([]any{event(m, "bounce", "sec-ev-bounce", map[string]any{"reason": "550 no such user", "status": "5.1.1", "type": "bounce"})})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := sgn.sign(t, ts, bounce)
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	ahead := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, c := range []struct {
		name    string
		body    []byte
		ts, sig string
	}{
		{"Unsigned", bounce, "", ""},
		{"NoTimestamp", bounce, "", sig},
		{"Tampered", []byte(strings.Replace(string(bounce), "5.1.1", "5.1.2", 1)), ts, sig},
		{"TimestampChanged", bounce, strconv.FormatInt(time.Now().Unix()+1, 10), sig},
		{"Stale", bounce, old, sgn.sign(t, old, bounce)},
		{"Future", bounce, ahead, sgn.sign(t, ahead, bounce)},
		{"OtherKey", bounce, ts, signer{other}.sign(t, ts, bounce)},
		{"GarbageSignature", bounce, ts, "bm90IGEgc2lnbmF0dXJl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				code, body := postEvents(t, gw.URL, c.body, c.ts, c.sig)
				expect(t, secResp{Code: code, Body: body}, 403)
			})
		})
	}
	t.Run("Replayed", func(t *testing.T) {
		delivered, _ := json.Marshal([]any{event(m, "delivered", "sec-ev-delivered", nil)})
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig := sgn.sign(t, ts, delivered)
		guard(t, s, []string{"table:email_events", "table:lead_events", "table:email_ledger", "table:leads", "wf:lead-" + e.leadA}, func() {
			code, body := postEvents(t, gw.URL, delivered, ts, sig)
			expect(t, secResp{Code: code, Body: body}, 200)
		})
		// SendGrid retries; so may an attacker who saw the request: it changes nothing.
		guard(t, s, secNothing, func() {
			code, body := postEvents(t, gw.URL, delivered, ts, sig)
			expectf(t, code == 200 || code == 403, "replayed batch: %d %s", code, body)
		})
	})
}

// secCSP parses a Content-Security-Policy into directives.
func secCSP(h string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(h, ";") {
		f := strings.Fields(strings.TrimSpace(d))
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

func secHeaders(t *testing.T, e *secEnv) {
	s := e.s
	inbox := e.browser(t, e.repA.Email)
	pages := []struct {
		name string
		req  secReq
	}{
		{"Home", secReq{Method: "GET", URL: s.URL + "/"}},
		{"SigninForm", secReq{Method: "GET", URL: s.URL + "/signin"}},
		{"ConfirmPage", secReq{Method: "GET", URL: e.offerA.Links[0].URL}},
		{"Inbox", secReq{Method: "GET", URL: s.URL + "/inbox", Client: inbox}},
		{"APIUnauthorized", secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: "{}"}},
		{"NotFound", secReq{Method: "GET", URL: s.URL + "/no-such-page"}},
	}
	t.Run("NoSniffFrameDenyNoReferrer", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			for _, p := range pages {
				h := secSend(t, p.req).Header
				expectf(t, h.Get("X-Content-Type-Options") == "nosniff", "%s: X-Content-Type-Options %q", p.name, h.Get("X-Content-Type-Options"))
				expectf(t, h.Get("X-Frame-Options") == "DENY", "%s: X-Frame-Options %q", p.name, h.Get("X-Frame-Options"))
				expectf(t, h.Get("Referrer-Policy") == "no-referrer", "%s: Referrer-Policy %q", p.name, h.Get("Referrer-Policy"))
			}
		})
	})
	t.Run("PagesNotCached", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			for _, p := range pages[:4] {
				h := secSend(t, p.req).Header
				expectf(t, strings.Contains(h.Get("Cache-Control"), "no-store"), "%s: Cache-Control %q", p.name, h.Get("Cache-Control"))
			}
		})
	})
	for _, p := range pages[:4] {
		t.Run("Finding5_CSP_"+p.name, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				h := secSend(t, p.req).Header.Get("Content-Security-Policy")
				if h == "" {
					t.Fatalf("no Content-Security-Policy")
				}
				csp := secCSP(h)
				script, ok := csp["script-src"]
				if !ok {
					script, ok = csp["default-src"]
				}
				expectf(t, ok, "CSP %q limits no scripts (no script-src or default-src)", h)
				for _, v := range script {
					switch strings.ToLower(v) {
					case "'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:":
						t.Errorf("CSP %q allows scripts from %s", h, v)
					}
				}
				fa := strings.Join(csp["frame-ancestors"], " ")
				expectf(t, fa == "'none'" || fa == "'self'", "CSP %q: frame-ancestors %q, want 'none' or 'self'", h, fa)
				obj, ok := csp["object-src"]
				if !ok {
					obj = csp["default-src"]
				}
				expectf(t, strings.Join(obj, " ") == "'none'" || strings.Join(obj, " ") == "'self'", "CSP %q lets plugins load", h)
				expectf(t, csp["base-uri"] != nil, "CSP %q has no base-uri", h)
			})
		})
	}
}

// The outbox is a development mode, for loopback peers only (BRIEF.md).
func secOutbox(t *testing.T, e *secEnv) {
	s := e.s
	dev := secGateway(e, func(srv *web.Server) { srv.Outbox = true }).Handler()
	prod := secGateway(e, nil).Handler()
	unknown := secServe(dev, "GET", "/no-such-path", "203.0.113.7:40000", nil)
	notFound := func(t *testing.T, w *httptest.ResponseRecorder) {
		t.Helper()
		expectf(t, w.Code == 404 && w.Body.String() == unknown.Body.String() && !strings.Contains(w.Body.String(), "signin"),
			"answer %d, want the 404 of an unknown path: %s", w.Code, clip(w.Body.String()))
	}
	t.Run("LoopbackInDevMode", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			w := secServe(dev, "GET", "/api/v1/outbox", "127.0.0.1:40000", nil)
			expectf(t, w.Code == 200 && strings.Contains(w.Body.String(), "offer"), "loopback outbox: %d", w.Code)
		})
	})
	for _, c := range []struct {
		name, path, remote string
		hdr                map[string]string
	}{
		{"Finding1_APIFromOtherInterface", "/api/v1/outbox", "203.0.113.7:40000", nil},
		{"Finding1_PageFromOtherInterface", "/outbox", "10.1.2.3:40000", nil},
		{"Finding1_APIFromIPv6Peer", "/api/v1/outbox?to=sam.okafor@example.com", "[2001:db8::7]:40000", nil},
		{"Finding1_LoopbackBehindProxyXFF", "/api/v1/outbox", "127.0.0.1:40000", map[string]string{"X-Forwarded-For": "203.0.113.7"}},
		{"Finding1_LoopbackBehindProxyForwarded", "/outbox", "127.0.0.1:40000", map[string]string{"Forwarded": "for=203.0.113.7"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			guard(t, s, secNothing, func() { notFound(t, secServe(dev, "GET", c.path, c.remote, c.hdr)) })
		})
	}
	t.Run("AbsentWithoutDevMode", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			notFound(t, secServe(prod, "GET", "/api/v1/outbox", "127.0.0.1:40000", nil))
			notFound(t, secServe(prod, "GET", "/outbox", "127.0.0.1:40000", nil))
		})
	})
}

func secMetrics(t *testing.T, e *secEnv) {
	s := e.s
	open := secGateway(e, func(srv *web.Server) { srv.Metrics = metrics.New() }).Handler()
	tokened := secGateway(e, func(srv *web.Server) { srv.Metrics, srv.MetricsToken = metrics.New(), "sec-metrics-token" }).Handler()
	t.Run("LoopbackPeer", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			w := secServe(open, "GET", "/metrics", "127.0.0.1:40000", nil)
			expectf(t, w.Code == 200 && strings.Contains(w.Body.String(), "# HELP"), "loopback /metrics: %d", w.Code)
		})
	})
	t.Run("Finding5_OtherInterfaceRefused", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			w := secServe(open, "GET", "/metrics", "203.0.113.7:40000", nil)
			expectf(t, w.Code != 200 && !strings.Contains(w.Body.String(), "# HELP"), "/metrics from another interface: %d", w.Code)
		})
	})
	t.Run("TokenAskedOfEveryone", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			for _, remote := range []string{"127.0.0.1:40000", "203.0.113.7:40000"} {
				w := secServe(tokened, "GET", "/metrics", remote, nil)
				expectf(t, w.Code == 401, "/metrics from %s without the token: %d", remote, w.Code)
				w = secServe(tokened, "GET", "/metrics", remote, map[string]string{"Authorization": "Bearer wrong"})
				expectf(t, w.Code == 401, "/metrics from %s with a wrong token: %d", remote, w.Code)
				w = secServe(tokened, "GET", "/metrics", remote, map[string]string{"Authorization": "Bearer sec-metrics-token"})
				expectf(t, w.Code == 200, "/metrics from %s with the token: %d", remote, w.Code)
			}
		})
	})
	t.Run("Finding5_WorkerMetricsLoopbackByDefault", func(t *testing.T) {
		before := stableSnapshot(t, s)
		defer func() {
			for _, c := range before.diff(stableSnapshot(t, s)) {
				t.Errorf("unexpected change in the record: %s", c)
			}
		}()
		secCleanMailEnv(t)
		t.Setenv("BATON_METRICS_ADDR", "")
		os.Unsetenv("BATON_METRICS_ADDR")
		cfg, err := config.Load()
		if err != nil {
			t.Fatal(err)
		}
		host, _, err := net.SplitHostPort(cfg.MetricsAddr)
		ip := net.ParseIP(host)
		expectf(t, err == nil && (host == "localhost" || (ip != nil && ip.IsLoopback())), "BATON_METRICS_ADDR defaults to %q, want a loopback address", cfg.MetricsAddr)
	})
}

// secCleanMailEnv clears the mail settings for a config case.
func secCleanMailEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"SENDGRID_API_KEY", "BATON_DEV_OUTBOX", "BATON_HTTP_ADDR", "SENDGRID_WEBHOOK_PUBLIC_KEY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// requireMail calls Config.RequireMail (BRIEF.md) when the config has it.
func requireMail(t *testing.T, cfg config.Config) error {
	t.Helper()
	rm, ok := any(cfg).(interface{ RequireMail() error })
	if !ok {
		if rm, ok = any(&cfg).(interface{ RequireMail() error }); !ok {
			t.Fatal("config.Config has no RequireMail() error method")
		}
	}
	return rm.RequireMail()
}

// secStartup: neither a SendGrid key nor the explicit dev mode is a startup
// error naming both variables; both is an error too; dev mode listens on
// loopback unless told otherwise.
func secStartup(t *testing.T, e *secEnv) {
	load := func(t *testing.T, env map[string]string) (config.Config, error) {
		t.Helper()
		secCleanMailEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		return config.Load()
	}
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) { guard(t, e.s, secNothing, func() { f(t) }) })
	}
	run("Finding1_NeitherKeyNorDevModeRefused", func(t *testing.T) {
		cfg, err := load(t, nil)
		if err == nil {
			err = requireMail(t, cfg)
		}
		expectf(t, err != nil && strings.Contains(err.Error(), "SENDGRID_API_KEY") && strings.Contains(err.Error(), "BATON_DEV_OUTBOX"),
			"startup without a key or dev mode: %v", err)
		expectf(t, !cfg.Outbox(), "the outbox is on without BATON_DEV_OUTBOX")
	})
	run("Finding1_KeyAndDevModeRefused", func(t *testing.T) {
		cfg, err := load(t, map[string]string{"SENDGRID_API_KEY": "SG.x", "BATON_DEV_OUTBOX": "true"})
		if err == nil {
			err = requireMail(t, cfg)
		}
		expectf(t, err != nil && strings.Contains(err.Error(), "SENDGRID_API_KEY") && strings.Contains(err.Error(), "BATON_DEV_OUTBOX"),
			"startup with both a key and dev mode: %v", err)
	})
	run("Finding1_DevModeListensOnLoopback", func(t *testing.T) {
		cfg, err := load(t, map[string]string{"BATON_DEV_OUTBOX": "true"})
		if err != nil {
			t.Fatal(err)
		}
		expectf(t, requireMail(t, cfg) == nil && cfg.Outbox(), "dev mode refused or without the outbox")
		expectf(t, cfg.HTTPAddr == "127.0.0.1:8080", "dev mode listens on %q, want 127.0.0.1:8080", cfg.HTTPAddr)
	})
	run("Finding1_DevModeExplicitAddressKept", func(t *testing.T) {
		cfg, err := load(t, map[string]string{"BATON_DEV_OUTBOX": "true", "BATON_HTTP_ADDR": "127.0.0.1:9999"})
		if err != nil {
			t.Fatal(err)
		}
		expectf(t, requireMail(t, cfg) == nil && cfg.HTTPAddr == "127.0.0.1:9999", "explicit address %q", cfg.HTTPAddr)
	})
	run("KeyOnlySendsThroughSendGrid", func(t *testing.T) {
		cfg, err := load(t, map[string]string{"SENDGRID_API_KEY": "SG.x"})
		if err != nil {
			t.Fatal(err)
		}
		expectf(t, !cfg.Outbox(), "the outbox is on with a SendGrid key")
		if _, ok := any(cfg).(interface{ RequireMail() error }); ok {
			expectf(t, requireMail(t, cfg) == nil, "a SendGrid key alone is refused")
		}
	})
}
