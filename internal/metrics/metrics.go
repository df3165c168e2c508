// Package metrics exposes Prometheus metrics: the Temporal SDK's (through its
// tally contrib handler and tally's Prometheus reporter) and Baton's own
// (leads by stage, SLA breaches, emails sent and failed, intake latency).
package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metrics is one process's registry.
type Metrics struct {
	Registry *prometheus.Registry
	// IntakeLatency times lead intake requests, by route and status code.
	IntakeLatency *prometheus.HistogramVec
	// Requests counts HTTP requests by route pattern and status code.
	Requests *prometheus.CounterVec
	scope    tally.Scope
	closer   io.Closer
}

// New builds a registry with the Go runtime and process collectors, ours, and
// a tally scope reporting the SDK's metrics into the same registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: reg,
		IntakeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_intake_request_duration_seconds", Help: "Time to answer a lead intake request (POST /api/v1/leads...), by route and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route", "code"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_http_requests_total", Help: "HTTP requests answered by the gateway, by route and status code."}, []string{"route", "code"}),
	}
	reg.MustRegister(m.IntakeLatency, m.Requests)
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg,
		OnRegisterError: func(err error) { slog.Default().Warn("tally metric registration", "error", err) }})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	m.scope, m.closer = sdktally.NewPrometheusNamingScope(scope), closer
	return m
}

// TemporalHandler is the SDK metrics handler for client.Options.MetricsHandler.
func (m *Metrics) TemporalHandler() client.MetricsHandler { return sdktally.NewMetricsHandler(m.scope) }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Close flushes the tally scope.
func (m *Metrics) Close() error { return m.closer.Close() }

// WatchStore adds the gauges and counters read from PostgreSQL at scrape
// time. One process per deployment should do it (the gateway), so sums
// across processes do not double.
func (m *Metrics) WatchStore(st *store.Store) {
	m.Registry.MustRegister(&dbCollector{st: st})
}

var (
	descLeads     = prometheus.NewDesc("baton_leads", "Leads by stage (state).", []string{"stage"}, nil)
	descBreaches  = prometheus.NewDesc("baton_sla_breaches_total", "SLA deadlines missed: offers that lapsed and contacts breached.", []string{"kind"}, nil)
	descEscalated = prometheus.NewDesc("baton_escalations_total", "Escalations of missed deadlines.", nil, nil)
	descEmails    = prometheus.NewDesc("baton_emails_total", "Emails by ledger status (sent, failed, sending), by kind.", []string{"status", "kind"}, nil)
	descUp        = prometheus.NewDesc("baton_store_up", "1 when the last scrape could read PostgreSQL.", nil, nil)
)

type dbCollector struct{ st *store.Store }

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLeads
	ch <- descBreaches
	ch <- descEscalated
	ch <- descEmails
	ch <- descUp
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.st.MetricsSnapshot(ctx)
	if err != nil {
		slog.Default().Error("metrics: read PostgreSQL", "error", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for stage, n := range s.LeadsByStage {
		ch <- prometheus.MustNewConstMetric(descLeads, prometheus.GaugeValue, float64(n), stage)
	}
	for kind, n := range s.Breaches {
		ch <- prometheus.MustNewConstMetric(descBreaches, prometheus.CounterValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(descEscalated, prometheus.CounterValue, float64(s.Escalations))
	for k, n := range s.Emails {
		ch <- prometheus.MustNewConstMetric(descEmails, prometheus.CounterValue, float64(n), k[0], k[1])
	}
}
