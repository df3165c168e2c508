package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/spf13/cobra"
)

func routeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "route", Short: "Explain where routing sends a lead, and why"}
	var lead, at string
	var asJSON bool
	var f domain.LeadFields
	explain := &cobra.Command{
		Use:   "explain (--lead ID|EMAIL | --country CC [--region R] [--industry I] [--company-size N] [--campaign ID]) [--at INSTANT]",
		Short: "Show the territory rule that matches, the eligible reps in order, and why others are skipped",
		Long: "Runs the same choice routing runs, without writing anything. With --lead it reads the\n" +
			"lead's fields, lists the reps who already had it (skipped), and prints the decision\n" +
			"recorded with each past assignment. With fields it answers for a lead not yet seen;\n" +
			"--campaign names the campaign whose team is the fallback when no rule matches.\n" +
			"Skipped reps are away, off shift, at cap, inactive, or already had this lead.\n" +
			"The first eligible rep is who gets the lead next: reps are ordered by credit, their\n" +
			"standing in the weighted rotation (each pick adds every available rep's weight; the\n" +
			"rep picked pays back the sum), then by id.",
		Example: "  starter route explain --lead lea@example.com\n" +
			"  starter route explain --country DE --company-size 500 --campaign webinar-q3\n" +
			"  starter route explain --country US --region CA --at 2026-11-23T03:00:00Z",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--at %q is not an RFC 3339 instant such as 2026-11-23T10:00:00Z", at)
				}
				now = t
			}
			if lead == "" && f == (domain.LeadFields{}) {
				return errors.New("give --lead, or lead fields such as --country and --campaign")
			}
			if lead != "" && f != (domain.LeadFields{}) {
				return errors.New("give --lead or lead fields, not both")
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			e, err := a.st.ExplainRoute(cmd.Context(), lead, f, now)
			if err != nil {
				return err
			}
			if asJSON {
				return writeExplanationJSON(a.out, e)
			}
			writeExplanation(a.out, e)
			return nil
		},
	}
	fl := explain.Flags()
	fl.StringVar(&lead, "lead", "", "lead id or email")
	fl.StringVar(&f.Country, "country", "", "lead's country")
	fl.StringVar(&f.Region, "region", "", "lead's region or state")
	fl.StringVar(&f.Industry, "industry", "", "lead's industry")
	fl.StringVar(&f.CompanySize, "company-size", "", "lead's company size (employees, or a band)")
	fl.StringVar(&f.Campaign, "campaign", "", "campaign id")
	fl.StringVar(&at, "at", "", "explain as of this instant (RFC 3339; default now)")
	fl.BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	cmd.AddCommand(explain)
	return cmd
}

// writeExplanation prints an explanation; golden tests pin its form.
func writeExplanation(w io.Writer, e store.Explanation) {
	if e.LeadID != "" {
		fmt.Fprintf(w, "Lead:      %s\n", term(e.LeadID))
	}
	var fields []string
	for _, kv := range [][2]string{{"country", e.Fields.Country}, {"region", e.Fields.Region}, {"industry", e.Fields.Industry},
		{"company_size", e.Fields.CompanySize}, {"campaign", e.Fields.Campaign}} {
		if kv[1] != "" {
			fields = append(fields, kv[0]+"="+kv[1])
		}
	}
	if len(fields) == 0 {
		fields = []string{"(none)"}
	}
	fmt.Fprintf(w, "Fields:    %s\n", term(strings.Join(fields, " ")))
	rule := e.Match.Rule
	switch {
	case strings.HasPrefix(rule, "campaign team"):
		rule = "no territory rule matched; the campaign's team"
	case rule == "default team":
		rule = "no territory rule matched; the default team"
	default:
		rule = fmt.Sprintf("rule %q", rule)
	}
	fmt.Fprintf(w, "Territory: %s -> team %s\n", term(rule), term(e.Match.Team))
	fmt.Fprintf(w, "As of:     %s\n", e.Now.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(e.Choice.Eligible) == 0 {
		fmt.Fprintln(w, "Eligible:  nobody; the SLA policy's nobody-eligible rule applies")
	} else {
		fmt.Fprintln(w, "Eligible, in order (the first gets the lead next):")
		for i, r := range e.Choice.Eligible {
			capacity := fmt.Sprintf("%d open, no cap", r.Open)
			if r.Cap > 0 {
				capacity = fmt.Sprintf("%d/%d open", r.Open, r.Cap)
			}
			fmt.Fprintf(tw, "  %d.\t%s\tweight %d\tcredit %d\t%s\n", i+1, term(r.ID), r.Weight, r.Credit, capacity)
		}
		tw.Flush()
	}
	if len(e.Choice.Skipped) > 0 {
		fmt.Fprintln(w, "Skipped:")
		for _, s := range e.Choice.Skipped {
			d := ""
			if s.Detail != "" {
				d = " (" + s.Detail + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s%s\n", term(s.ID), term(s.Reason), term(d))
		}
		tw.Flush()
	}
	if len(e.History) > 0 {
		fmt.Fprintln(w, "Past assignments:")
		for _, h := range e.History {
			state := "holds capacity"
			if h.Released {
				state = "released"
			}
			why := "chosen by a manager"
			if h.Why != nil {
				why = fmt.Sprintf("rule %q, first of %s", h.Why.Rule, strings.Join(h.Why.Eligible, ", "))
				var sk []string
				for _, s := range h.Why.Skipped {
					sk = append(sk, s.ID+": "+s.Reason)
				}
				if len(sk) > 0 {
					why += "; skipped " + strings.Join(sk, ", ")
				}
			}
			fmt.Fprintf(tw, "  attempt %d\t%s\tteam %s\t%s\t%s\n", h.Attempt, term(h.RepID), term(h.TeamID), state, term(why))
		}
		tw.Flush()
	}
}

// explanationJSON is the --json form of an explanation.
type explanationJSON struct {
	Lead     string                `json:"lead,omitempty"`
	Fields   domain.LeadFields     `json:"fields"`
	Rule     string                `json:"rule"`
	Team     string                `json:"team"`
	AsOf     time.Time             `json:"as_of"`
	Next     string                `json:"next,omitempty"`
	Eligible []domain.Ranked       `json:"eligible"`
	Skipped  []domain.Skipped      `json:"skipped"`
	History  []store.AssignmentRow `json:"history,omitempty"`
}

func writeExplanationJSON(w io.Writer, e store.Explanation) error {
	v := explanationJSON{Lead: e.LeadID, Fields: e.Fields, Rule: e.Match.Rule, Team: e.Match.Team, AsOf: e.Now.UTC(),
		Next: e.Choice.Rep, Eligible: e.Choice.Eligible, Skipped: e.Choice.Skipped, History: e.History}
	for i := range v.History {
		v.History[i].At = v.History[i].At.UTC()
	}
	if v.Eligible == nil {
		v.Eligible = []domain.Ranked{}
	}
	if v.Skipped == nil {
		v.Skipped = []domain.Skipped{}
	}
	enc := newJSON(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
