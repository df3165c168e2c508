// Command gateway serves Baton's HTTP surface: lead intake, the lead and
// outbox APIs, and the pages behind one-click links.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/internal/workerapp"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: gateway\n\nServes the Baton HTTP gateway on BATON_HTTP_ADDR until interrupted.\nApplies database migrations at start.\n\nEnvironment:\n%s", config.Usage())
	}
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Mail goes to SendGrid, or to the local outbox only when asked for by
	// name (BATON_DEV_OUTBOX): refuse to start with neither, before anything else.
	if cfg, err := config.Load(); err != nil {
		return err
	} else if err := cfg.RequireMail(); err != nil {
		return err
	}
	mx := metrics.New() // the SDK's metrics and ours, on GET /metrics
	defer mx.Close()
	svc, err := tclient.Boot(ctx, log, tclient.WithMetrics(mx.TemporalHandler()))
	if err != nil {
		return err
	}
	defer svc.Close()
	cfg, st, cl := svc.Config, svc.Store, svc.Temporal
	signer, err := token.NewSigner([]byte(cfg.SigningKey))
	if err != nil {
		return err
	}
	events, err := web.NewSendGridEvents(cfg)
	if err != nil {
		return err
	}
	mx.WatchStore(st)
	srv := &web.Server{Store: st, Temporal: cl, Signer: signer, Outbox: cfg.Outbox(), Log: log, SendGrid: events, ReplayWindow: cfg.IntakeReplayWindow,
		Intake: &intake.Service{Temporal: cl, Store: st, TaskQueue: cfg.TaskQueue, AckDurable: cfg.IntakeAck == "durable", AckStart: cfg.IntakeAck == "start"},
		Mailer: workerapp.Notifier(cfg, st), PublicURL: cfg.PublicURL, MailFrom: cfg.MailFrom, SessionTTL: cfg.SessionTTL, Metrics: mx, MetricsToken: cfg.MetricsToken}
	srv.Slack = workerapp.SlackApp(cfg) // nil unless Slack is set up
	hs := &http.Server{Addr: cfg.HTTPAddr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("gateway listening", "addr", cfg.HTTPAddr, "public_url", cfg.PublicURL, "outbox", cfg.Outbox())
	if cfg.Outbox() {
		log.Warn("dev outbox mode (BATON_DEV_OUTBOX): mail is not sent; /outbox shows it, with every sign-in link, to loopback peers")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
