package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/batonhq/baton/internal/intake"
	"github.com/spf13/cobra"
)

func recoverCmd(a *app) *cobra.Command {
	var dryRun bool
	var actor string
	cmd := &cobra.Command{
		Use:   "recover <lead id | email> [--dry-run]",
		Short: "Restart a lead whose workflow failed, was terminated or is stuck, from what PostgreSQL holds",
		Long: "Use it when a lead stopped moving: `starter lead show` says one thing and nothing\n" +
			"happens, `starter lead clocks` cannot reach its workflow, or Temporal shows its run as\n" +
			"Failed, Terminated or TimedOut, or Running with an activity or workflow task retrying\n" +
			"(its 5th attempt or more: stuck).\n\n" +
			"recover reads the lead's last recorded snapshot from PostgreSQL, records a\n" +
			"\"recovered\" event, terminates a stuck run, and starts a new run of the same workflow\n" +
			"id resuming from that snapshot: the lead is qualified again and, if it was waiting\n" +
			"for a rep (MQL, offered, escalated, unroutable), offered anew at the next attempt;\n" +
			"the old attempt's offer links stop working. A recycled lead goes back to nurture.\n\n" +
			"It changes nothing, and says why, when the workflow is healthy, when the lead is\n" +
			"closed (converted, disqualified, erased), when a rep holds it (accepted or contacted:\n" +
			"a new run would offer it again), or when PostgreSQL holds no record of it (it failed\n" +
			"before its first step was written: submitting it again starts it afresh).\n\n" +
			"Intake does the same on its own when a lead whose last run failed is submitted\n" +
			"again, so a failed lead never blocks a resubmission. --dry-run only shows the plan.",
		Example: "  starter lead recover dana@acme.example --dry-run\n  starter lead recover ld_abc...",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := leadIDArg(args[0])
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			svc := &intake.Service{Temporal: cl, Store: a.st, TaskQueue: a.cfg.TaskQueue}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			rec, err := svc.Recover(ctx, id, "admin:"+actor, dryRun)
			fmt.Fprintf(a.out, "%s: workflow %s", id, rec.Status)
			if rec.Why != "" {
				fmt.Fprintf(a.out, " (%s)", rec.Why)
			}
			fmt.Fprintln(a.out)
			if rec.Stored {
				fmt.Fprintf(a.out, "  PostgreSQL holds it %s at version %d\n", rec.State, rec.Version)
			}
			if errors.Is(err, intake.ErrNothingToRecover) {
				fmt.Fprintf(a.out, "  nothing to recover: %v\n", err)
				return nil
			}
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Fprintf(a.out, "  would %s\n  (dry run: nothing changed)\n", rec.Plan)
				return nil
			}
			fmt.Fprintf(a.out, "  recovered: %s; new run %s\n", rec.Plan, rec.RunID)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what recover would do; change nothing")
	cmd.Flags().StringVar(&actor, "actor", os.Getenv("USER"), "who recovered it, recorded on the event")
	return cmd
}
