package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/workflows"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func campaignCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "campaign", Short: "Plan, sign off, launch, watch and end campaigns",
		Long: "A campaign runs as a durable workflow: draft → sales review (reviewers sign off by a\n" +
			"deadline, reminded, the sales leader told when they stay silent) → approved → live at\n" +
			"its start date → a weekly check of marketing's commitments and a digest to both teams\n" +
			"→ ended (end date or `campaign end`) → retrospective → closed."}
	cmd.AddCommand(campaignValidateCmd(a), campaignLaunchCmd(a), campaignReviseCmd(a), campaignReviewCmd(a),
		campaignStatusCmd(a), campaignEndCmd(a), campaignListCmd(a))
	return cmd
}

// readCampaign reads and validates a spec, its end date against the clock
// too; errors name the file and field.
func readCampaign(path string) (domain.Campaign, error) {
	data, err := readFile(path)
	if err != nil {
		return domain.Campaign{}, err
	}
	c, err := domain.ParseCampaign(data)
	if err == nil {
		err = c.CheckLaunchDates(time.Now())
	}
	if err != nil {
		return c, fileErr(path, err)
	}
	return c, nil
}

func (a *app) temporal() (client.Client, error) {
	return tclient.Dial(a.cfg, tclient.QuietLogger())
}

func campaignValidateCmd(a *app) *cobra.Command {
	var offline bool
	c := &cobra.Command{
		Use:   "validate <campaign.yaml>",
		Short: "Check a campaign spec without changing anything",
		Long: "Parses the spec and names every bad field. Unless --offline, also checks that its\n" +
			"team and SLA policy exist in the database.",
		Example: "  starter campaign validate examples/campaign-signoff.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := readCampaign(args[0])
			if err != nil {
				return err
			}
			if !offline {
				if err := a.open(cmd.Context()); err != nil {
					return err
				}
				if err := a.st.CheckCampaignRefs(cmd.Context(), c); err != nil {
					return fileErr(args[0], err)
				}
			}
			fmt.Fprintf(a.out, "%s is valid: campaign %s (%s), %d reviewer(s), quorum %d, qualifies at %s\n",
				term(args[0]), term(c.ID), term(c.Name), len(c.Reviewers), c.Quorum(), term(rule(c)))
			return nil
		},
	}
	c.Flags().BoolVar(&offline, "offline", false, "do not check the team and policy in the database")
	return c
}

func rule(c domain.Campaign) string {
	r := fmt.Sprintf("score ≥ %d", c.MinScore)
	if len(c.RequiredFields) > 0 {
		r += " with " + strings.Join(c.RequiredFields, ", ")
	}
	return r
}

func campaignLaunchCmd(a *app) *cobra.Command {
	var wait time.Duration
	c := &cobra.Command{
		Use:   "launch <campaign.yaml>",
		Short: "Start a campaign: sales review, then live at its start date",
		Long: "Validates the spec, checks its team and policy, stores it as a draft and starts its\n" +
			"workflow. With reviewers, each gets a sign-off request by email; without, the plan is\n" +
			"approved at once. It goes live at starts_at (or at approval when there is none).\n" +
			"Launching the same spec again is harmless; to change a plan in review, use `revise`.",
		Example: "  starter campaign launch examples/campaign.yaml\n  starter campaign launch examples/campaign-signoff.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, cl, err := a.campaignSpec(ctx, args[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			// Already running: the same spec is a no-op, another one needs revise.
			if v, err := queryCampaign(ctx, cl, c.ID); err == nil {
				cur, serr := a.st.CampaignSpec(ctx, c.ID)
				if serr == nil && sameSpec(cur.Spec, c) {
					fmt.Fprintf(a.out, "campaign %s is already launched and %s\n", term(c.ID), term(v.Phase))
					return nil
				}
				return fmt.Errorf("campaign %s is already launched (%s); nothing was changed. Use `starter campaign revise %s` to change a plan in review", c.ID, v.Phase, args[0])
			}
			if cur, err := a.st.CampaignSpec(ctx, c.ID); err == nil && (cur.Status == domain.CampaignEnded || cur.Status == domain.CampaignClosed) {
				return fmt.Errorf("campaign %s has %s; nothing was changed. Give a new campaign a new id", c.ID, cur.Status)
			}
			if err := a.st.UpsertCampaign(ctx, c, domain.CampaignDraft, a.cfg.DefaultAcceptWindow); err != nil {
				return fileErr(args[0], err)
			}
			_, err = cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: workflows.CampaignWorkflowID(c.ID), TaskQueue: a.cfg.TaskQueue,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
				WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SACampaign.ValueSet(c.ID)),
			}, workflows.CampaignWorkflow, workflows.CampaignInput{CampaignID: c.ID})
			var started *serviceerror.WorkflowExecutionAlreadyStarted
			if errors.As(err, &started) {
				return fmt.Errorf("campaign %s was launched before and its workflow has ended; give a new campaign a new id", c.ID)
			}
			if err != nil {
				return fmt.Errorf("start campaign %s: %w", c.ID, err)
			}
			// Wait until it leaves draft, so the next command sees it in review or live.
			deadline := time.Now().Add(wait)
			for {
				v, err := queryCampaign(ctx, cl, c.ID)
				if err == nil && v.Phase != "" && v.Phase != workflows.PhaseDraft {
					fmt.Fprintf(a.out, "campaign %s (%s) launched: %s\n", term(c.ID), term(c.Name), term(phaseLine(v)))
					return nil
				}
				if time.Now().After(deadline) {
					fmt.Fprintf(a.out, "campaign %s (%s) launched; its workflow has not started yet (is the worker running?)\n", term(c.ID), term(c.Name))
					return nil
				}
				time.Sleep(200 * time.Millisecond)
			}
		},
	}
	c.Flags().DurationVar(&wait, "wait", 15*time.Second, "how long to wait for the campaign to reach review or live")
	return c
}

func phaseLine(v workflows.CampaignView) string {
	switch v.Phase {
	case workflows.PhaseReview:
		return fmt.Sprintf("in sales review (revision %d), %d of %d approval(s), answers due %s", v.Round, v.Approvals, v.Quorum, when(v.Deadline))
	case workflows.PhaseApproved:
		return "approved; live at " + when(v.StartsAt)
	case workflows.PhaseLive:
		s := "live since " + when(v.LiveAt)
		if !v.EndsAt.IsZero() {
			s += ", ends " + when(v.EndsAt)
		}
		return s
	}
	return v.Phase
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04:05 MST")
}

func queryCampaign(ctx context.Context, cl client.Client, id string) (workflows.CampaignView, error) {
	var v workflows.CampaignView
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := cl.QueryWorkflow(qctx, workflows.CampaignWorkflowID(id), "", workflows.QueryCampaign)
	if err != nil {
		return v, err
	}
	return v, res.Get(&v)
}

// campaignUpdate sends an update to a campaign's workflow and explains a
// refusal in the validator's words.
func campaignUpdate(ctx context.Context, cl client.Client, id, name string, arg any) (workflows.CampaignView, error) {
	var v workflows.CampaignView
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := tclient.Update(uctx, cl, client.UpdateWorkflowOptions{WorkflowID: workflows.CampaignWorkflowID(id), UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}, &v)
	var ae *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &ae):
		return v, fmt.Errorf("%s; nothing was changed", ae.Message())
	case errors.As(err, &nf):
		return v, fmt.Errorf("campaign %s has no running workflow (not launched, or closed); nothing was changed", id)
	}
	return v, err
}

func campaignReviseCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revise <campaign.yaml>",
		Short: "Revise a plan in sales review; the review starts again",
		Long: "Sends the revised spec to the campaign's workflow. Only a draft or a plan in review can\n" +
			"be revised. Reviewers get a new request; their earlier comments are kept and shown.",
		Example: "  starter campaign revise examples/campaign-signoff.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, cl, err := a.campaignSpec(ctx, args[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			v, err := campaignUpdate(ctx, cl, c.ID, workflows.UpdateCampaignRevise, workflows.CampaignReviseInput{Spec: c, Actor: "owner:" + c.Owner.Email})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "campaign %s revised: %s\n", term(c.ID), term(phaseLine(v)))
			return nil
		},
	}
}

func campaignReviewCmd(a *app) *cobra.Command {
	var as, comment string
	c := &cobra.Command{
		Use:   "review <campaign id> approve|changes --as REVIEWER [--comment TEXT]",
		Short: "Answer a sign-off request as a reviewer (the email's one-click links do the same)",
		Example: "  starter campaign review webinar-q4 approve --as max\n" +
			"  starter campaign review webinar-q4 changes --as sam --comment 'add the DACH audience'",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			verdict := map[string]string{"approve": workflows.VerdictApprove, "changes": workflows.VerdictChanges}[args[1]]
			if verdict == "" {
				return fmt.Errorf("%q is not approve or changes", args[1])
			}
			if as == "" {
				return errors.New("--as REVIEWER is required")
			}
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			cur, err := queryCampaign(ctx, cl, args[0])
			if err != nil {
				return fmt.Errorf("campaign %s: %w", args[0], err)
			}
			v, err := campaignUpdate(ctx, cl, args[0], workflows.UpdateCampaignReview,
				workflows.CampaignReviewInput{ReviewerID: as, Round: cur.Round, Verdict: verdict, Comment: comment})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "campaign %s: %s\n", term(args[0]), term(phaseLine(v)))
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "the reviewer's id, as in the spec (required)")
	c.Flags().StringVar(&comment, "comment", "", "what should change (required with changes)")
	return c
}

func campaignEndCmd(a *app) *cobra.Command {
	var reason, as string
	c := &cobra.Command{
		Use:     "end <campaign id> [--reason TEXT]",
		Short:   "End a campaign now; the retrospective goes to both teams",
		Example: "  starter campaign end webinar-q3 --reason 'budget moved to Q4'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			v, err := campaignUpdate(ctx, cl, args[0], workflows.UpdateCampaignEnd, workflows.CampaignEndInput{Actor: "admin:" + as, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "campaign %s ended at %s; it is %s\n", term(args[0]), when(v.EndedAt), term(v.Phase))
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why it ends early")
	c.Flags().StringVar(&as, "as", "starter", "who ends it, for the record")
	return c
}

// CampaignStatus is what `campaign status --json` prints.
type CampaignStatus struct {
	ID       string                  `json:"id"`
	Status   string                  `json:"status"`
	Workflow *workflows.CampaignView `json:"workflow,omitempty"`
	ToDate   *domain.CampaignStats   `json:"to_date,omitempty"`
	Events   []domain.CampaignEvent  `json:"events"`
}

func campaignStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status <campaign id> [--json]",
		Short: "Where a campaign stands: phase, review, weeks checked, numbers to date, history",
		Long: "Asks the running workflow (Query) for its phase, review round, reviewers and next\n" +
			"check, and reads the numbers to date and the campaign's history from PostgreSQL.",
		Example: "  starter campaign status webinar-q3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			cur, err := a.st.CampaignSpec(ctx, args[0])
			if err != nil {
				return err
			}
			out := CampaignStatus{ID: args[0], Status: cur.Status}
			if cl, err := a.temporal(); err == nil {
				if v, err := queryCampaign(ctx, cl, args[0]); err == nil {
					out.Workflow = &v
				}
				cl.Close()
			}
			from, to := store.ToDate(cur, time.Now())
			s, err := a.st.CampaignStats(ctx, args[0], from, to, 0)
			if err != nil {
				return err
			}
			out.ToDate = &s
			if out.Events, err = a.st.CampaignEvents(ctx, args[0]); err != nil {
				return err
			}
			if asJSON {
				enc := newJSON(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printCampaignStatus(a.out, cur, out)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func printCampaignStatus(w io.Writer, cur store.CampaignState, out CampaignStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	c := cur.Spec
	fmt.Fprintf(tw, "Campaign:\t%s (%s)\nStatus:\t%s\nOwner:\t%s <%s>\nQualifies at:\t%s\nCommitments:\t%d MQLs per period of %s, acceptance ≥ %s\nRuns:\t%s → %s\n",
		term(c.ID), term(c.Name), term(out.Status), term(c.Owner.Name), term(c.Owner.Email), term(rule(c)), c.Commitments.MQLsPerWeek, c.CheckEvery(),
		domain.Pct(c.Commitments.MinAcceptanceRate), when(c.StartsAt.Time), when(c.EndsAt.Time))
	if v := out.Workflow; v != nil {
		fmt.Fprintf(tw, "Now:\t%s\n", term(phaseLine(*v)))
		if v.Phase == workflows.PhaseReview || v.Round > 1 {
			for _, r := range v.Reviewers {
				fmt.Fprintf(tw, "  reviewer %s:\t%s\n", term(r.Reviewer.Name), orDash(map[string]string{"approve": "approved", "changes": "asked for changes"}[r.Verdict]))
			}
			for _, cm := range v.Comments {
				fmt.Fprintf(tw, "  comment (round %d, %s):\t%s\n", cm.Round, term(cm.Reviewer), term(cm.Comment))
			}
		}
		if !v.NextCheck.IsZero() {
			fmt.Fprintf(tw, "Next check:\t%s (%d checked)\n", when(v.NextCheck), v.Week)
		}
		for _, wk := range v.Weeks {
			verdict := "met"
			if len(wk.Shortfall) > 0 {
				verdict = "missed: " + strings.Join(wk.Shortfall, "; ")
			}
			fmt.Fprintf(tw, "  week %d:\t%d MQLs of %d — %s\n", wk.Week, wk.MQLs, wk.Target, term(verdict))
		}
	} else {
		fmt.Fprintf(tw, "Now:\t%s (no running workflow)\n", term(out.Status))
	}
	if s := out.ToDate; s != nil {
		since := "the first lead"
		if !s.From.IsZero() {
			since = when(s.From)
		}
		fmt.Fprintf(tw, "To date:\t%d captured, %d MQLs since %s (%s)\n", s.Captured, s.MQLs, since, domain.CohortRule)
		for _, l := range s.Metrics.Lines() {
			fmt.Fprintf(tw, "  %s:\t%s (%s)\n", l.Name, l.Value, l.Detail)
		}
	}
	fmt.Fprintln(tw, "History:")
	for _, e := range out.Events {
		line := e.Kind + " by " + e.Actor
		if e.Reason != "" {
			line += ": " + e.Reason
		}
		fmt.Fprintf(tw, "  %s\t%s\n", when(e.At), term(line))
	}
	tw.Flush()
}

func campaignListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List campaigns",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			cs, err := a.st.Campaigns(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tTEAM\tACCEPT WITHIN")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", term(c.ID), term(c.Name), term(c.Status), term(c.TeamID), c.AcceptWindow)
			}
			return tw.Flush()
		},
	}
}

// sameSpec compares two specs as they are stored (JSON).
func sameSpec(a, b domain.Campaign) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// campaignSpec reads and validates a campaign file, checks that its team and
// policy exist, and dials Temporal: what launch and revise both need first.
func (a *app) campaignSpec(ctx context.Context, path string) (domain.Campaign, client.Client, error) {
	c, err := readCampaign(path)
	if err != nil {
		return c, nil, err
	}
	if err := a.open(ctx); err != nil {
		return c, nil, err
	}
	if err := a.st.CheckCampaignRefs(ctx, c); err != nil {
		return c, nil, fileErr(path, err)
	}
	cl, err := a.temporal()
	return c, cl, err
}
