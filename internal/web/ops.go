package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// readyz answers 200 when PostgreSQL and Temporal both answer, else 503,
// naming each check's result.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	fail := func(name string, err error) {
		mu.Lock()
		checks[name] = "error: " + err.Error()
		mu.Unlock()
	}
	go func() {
		defer wg.Done()
		if err := s.Store.Pool.Ping(ctx); err != nil {
			fail("postgres", err)
		}
	}()
	go func() {
		defer wg.Done()
		if s.Temporal == nil {
			fail("temporal", errNoTemporal)
			return
		}
		if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			fail("temporal", err)
		}
	}()
	wg.Wait()
	status := http.StatusOK
	for name, v := range checks {
		if v != "ok" {
			status = http.StatusServiceUnavailable
			s.Log.Warn("not ready", "check", name, "result", v)
		}
	}
	writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

type readyErr string

func (e readyErr) Error() string { return string(e) }

const errNoTemporal = readyErr("no Temporal client")

// statusRecorder remembers a response's status code.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs every request with slog (method, route, status, duration,
// and the lead and workflow id when the request names a lead), counts it, and
// times intake requests for /metrics. Tokens never reach the log: the route
// pattern is logged, not the path.
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", rec.code), slog.Duration("duration", d)}
		lead := r.PathValue("id")
		if lead == "" && (route == "GET /a/{token}" || route == "POST /a/{token}") {
			// A verified action link names its lead; the expiry does not matter for a log line.
			if c, err := s.Signer.Verify(r.PathValue("token"), time.Time{}); err == nil {
				lead = c.Lead
				attrs = append(attrs, slog.String("actor", c.Actor), slog.String("action", c.Action))
			}
		}
		if strings.HasPrefix(lead, "ld_") {
			attrs = append(attrs, slog.String("lead", lead), slog.String("workflow_id", workflows.LeadWorkflowID(lead)))
		}
		level := slog.LevelInfo
		switch {
		case rec.code >= 500:
			level = slog.LevelError
		case rec.code < 400 && (route == "GET /readyz" || route == "GET /healthz"):
			// A load balancer or Kubernetes probes every second or so
			// (HAProxy in make run-cluster): a passing probe is no news.
			level = slog.LevelDebug
		}
		s.Log.LogAttrs(r.Context(), level, "http request", attrs...)
		if s.Metrics != nil {
			code := strconv.Itoa(rec.code)
			s.Metrics.Requests.WithLabelValues(route, code).Inc()
			if strings.HasPrefix(route, "POST /api/v1/leads") {
				s.Metrics.IntakeLatency.WithLabelValues(route, code).Observe(d.Seconds())
			}
		}
	})
}

// metricsAuth asks anyone for the bearer token when one is configured;
// without one, /metrics answers loopback peers only (others get the 404 of an
// unknown path).
func (s *Server) metricsAuth(h http.Handler) http.Handler {
	if s.MetricsToken == "" {
		return loopbackOnly(h)
	}
	want := []byte("Bearer " + s.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token (BATON_METRICS_TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
