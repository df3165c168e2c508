package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/spf13/cobra"
)

// directoryImportCmd imports the directory from YAML or CSV.
func directoryImportCmd(a *app) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "import <team.yaml|team.csv>",
		Short: "Create or update teams, reps, managers, leaders and territories from YAML or CSV",
		Long: "Upserts every team and person in the file in one transaction; a file with any error\n" +
			"changes nothing, and every error names the file, line and field. Running it twice\n" +
			"changes nothing the second time. The format follows the extension (.csv, else YAML;\n" +
			"`starter directory export` writes both).\n\n" +
			"Reps may have weight (share of the rotation, default 1), cap (open leads at most,\n" +
			"0 = no cap), working_hours (by weekday in their time_zone; none = always on shift),\n" +
			"active, and away periods. A `territories:` section (ordered rules on country,\n" +
			"region, industry, company_size, campaign, and a default_team) replaces the stored\n" +
			"rules; without one they stay as they are.\n\n" +
			"A rep marked `active: false`, or no longer listed in their team, is deactivated: they\n" +
			"get no new leads, and leads offered to them but not yet accepted go back to routing.\n" +
			"Teams the file leaves out are not touched, so a file may carry some teams only.\n" +
			"--dry-run prints what would change for every person and writes nothing.",
		Example: "  starter directory import examples/team.yaml\n" +
			"  starter directory import --dry-run team.csv",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := readFile(path)
			if err != nil {
				return err
			}
			d, err := domain.ParseDirectoryFile(path, data)
			if err != nil {
				return fileErr(path, err)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			res, changes, err := a.st.ImportDirectoryChanges(cmd.Context(), d, dry)
			if err != nil {
				return fileErr(path, err)
			}
			reps := 0
			for _, t := range d.Teams {
				reps += len(t.Reps)
			}
			fmt.Fprintf(a.out, "%s: %s %d teams, %d reps: %s\n", term(path), importVerb(dry), len(d.Teams), reps, term(fmt.Sprint(res)))
			writeChanges(a.out, changes)
			var inactive []string
			for _, c := range changes {
				if c.Kind == "person" && c.Role == "rep" && c.What == "deactivated" {
					inactive = append(inactive, c.ID)
				}
			}
			for _, t := range d.Teams { // also those deactivated before, should a release have failed
				for _, r := range t.Reps {
					if !r.IsActive() && !contains(inactive, r.ID) {
						inactive = append(inactive, r.ID)
					}
				}
			}
			if dry || len(inactive) == 0 {
				return nil
			}
			if offers, err := a.st.OpenOffersOf(cmd.Context(), inactive); err != nil {
				return fmt.Errorf("list open offers: %w", err)
			} else if len(offers) == 0 {
				return nil // nothing to send back: no need for Temporal
			}
			// Deactivated reps keep no lead they have not accepted.
			cl, err := a.temporal()
			if err != nil {
				return err
			}
			defer cl.Close()
			rel, err := intake.ReleaseOffers(cmd.Context(), cl, a.st, inactive, "the rep was deactivated in the directory",
				func(done, total int) {
					fmt.Fprintf(a.out, "\rreleasing open offers of inactive reps: %d/%d", done, total)
				})
			fmt.Fprintf(a.out, "\n%d open offers sent back to routing\n", rel.Released)
			for _, sk := range rel.Skipped {
				fmt.Fprintln(a.out, "  not moved:", term(fmt.Sprint(sk)))
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "show what would change, person by person, without writing")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeChanges prints one line per entry: + added, ~ changed, - deactivated,
// = unchanged.
func writeChanges(w io.Writer, changes []store.Change) {
	marks := map[string]string{"added": "+", "changed": "~", "deactivated": "-", "unchanged": "="}
	for _, c := range changes {
		what := c.Kind + " " + c.ID
		if c.Role != "" {
			what += " (" + c.Role
			if c.Team != "" {
				what += ", " + c.Team
			}
			what += ")"
		}
		line := fmt.Sprintf("  %s %-11s %s", marks[c.What], c.What, what)
		if len(c.Fields) > 0 {
			line += ": " + strings.Join(c.Fields, ", ")
		}
		fmt.Fprintln(w, term(line))
	}
}

// directoryExportCmd writes the directory as YAML or CSV.
func directoryExportCmd(a *app) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "export [--format yaml|csv] [--output FILE]",
		Short: "Write the directory, with territories, as YAML or CSV",
		Long: "Writes every team, rep (inactive ones with active: false), manager, leader, current\n" +
			"and future out-of-office period and territory rule, in the form `directory import`\n" +
			"reads: importing the export changes nothing.",
		Example: "  starter directory export > team.yaml\n  starter directory export --format csv --output team.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			write := domain.WriteDirectoryYAML
			switch format {
			case "yaml", "yml":
			case "csv":
				write = domain.WriteDirectoryCSV
			default:
				return fmt.Errorf("--format %q: use yaml or csv", format)
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			d, err := a.st.ExportDirectory(cmd.Context(), time.Now())
			if err != nil {
				return err
			}
			out := a.out
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			if err := write(out, d); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "yaml or csv")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default: standard output)")
	return cmd
}

// directoryAwayLinkCmd prints a signed link to the out-of-office page.
func directoryAwayLinkCmd(a *app) *cobra.Command {
	var as string
	var valid time.Duration
	cmd := &cobra.Command{
		Use:   "away-link <rep> [--as MANAGER] [--valid DURATION]",
		Short: "Print a signed link where a rep (or their manager) sets the rep's out-of-office",
		Long: "The page asks for the period (from, until, reason) and records it as `directory away`\n" +
			"does. Send the link to the rep; with --as, the link is the manager's, and the record\n" +
			"says the manager set it. Needs BATON_SIGNING_KEY and BATON_PUBLIC_URL as the gateway has.",
		Example: "  starter directory away-link ana\n  starter directory away-link ana --as max-manager --valid 24h",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			signer, err := token.NewSigner([]byte(a.cfg.SigningKey))
			if err != nil {
				return fmt.Errorf("BATON_SIGNING_KEY: %w", err)
			}
			rep, err := a.st.Person(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			actor := rep.ID
			if as != "" {
				m, err := a.st.Person(cmd.Context(), as)
				if err != nil {
					return err
				}
				actor = m.ID
			}
			if ok, err := a.st.MayActFor(cmd.Context(), actor, rep.ID); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%s may not set %s's out-of-office: only the rep (an active rep), their team's manager or the sales leader", actor, rep.ID)
			}
			tok := signer.Sign(token.Claims{Lead: rep.ID, Actor: actor, Action: "away", Expires: time.Now().Add(valid).Unix()})
			fmt.Fprintf(a.out, "%s/away/%s\n", strings.TrimRight(a.cfg.PublicURL, "/"), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "the manager the link is for (default: the rep)")
	cmd.Flags().DurationVar(&valid, "valid", 7*24*time.Hour, "how long the link works")
	return cmd
}
