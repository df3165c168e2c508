package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/batonhq/baton/internal/store"
	"github.com/spf13/cobra"
)

// sourceCmd manages the sources allowed to post leads to the gateway.
func sourceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "source", Short: "Manage intake sources: who may post leads, with which key, how fast",
		Long: "A source (a web form, a marketing automation tool) authenticates POST /api/v1/leads and\n" +
			"/api/v1/leads/{id}/events with `Authorization: Bearer <api key>`, or signs each request:\n" +
			"  X-Baton-Source: <name>\n  X-Baton-Timestamp: <unix seconds>\n" +
			"  X-Baton-Signature: sha256=<hex HMAC-SHA256(hmac secret, timestamp \\n METHOD \\n path?query \\n body)>\n" +
			"(the four parts joined by newlines; the path and query exactly as in the request line)\n" +
			"A signed request older than BATON_INTAKE_REPLAY_WINDOW, or seen before, is refused.\n" +
			"Only the key's SHA-256 is stored: the key is printed once, by add and rotate."}
	var rate float64
	var burst int
	var asJSON, ifMissing bool
	printCreds := func(c store.SourceCredentials, verb string) error {
		if asJSON {
			return newJSON(a.out).Encode(c)
		}
		fmt.Fprintf(a.out, "source %s %s. Keep these now: they are not shown again.\n  api key:     %s\n  hmac secret: %s\n"+
			"Try: curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"campaign\":\"…\",\"email\":\"…\"}' %s/api/v1/leads\n",
			term(c.Source), verb, c.APIKey, c.HMACSecret, c.APIKey, a.cfg.PublicURL)
		return nil
	}
	add := &cobra.Command{
		Use:     "add <name> [--rate R] [--burst B]",
		Short:   "Create a source and print its API key and HMAC secret once",
		Example: "  starter source add webform --rate 20 --burst 40",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			c, err := a.st.AddSource(cmd.Context(), args[0], rate, burst)
			if errors.Is(err, store.ErrSourceExists) && ifMissing {
				fmt.Fprintf(cmd.ErrOrStderr(), "source %s exists; nothing changed (use `starter source rotate %s` for a new key)\n", args[0], args[0])
				return nil
			}
			if err != nil {
				return fileErr("source", err)
			}
			return printCreds(c, "added")
		},
	}
	add.Flags().Float64Var(&rate, "rate", store.DefaultSourceRate, "requests per second the source may send (token bucket refill)")
	add.Flags().IntVar(&burst, "burst", store.DefaultSourceBurst, "requests the source may send at once")
	add.Flags().BoolVar(&asJSON, "json", false, "print the credentials as JSON")
	add.Flags().BoolVar(&ifMissing, "if-missing", false, "do nothing (and succeed) when the source exists")

	rotate := &cobra.Command{
		Use:   "rotate <name>",
		Short: "Replace a source's API key and HMAC secret; the old ones stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			c, err := a.st.RotateSource(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printCreds(c, "rotated")
		},
	}
	rotate.Flags().BoolVar(&asJSON, "json", false, "print the credentials as JSON")

	var lrate float64
	var lburst int
	limit := &cobra.Command{
		Use:   "limit <name> --rate R --burst B",
		Short: "Change a source's rate limit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := a.st.SetSourceLimit(cmd.Context(), args[0], lrate, lburst); err != nil {
				return fileErr("source", err)
			}
			fmt.Fprintf(a.out, "source %s: %g requests per second, bursts of %d (gateways pick it up on the next request)\n", term(args[0]), lrate, lburst)
			return nil
		},
	}
	limit.Flags().Float64Var(&lrate, "rate", store.DefaultSourceRate, "requests per second")
	limit.Flags().IntVar(&lburst, "burst", store.DefaultSourceBurst, "requests at once")

	remove := &cobra.Command{
		Use:   "remove <name>",
		Short: "Delete a source; its key and secret stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := a.st.RemoveSource(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "source %s removed\n", term(args[0]))
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List sources and their rate limits (keys are never shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			srcs, err := a.st.Sources(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return newJSON(a.out).Encode(srcs)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRATE/S\tBURST\tCREATED\tKEY ROTATED")
			for _, s := range srcs {
				fmt.Fprintf(tw, "%s\t%g\t%d\t%s\t%s\n", term(s.Name), s.RatePerSecond, s.Burst, s.CreatedAt.UTC().Format("2006-01-02 15:04"), s.RotatedAt.UTC().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(add, list, rotate, limit, remove)
	return cmd
}
