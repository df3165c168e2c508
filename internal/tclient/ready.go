package tclient

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
)

// Readyz answers 200 when PostgreSQL and Temporal both answer within 3s, else
// 503, naming each check's result: the worker's readiness (and liveness)
// probe, served beside its /metrics. The gateway has its own, on its port.
func (s *Service) Readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	if err := s.Store.Pool.Ping(ctx); err != nil {
		checks["postgres"] = "error: " + err.Error()
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"] = "error: " + err.Error()
	}
	status := http.StatusOK
	for _, v := range checks {
		if v != "ok" {
			status = http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"ready": status == http.StatusOK, "checks": checks}) //nolint:errcheck
}
