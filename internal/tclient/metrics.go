package tclient

import "go.temporal.io/sdk/client"

// Option adjusts the client options before dialing.
type Option func(*client.Options)

// WithMetrics reports the SDK's metrics (workflow task latency, activity
// outcomes, poller counts, ...) to a metrics handler, such as
// metrics.Metrics.TemporalHandler's Prometheus one.
func WithMetrics(h client.MetricsHandler) Option {
	return func(o *client.Options) { o.MetricsHandler = h }
}
