package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/workflows"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// importCmd is `starter lead import`.
func importCmd(a *app) *cobra.Command {
	var status, noDrain, noWait bool
	var errorsPath string
	var chunk int
	var drain workflows.ImportDrainInput
	cmd := &cobra.Command{
		Use:   "import <file.csv> | --status",
		Short: "Import leads from a CSV file: staged in PostgreSQL, then started at a bounded rate by the worker",
		Long: "Streams a CSV with a header row and the columns campaign,email (required) and\n" +
			"name,company,country,score,source,phone into PostgreSQL, with a progress bar on stderr.\n" +
			"Each row is checked like a POST /api/v1/leads; bad rows are listed with their line\n" +
			"numbers (and written to <file>.errors.csv) and the rest go on. A lead already staged\n" +
			"for its campaign, by this file or another, is a duplicate and skipped, so importing\n" +
			"a file twice adds nothing. An interrupted run goes on from its last committed line\n" +
			"(the checkpoint is kept per file content in PostgreSQL).\n\n" +
			"Staged rows are then started as lead workflows by ImportDrainWorkflow on the worker\n" +
			"(--batch rows per step, --parallel at once, --pause between steps): it keeps going if\n" +
			"this command is interrupted. The command follows its progress until it is done\n" +
			"(--no-wait: return at once); `starter lead import --status` shows every import.",
		Example: "  starter lead import leads.csv\n  starter lead import --status",
		Args: func(cmd *cobra.Command, args []string) error {
			if status {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Ctrl-C: staging stops at its last committed chunk; following stops, the drain goes on.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := a.open(ctx); err != nil {
				return err
			}
			if status {
				return printImports(a, ctx)
			}
			path := args[0]
			svc := &intake.Service{Store: a.st, TaskQueue: a.cfg.TaskQueue} // staging needs no Temporal
			stderr := cmd.ErrOrStderr()
			rep, err := svc.Stage(ctx, path, intake.StageOptions{Progress: stderr, ChunkRows: chunk})
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("%s: interrupted; run the same command again to go on from the last committed line", path)
				}
				return err
			}
			switch {
			case rep.AlreadyStaged:
				fmt.Fprintf(a.out, "%s was staged before (import %d): %d leads staged, %d duplicates, %d bad rows; nothing new to stage\n",
					term(path), rep.Import.ID, rep.Import.Staged, rep.Import.Duplicates, rep.Import.BadRows)
			default:
				if rep.ResumedAfter > 0 {
					fmt.Fprintf(a.out, "resumed after line %d\n", rep.ResumedAfter)
				}
				fmt.Fprintf(a.out, "%s: %d rows read in %s (%.0f rows/s): %d leads staged, %d duplicates, %d bad rows\n",
					term(path), rep.Rows, rep.Elapsed.Round(time.Millisecond), rep.RowsPerSecond(), rep.New, rep.Duplicates, len(rep.Bad))
			}
			bad, err := a.st.ImportErrors(ctx, rep.Import.ID)
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				if errorsPath == "" {
					errorsPath = path + ".errors.csv"
				}
				if err := intake.WriteErrors(errorsPath, bad); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "bad rows (all %d in %s):\n", len(bad), term(errorsPath))
				for i, e := range bad {
					if i == 20 {
						fmt.Fprintf(a.out, "  … %d more\n", len(bad)-20)
						break
					}
					fmt.Fprintf(a.out, "  %s:%d: %s\n", term(path), e.Line, term(e.Error))
				}
			}
			if noDrain {
				fmt.Fprintf(a.out, "staged only; start the leads with: starter lead import %s\n", path)
				return nil
			}
			drain.ImportID = rep.Import.ID
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: workflows.ImportDrainWorkflowID(rep.Import.ID), TaskQueue: a.cfg.TaskQueue,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			}, workflows.ImportDrainWorkflow, drain)
			if err != nil {
				return fmt.Errorf("start the drain of import %d: %w", rep.Import.ID, err)
			}
			fmt.Fprintf(a.out, "starting lead workflows: workflow %s (it goes on if you stop this command)\n", run.GetID())
			if noWait {
				return nil
			}
			return followDrain(ctx, a, stderr, rep.Import.ID)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&status, "status", false, "list every import: staged, started, failed, pending")
	f.StringVar(&errorsPath, "errors", "", "where to write the bad rows (default <file>.errors.csv)")
	f.IntVar(&chunk, "chunk", 2000, "rows committed per transaction (the resume checkpoint)")
	f.BoolVar(&noDrain, "stage-only", false, "stage the rows but start no lead workflow yet")
	f.BoolVar(&noWait, "no-wait", false, "start the drain and return without following it")
	f.IntVar(&drain.Batch, "batch", 100, "rows per drain step")
	f.IntVar(&drain.Parallel, "parallel", 4, "lead workflows started at once")
	f.DurationVar(&drain.Pause, "pause", 0, "wait between drain steps, to bound the rate further")
	return cmd
}

// followDrain shows the drain's progress until no row is pending.
func followDrain(ctx context.Context, a *app, w io.Writer, importID int64) error {
	im, err := a.st.ImportByID(ctx, importID)
	if err != nil {
		return err
	}
	total := im.Staged
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription("starting leads"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(false))
	start, base := time.Now(), im.Started+im.Failed
	for {
		im, err = a.st.ImportByID(ctx, importID)
		if err != nil {
			return err
		}
		el := time.Since(start).Seconds()
		bar.Describe(fmt.Sprintf("starting leads: %.1f/s", float64(im.Started+im.Failed-base)/max(el, 0.001)))
		bar.Set(im.Started + im.Failed) //nolint:errcheck
		if im.Pending == 0 {
			bar.Finish() //nolint:errcheck
			el := time.Since(start)
			fmt.Fprintf(a.out, "\nimport %d: %d lead workflows started, %d failed, in %s (%.1f leads/s)\n", importID, im.Started, im.Failed,
				el.Round(time.Second), float64(im.Started+im.Failed-base)/max(el.Seconds(), 0.001))
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(a.out, "\nstopped following; the drain goes on in the worker (`starter lead import --status`)\n")
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printImports(a *app, ctx context.Context) error {
	ims, err := a.st.Imports(ctx)
	if err != nil {
		return err
	}
	if len(ims) == 0 {
		fmt.Fprintln(a.out, "no imports yet")
		return nil
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFILE\tSTAGING\tSTAGED\tDUPLICATES\tBAD\tSTARTED\tFAILED\tPENDING")
	for _, im := range ims {
		st := "done"
		if !im.StagedDone {
			st = fmt.Sprintf("interrupted at line %d", im.LastLine)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", im.ID, term(im.FileName), st, im.Staged, im.Duplicates, im.BadRows, im.Started, im.Failed, im.Pending)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, im := range ims {
		if im.Failed == 0 {
			continue
		}
		failed, err := a.st.FailedRows(ctx, im.ID, 20)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "\nimport %d (%s): rows the drain could not start (first %d of %d):\n", im.ID, term(im.FileName), len(failed), im.Failed)
		for _, f := range failed {
			fmt.Fprintf(a.out, "  %s:%d: %s\n", term(im.FileName), f.Line, term(f.Error))
		}
	}
	return nil
}
