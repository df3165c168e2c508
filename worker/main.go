// Command worker runs Baton's workflows and activities: config, Temporal
// client, register, run until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/store"
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
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if err := cfg.RequireSigningKey(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx := context.Background()
	v, err := store.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	cl, err := tclient.Dial(cfg, log)
	if err != nil {
		return err
	}
	defer cl.Close()
	w, err := workerapp.New(cfg, cl, st)
	if err != nil {
		return err
	}
	mailTo := "local outbox"
	if !cfg.Outbox() {
		mailTo = "SendGrid at " + cfg.SendGridBaseURL
	}
	log.Info("worker starting", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace,
		"task_queue", cfg.TaskQueue, "schema_version", v, "mail", mailTo)
	return w.Run(worker.InterruptCh())
}
