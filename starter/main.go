// Command starter is the command-line client for marketers and admins:
// import the team directory, launch campaigns, submit and inspect leads.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func main() {
	root := newRoot(os.Stdout)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// app holds what commands open lazily: config, database, Temporal.
type app struct {
	out io.Writer
	cfg config.Config
	st  *store.Store
}

func (a *app) open(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a.cfg = cfg
	if _, err := store.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	a.st, err = store.Open(ctx, cfg.DatabaseURL)
	return err
}

func (a *app) close() {
	if a.st != nil {
		a.st.Close()
	}
}

func newRoot(out io.Writer) *cobra.Command {
	a := &app{out: out}
	root := &cobra.Command{
		Use:   "starter",
		Short: "Baton's command-line client: directory, campaigns and leads",
		Long: "starter talks to Baton's PostgreSQL database and Temporal server, configured by\n" +
			"environment variables (see `starter env`). Run `make run` first for a local stack.",
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPostRun: func(*cobra.Command, []string) { a.close() },
	}
	root.SetOut(out)
	root.AddCommand(directoryCmd(a), policyCmd(a), campaignCmd(a), leadCmd(a), dbCmd(a), envCmd(a))
	root.AddCommand(sourceCmd(a))
	root.AddCommand(routeCmd(a))
	root.AddCommand(webhookCmd(a))
	return root
}

func readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// fileErr prefixes validation errors with the file, one per line.
func fileErr(path string, err error) error {
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		lines := make([]string, len(fe))
		for i, e := range fe {
			lines[i] = fmt.Sprintf("  %s: %s: %s", path, e.Field, e.Detail)
		}
		return fmt.Errorf("%s is invalid; nothing was changed:\n%s", path, strings.Join(lines, "\n"))
	}
	return fmt.Errorf("%s: %w; nothing was changed", path, err)
}

// importFile reads and validates a YAML file, then saves it; any error names
// the file and says nothing was changed.
func importFile[T any](a *app, cmd *cobra.Command, path string, parse func([]byte) (T, error),
	save func(context.Context, T) (store.ImportResult, error)) (T, store.ImportResult, error) {
	var res store.ImportResult
	data, err := readFile(path)
	if err != nil {
		var zero T
		return zero, res, err
	}
	v, err := parse(data)
	if err != nil {
		return v, res, fileErr(path, err)
	}
	if err := a.open(cmd.Context()); err != nil {
		return v, res, err
	}
	if res, err = save(cmd.Context(), v); err != nil {
		return v, res, fileErr(path, err)
	}
	return v, res, nil
}

func importVerb(dry bool) string {
	if dry {
		return "dry run, nothing written; would have"
	}
	return "imported"
}

func directoryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "directory", Short: "Manage the sales directory: teams, reps, managers and leaders"}
	var from, until, why string
	away := &cobra.Command{
		Use:   "away <rep> --until INSTANT [--from INSTANT] [--reason TEXT]",
		Short: "Record a rep's out-of-office period",
		Long: "Routing skips the rep during the period. When it has begun, every lead the rep\n" +
			"holds is told, and its SLA policy decides: reassign (the default for unaccepted\n" +
			"leads) or pause the clock by the business time the rep is away.",
		Example: "  starter directory away ana --until 2026-11-27T18:00:00+01:00 --reason vacation",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			if from != "" {
				t, err := time.Parse(time.RFC3339, from)
				if err != nil {
					return fmt.Errorf("--from %q is not an RFC 3339 instant", from)
				}
				start = t
			}
			end, err := time.Parse(time.RFC3339, until)
			if err != nil {
				return fmt.Errorf("--until %q is not an RFC 3339 instant such as 2026-11-27T18:00:00+01:00", until)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			res, err := intake.MarkAway(cmd.Context(), cl, a.st, args[0], start, end, why)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s is away %s – %s; %d held leads told\n", term(args[0]), start.Format(time.RFC3339), end.Format(time.RFC3339), res.Released)
			if time.Now().Before(start) {
				fmt.Fprintln(a.out, "  routing skips them from the start; the worker tells the leads they hold then")
			}
			for _, sk := range res.Skipped {
				fmt.Fprintln(a.out, "  not changed:", term(fmt.Sprint(sk)))
			}
			return nil
		},
	}
	away.Flags().StringVar(&from, "from", "", "start (RFC 3339; default now)")
	away.Flags().StringVar(&until, "until", "", "end (RFC 3339; required)")
	away.Flags().StringVar(&why, "reason", "", "why, for the record")
	cmd.AddCommand(directoryImportCmd(a), away, directoryExportCmd(a), directoryAwayLinkCmd(a))
	return cmd
}

func leadCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "lead", Short: "Submit and inspect leads"}
	var req domain.LeadRequest
	var score int
	var idem string
	var asJSON bool
	submit := &cobra.Command{
		Use:   "submit --campaign C --email E [--name N] [--company C] [--country CC] [--score S]",
		Short: "Submit a lead to a live campaign, as a web form would",
		Long: "Starts (or touches) the lead's workflow with Update-with-Start. The same email\n" +
			"submitted twice is one lead with two touches.",
		Example: "  starter lead submit --campaign webinar-q3 --email dana@acme.example --name 'Dana Lee' --company Acme --score 60",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("score") {
				req.Score = &score
			}
			if req.Source == "" {
				req.Source = "cli"
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
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			res, err := svc.Submit(ctx, req, idem)
			if err != nil {
				return fileErr("lead", err)
			}
			if asJSON {
				return newJSON(a.out).Encode(res)
			}
			what := "new lead"
			if res.Duplicate {
				what = fmt.Sprintf("existing lead, touch %d", res.Touches)
			}
			fmt.Fprintf(a.out, "%s (%s), state %s\nsee it with: starter lead show %s\n", term(res.LeadID), what, term(string(res.State)), term(res.LeadID))
			return nil
		},
	}
	f := submit.Flags()
	f.StringVar(&req.Campaign, "campaign", "", "campaign id (required)")
	f.StringVar(&req.Email, "email", "", "lead's email (required)")
	f.StringVar(&req.Name, "name", "", "lead's full name")
	f.StringVar(&req.Company, "company", "", "lead's company")
	f.StringVar(&req.Country, "country", "", "ISO 3166 alpha-2 country code, e.g. DE")
	f.IntVar(&score, "score", 0, "engagement score 0..1000")
	f.StringVar(&req.Source, "source", "", "where the lead came from (default cli)")
	f.StringVar(&idem, "idempotency-key", "", "makes a retried submit return the first answer")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")

	var showJSON bool
	show := &cobra.Command{
		Use:     "show <lead id | email>",
		Short:   "Show a lead's state, owner, deadline and events",
		Example: "  starter lead show ld_abc...\n  starter lead show dana@acme.example",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := leadIDArg(args[0])
			if err != nil {
				return err
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			v, err := a.st.Lead(cmd.Context(), id)
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("no lead %s", args[0])
			}
			if err != nil {
				return err
			}
			if showJSON {
				enc := newJSON(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			printLead(a.out, v)
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the lead as JSON")
	clocks := &cobra.Command{
		Use:     "clocks <lead id | email>",
		Short:   "Ask the lead's workflow for its running deadlines, time left and recent events",
		Example: "  starter lead clocks dana@acme.example",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := leadIDArg(args[0])
			if err != nil {
				return err
			}
			cfg, err := config.Load()
			if err != nil {
				return err
			}
			cl, err := tclient.Dial(cfg, tclient.QuietLogger())
			if err != nil {
				return err
			}
			defer cl.Close()
			val, err := cl.QueryWorkflow(cmd.Context(), workflows.LeadWorkflowID(id), "", workflows.QueryDeadlines)
			if err != nil {
				return fmt.Errorf("query lead %s (is its workflow running, and the worker up?): %w", id, err)
			}
			var v workflows.DeadlinesView
			if err := val.Get(&v); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: %s, held by %s, escalation level %d, policy %s\n", id, term(string(v.State)), term(orDash(v.Owner.Name)), v.EscalationLevel, term(orDash(v.Policy)))
			for _, d := range v.Deadlines {
				fmt.Fprintf(a.out, "  %-14s due %s  (%s left)\n", term(d.Name), d.Due.UTC().Format(time.RFC3339), d.Left.Round(time.Second))
			}
			for _, e := range v.Recent {
				fmt.Fprintf(a.out, "  %s  %-14s %s %s\n", e.At.UTC().Format("2006-01-02 15:04:05"), term(e.Kind), term(e.Actor), term(e.Reason))
			}
			return nil
		},
	}
	cmd.AddCommand(submit, show, clocks, actCmd(a), eraseCmd(a), recoverCmd(a))
	cmd.AddCommand(importCmd(a))
	return cmd
}

func leadIDArg(arg string) (string, error) {
	if strings.Contains(arg, "@") {
		e, err := domain.NormalizeEmail(arg)
		if err != nil {
			return "", fmt.Errorf("email %s", err)
		}
		return domain.LeadID(e), nil
	}
	if !domain.ValidLeadID(arg) {
		return "", fmt.Errorf("%q is neither a lead id (ld_…) nor an email", arg)
	}
	return arg, nil
}

func actCmd(a *app) *cobra.Command {
	var as, reason, note, channel, ref, to, until string
	var by time.Duration
	cmd := &cobra.Command{
		Use:   "act <lead id | email> <action> --as PERSON",
		Short: "Act on a lead as its rep or manager, as the one-click links do",
		Long: "Sends the action to the lead's workflow as a Temporal Update. The workflow's validator\n" +
			"refuses a stale or illegal action with the reason, and nothing is written.\n\n" +
			"  reject      --reason " + strings.Join(domain.RejectReasons, "|") + " [--note]\n" +
			"  contact     --channel " + strings.Join(workflows.Channels, "|") + " [--note]\n" +
			"  convert     --ref OPPORTUNITY\n" +
			"  disqualify  --reason " + strings.Join(domain.DisqualifyReasons, "|") + " [--note: for marketing]\n" +
			"  recycle     --reason " + strings.Join(domain.RecycleReasons, "|") + " [--note]\n" +
			"  reassign    (manager) --reason TEXT [--to REP; default: back to routing]\n" +
			"  hand        (manager) --to REP --reason TEXT: an accepted lead whose first contact was\n" +
			"              missed goes to REP, accepted, with a fresh first-contact deadline\n" +
			"  takeover    (manager) --reason TEXT: hold the lead yourself, accepted at once (an\n" +
			"              offered or escalated lead, or an accepted one whose first contact was missed)\n" +
			"  extend      (manager, once) --by DURATION --reason TEXT (after a missed first contact:\n" +
			"              the new deadline is DURATION of business time from now)\n" +
			"  nudge       (manager) [--note]: mail the holder of an escalated lead the link they need\n" +
			"  snooze      --until 2026-11-30T10:00:00-05:00 [--note] (the prospect asked; policy snooze_max)",
		Example: "  starter lead act dana@acme.example accept --as ana\n  starter lead act dana@acme.example contact --as ana --channel call --note 'booked a demo'",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := leadIDArg(args[0])
			if err != nil {
				return err
			}
			if as == "" {
				return errors.New("--as REP is required: the rep acting")
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			v, err := a.st.Lead(cmd.Context(), id)
			if err != nil {
				return err
			}
			var name string
			var arg any
			switch args[1] {
			case "accept":
				name, arg = workflows.UpdateAccept, workflows.AcceptInput{RepID: as, Attempt: v.Attempt}
			case "reject":
				name, arg = workflows.UpdateReject, workflows.RejectInput{RepID: as, Attempt: v.Attempt, Reason: reason, Note: note}
			case "contact":
				name, arg = workflows.UpdateContact, workflows.ContactInput{RepID: as, Channel: channel, Note: note}
			case "convert":
				name, arg = workflows.UpdateClose, workflows.CloseInput{RepID: as, Outcome: workflows.OutcomeConverted, Reference: ref}
			case "disqualify":
				name, arg = workflows.UpdateClose, workflows.CloseInput{RepID: as, Outcome: workflows.OutcomeDisqualified, Reason: reason, Note: note}
			case "recycle":
				name, arg = workflows.UpdateClose, workflows.CloseInput{RepID: as, Outcome: workflows.OutcomeRecycled, Reason: reason, Note: note}
			case "hand":
				if to == "" {
					return errors.New("hand needs --to REP: the rep who takes the lead")
				}
				name, arg = workflows.UpdateHand, workflows.HandInput{ManagerID: as, ToRep: to, Attempt: v.Attempt, Reason: reason}
			case "nudge":
				click := make([]byte, 8)
				rand.Read(click) //nolint:errcheck // crypto/rand never fails on Linux
				name, arg = workflows.UpdateNudge, workflows.NudgeInput{ManagerID: as, Attempt: v.Attempt, ClickID: "cli-" + hex.EncodeToString(click), Note: note}
			case "takeover", "extend":
				if string(v.State) == string(domain.StateAccepted) { // an accepted lead: only after a missed first contact
					if args[1] == "takeover" {
						name, arg = workflows.UpdateHand, workflows.HandInput{ManagerID: as, ToRep: as, TakeOver: true, Attempt: v.Attempt, Reason: reason}
					} else {
						name, arg = workflows.UpdateExtendContact, workflows.ExtendContactInput{ManagerID: as, Attempt: v.Attempt, By: by, Reason: reason}
					}
					break
				}
				if args[1] == "takeover" {
					name, arg = workflows.UpdateReassign, workflows.ReassignInput{ManagerID: as, ToRep: as, TakeOver: true, Reason: reason}
				} else {
					name, arg = workflows.UpdateExtend, workflows.ExtendInput{ManagerID: as, By: by, Reason: reason}
				}
			case "reassign":
				name, arg = workflows.UpdateReassign, workflows.ReassignInput{ManagerID: as, ToRep: to, Reason: reason}
			case "snooze":
				t, err := time.Parse(time.RFC3339, until)
				if err != nil {
					return fmt.Errorf("--until %q is not an RFC 3339 instant such as 2026-11-30T10:00:00-05:00", until)
				}
				name, arg = workflows.UpdateSnooze, workflows.SnoozeInput{RepID: as, Until: t, Note: note}
			default:
				return fmt.Errorf("unknown action %q: use accept, reject, contact, convert, disqualify, recycle, reassign, hand, takeover, extend, nudge or snooze", args[1])
			}
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			err = tclient.Update(ctx, cl, client.UpdateWorkflowOptions{WorkflowID: v.WorkflowID, UpdateName: name,
				Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}, nil)
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) && strings.HasPrefix(ae.Message(), "unknown update ") {
				return fmt.Errorf("refused, nothing changed: this lead runs on an earlier release of Baton that has no %q action", args[1])
			}
			if errors.As(err, &ae) {
				return fmt.Errorf("refused, nothing changed: %s", ae.Message())
			}
			if err != nil {
				return err
			}
			v, _ = a.st.Lead(cmd.Context(), id)
			fmt.Fprintf(a.out, "%s: %s done; the lead is %s\n", id, term(args[1]), term(string(v.State)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "id of the rep or manager acting (required)")
	f.StringVar(&reason, "reason", "", "reason of a reject, disqualify or recycle")
	f.StringVar(&note, "note", "", "free-text note")
	f.StringVar(&channel, "channel", "", "channel of a contact")
	f.StringVar(&ref, "ref", "", "opportunity reference of a conversion")
	f.StringVar(&to, "to", "", "rep a manager reassigns or hands to (reassign's default: the next in rotation)")
	f.DurationVar(&by, "by", 0, "business time a manager's extension adds, e.g. 1h")
	f.StringVar(&until, "until", "", "instant a snooze lasts until (RFC 3339)")
	return cmd
}

func eraseCmd(a *app) *cobra.Command {
	var reason, actor string
	cmd := &cobra.Command{
		Use:   "erase <lead id | email> --reason unsubscribe|erasure-request",
		Short: "End a lead and purge its personal data (unsubscribe or erasure request)",
		Long: "Stops every clock of the lead, blanks its name, email, company and country in\n" +
			"PostgreSQL, strips notes from its events and deletes its messages from the outbox.\n" +
			"The events themselves stay, so the shared numbers do not change. The workflow's\n" +
			"history in Temporal keeps the original input until the namespace's retention ends.",
		Example: "  starter lead erase dana@acme.example --reason erasure-request",
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
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := eraseLead(ctx, cl, a.st.Erase, id, actor, reason); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: personal data erased; events kept\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "unsubscribe or erasure-request (required)")
	cmd.Flags().StringVar(&actor, "actor", os.Getenv("USER"), "who asked for it, recorded on the event")
	return cmd
}

// eraseLead asks the lead's workflow to erase the lead (it stops its clocks,
// records the erasure and purges). Only when Temporal holds no running
// workflow of the lead (a version-0 lead after acceptance, or one past the
// namespace's retention) does it purge PostgreSQL directly: a purge beside a
// running workflow would leave its clocks, its mail and its state going on.
func eraseLead(ctx context.Context, cl client.Client, purge func(context.Context, string) error, id, actor, reason string) error {
	err := tclient.Update(ctx, cl, client.UpdateWorkflowOptions{WorkflowID: workflows.LeadWorkflowID(id),
		UpdateName: workflows.UpdateErase, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.EraseInput{Actor: "admin:" + actor, Reason: reason}}}, nil)
	var ae *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return fmt.Errorf("refused, nothing changed: %s", ae.Message())
	case !errors.As(err, &nf):
		return fmt.Errorf("erase %s: %w; run it again (an erasure is safe to repeat)", id, err)
	}
	// No running workflow (tclient.Update tells a lost update from an ended
	// workflow): purge directly.
	if !domain.ValidReason(reason, domain.EraseReasons) {
		return fmt.Errorf("--reason must be one of %v", domain.EraseReasons)
	}
	if perr := purge(ctx, id); perr != nil {
		return fmt.Errorf("erase: %w (workflow: %v)", perr, err)
	}
	return nil
}

func policyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Manage SLA policies"}
	var dry bool
	imp := &cobra.Command{
		Use:   "import <policies.yaml>",
		Short: "Create or update SLA policies from a YAML file",
		Long: "Upserts every policy in one transaction; a changed policy gets a new version.\n" +
			"Leads already running keep the version they started with.",
		Example: "  starter policy import examples/policies.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, res, err := importFile(a, cmd, args[0], domain.ParsePolicies, func(ctx context.Context, ps []domain.Policy) (store.ImportResult, error) {
				return a.st.ImportPolicies(ctx, ps, dry)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: %s %d policies: %s\n", term(args[0]), importVerb(dry), len(ps), term(fmt.Sprint(res)))
			return nil
		},
	}
	imp.Flags().BoolVar(&dry, "dry-run", false, "show what would change without writing")
	list := &cobra.Command{
		Use:   "list",
		Short: "List SLA policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			ps, err := a.st.Policies(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tACCEPT\tFIRST CONTACT\tREMINDERS\tREASSIGN\tCALENDAR")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%v\t%d\t%s\n", term(p.Name), p.Version, time.Duration(p.Policy.AcceptWithin),
					time.Duration(p.Policy.FirstContactWithin), p.Policy.Reminders, p.Policy.OnMiss.Reassign, term(fmt.Sprint(p.Policy.Calendar)))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(imp, list)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func ts(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

func printLead(w io.Writer, v store.LeadView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	owner := "—"
	if v.Owner != nil {
		owner = fmt.Sprintf("%s <%s>", term(v.Owner.Name), term(v.Owner.Email))
	}
	fmt.Fprintf(tw, "Lead:\t%s\nEmail:\t%s\nName:\t%s\nCompany:\t%s\nCampaign:\t%s (%s)\nState:\t%s\nOwner:\t%s (offer %d)\nPolicy:\t%s\nEscalation:\tlevel %d\nOffered:\t%s\nAccept by:\t%s\nEscalated:\t%s\nAccepted:\t%s\nContact by:\t%s\nContacted:\t%s\nClosed:\t%s %s\nTouches:\t%d\nWorkflow:\t%s\n",
		term(v.ID), term(v.Email), term(v.Name), term(v.Company), term(v.CampaignName), term(v.Campaign), term(string(v.State)), owner, v.Attempt,
		term(orDash(v.Policy)), v.Escalation, ts(v.OfferedAt), ts(v.AcceptBy), ts(v.EscalatedAt), ts(v.AcceptedAt), ts(v.ContactBy),
		ts(v.ContactedAt), ts(v.ClosedAt), term(v.Reason), v.Touches, term(v.WorkflowID))
	tw.Flush()
	fmt.Fprintln(w, "\nEvents:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range v.Events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.UTC().Format("2006-01-02 15:04:05"), term(e.Kind), term(e.Actor), term(e.Reason))
	}
	tw.Flush()
}

func dbCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Database maintenance"}
	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Apply pending migrations to DATABASE_URL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load()
			if err != nil {
				return err
			}
			v, err := store.Migrate(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "schema at version %d\n", v)
			return nil
		},
	})
	return cmd
}

func envCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "List every environment variable Baton reads, with its default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(a.out, config.Usage())
			if _, err := config.Load(); err != nil {
				return fmt.Errorf("the current environment is invalid:\n%w", err)
			}
			return nil
		},
	}
}
