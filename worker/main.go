// Command worker runs Baton's workflows and activities: config, Temporal
// client, register, run until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/workerapp"
	"go.temporal.io/sdk/worker"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: worker\n\nRuns Baton's lead workflows and activities until interrupted.\nApplies database migrations at start.\n\nEnvironment:\n%s", config.Usage())
	}
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	// Mail goes to SendGrid, or to the local outbox only when asked for by
	// name (BATON_DEV_OUTBOX): refuse to start with neither, before anything else.
	if cfg, err := config.Load(); err != nil {
		return err
	} else if err := cfg.RequireMail(); err != nil {
		return err
	}
	mx := metrics.New() // the SDK's metrics, on BATON_METRICS_ADDR
	defer mx.Close()
	svc, err := tclient.Boot(context.Background(), log, tclient.WithMetrics(mx.TemporalHandler()))
	if err != nil {
		return err
	}
	defer svc.Close()
	cfg := svc.Config
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("BATON_METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mx.Handler())
		mux.HandleFunc("GET /readyz", svc.Readyz) // Kubernetes probes (deploy/k8s)
		// make bench-scale reads the worker's heap here (docs/benchmarks.md).
		if cfg.WorkerPprof {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		}
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln) //nolint:errcheck // ends with the process
		defer hs.Close()
		log.Info("worker metrics", "addr", ln.Addr().String())
	}
	if err := workerapp.CheckSearchAttributes(context.Background(), svc.Temporal, cfg.TemporalNamespace); err != nil {
		return err
	}
	w, err := workerapp.New(cfg, svc.Temporal, svc.Store)
	if err != nil {
		return err
	}
	mailTo := "local outbox"
	if !cfg.Outbox() {
		mailTo = "SendGrid at " + cfg.SendGridBaseURL
	}
	build := "unversioned"
	if cfg.Versioned() {
		// Serves its pinned workflows, and new ones once an operator makes
		// this build current (docs/releases.md).
		build = cfg.DeploymentName + ":" + cfg.BuildID
	}
	log.Info("worker starting", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace,
		"task_queue", cfg.TaskQueue, "build", build, "schema_version", svc.SchemaVersion, "mail", mailTo)
	// Outbound webhooks: drained from PostgreSQL here, never by a workflow.
	go workerapp.Dispatcher(cfg, svc.Store, mx.Registry, log).Run(context.Background())
	go intake.RunAwaySweeper(context.Background(), svc.Temporal, svc.Store, cfg.AwaySweep, log) // out-of-office periods recorded ahead
	return w.Run(worker.InterruptCh())
}
