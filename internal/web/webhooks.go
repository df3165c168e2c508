package web

import (
	"net/http"
	"strconv"
)

// notifyRoutes are issue 17's routes: the outbound webhook deliveries for
// operators (guarded like /metrics: loopback, or BATON_METRICS_TOKEN), and
// Slack's interactions (slack.go).
func (s *Server) notifyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /ops/webhooks", s.metricsAuth(http.HandlerFunc(s.webhooksPage)))
	mux.Handle("GET /api/v1/webhooks/deliveries", s.metricsAuth(http.HandlerFunc(s.getWebhookDeliveries)))
	if s.Slack != nil { // SLACK_SIGNING_SECRET set; else a 404 like any unknown path
		mux.HandleFunc("POST /api/v1/slack/interactions", s.slackInteractions)
	}
}

var deliveryStatuses = map[string]bool{"": true, "pending": true, "delivered": true, "failed": true}

// webhookQuery reads ?status= (pending, delivered, failed or empty) and
// ?limit= (1–500, default 100).
func webhookQuery(r *http.Request) (status string, limit int, msg string) {
	status, limit = r.URL.Query().Get("status"), 100
	if !deliveryStatuses[status] {
		return "", 0, "status: must be pending, delivered or failed"
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return "", 0, "limit: must be a whole number from 1 to 500"
		}
		limit = n
	}
	return status, limit, ""
}

func (s *Server) getWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	status, limit, msg := webhookQuery(r)
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	ds, err := s.Store.WebhookDeliveries(r.Context(), status, limit)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	counts, err := s.Store.WebhookCounts(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"counts": counts, "deliveries": ds})
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) {
	status, limit, msg := webhookQuery(r)
	if msg != "" {
		s.message(w, http.StatusBadRequest, "Bad filter", msg)
		return
	}
	ds, err := s.Store.WebhookDeliveries(r.Context(), status, limit)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	counts, err := s.Store.WebhookCounts(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "webhooks.html", map[string]any{"Deliveries": ds, "Counts": counts, "Status": status})
}
