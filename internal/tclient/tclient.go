// Package tclient dials Temporal from Baton's config, so the same binaries
// reach the dev server, a self-hosted cluster (mTLS) or Temporal Cloud (API key).
package tclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/batonhq/baton/internal/config"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
)

// Options builds client options from config.
func Options(c config.Config, logger *slog.Logger) (client.Options, error) {
	o := client.Options{HostPort: c.TemporalAddress, Namespace: c.TemporalNamespace}
	o.ConnectionOptions.DialOptions = append(o.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(probeInterceptor))
	if logger != nil {
		o.Logger = tlog.NewStructuredLogger(logger)
	}
	if c.TemporalTLS || c.TemporalAPIKey != "" || c.TemporalTLSCert != "" || c.TemporalTLSCA != "" || c.TemporalTLSName != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TemporalTLSName}
		if c.TemporalTLSCA != "" {
			pem, err := os.ReadFile(c.TemporalTLSCA)
			if err != nil {
				return o, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", c.TemporalTLSCA)
			}
			tc.RootCAs = pool
		}
		if c.TemporalTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey)
			if err != nil {
				return o, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		o.ConnectionOptions.TLS = tc
	}
	if c.TemporalAPIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(c.TemporalAPIKey)
	}
	if !Gzip(c) {
		o.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	return o, nil
}

// Dial connects and checks the server answers.
func Dial(c config.Config, logger *slog.Logger, opts ...Option) (client.Client, error) {
	o, err := Options(c, logger)
	if err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(&o)
	}
	cl, err := client.Dial(o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", c.TemporalAddress, c.TemporalNamespace, err)
	}
	return cl, nil
}

// QuietLogger keeps the SDK's info chatter out of CLI output.
func QuietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// QuietLoggerSDK is QuietLogger as the SDK's logger.
func QuietLoggerSDK() tlog.Logger { return tlog.NewStructuredLogger(QuietLogger()) }

// Gzip says whether requests to Temporal are gzipped (TEMPORAL_COMPRESSION).
// The SDK's default is gzip; on a local network it only spends CPU: 8.6% of
// the worker's in a CPU profile of figure 2 (docs/benchmarks.md, Tuning).
func Gzip(c config.Config) bool {
	switch c.TemporalCompression {
	case "gzip":
		return true
	case "none":
		return false
	}
	return c.TemporalAPIKey != ""
}
