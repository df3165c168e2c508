package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/webhook"
	"github.com/spf13/cobra"
)

// webhookCmd manages outbound webhook subscriptions (docs/webhooks.md).
func webhookCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Manage outbound webhooks: where Baton POSTs lead and campaign events",
		Long: "A subscription is a URL, the event types it wants and a signing secret. The worker POSTs each\n" +
			"event as JSON, signed the Standard Webhooks way:\n" +
			"  webhook-id: <event id, the same on every retry: dedupe on it>\n" +
			"  webhook-timestamp: <unix seconds>\n" +
			"  webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>  (key: the secret after whsec_, base64-decoded)\n" +
			"Any 2xx is delivered; anything else (or no answer within BATON_WEBHOOK_TIMEOUT) is retried\n" +
			"with exponential backoff (5s doubling, at most 1h apart) for BATON_WEBHOOK_RETRY_FOR (24h),\n" +
			"then marked failed (GET /ops/webhooks, metric baton_webhook_deliveries_total).\n" +
			"Event types: " + strings.Join(domain.HookTypes(), ", ") + "."}
	var events, secret string
	var asJSON bool
	add := &cobra.Command{
		Use:   "add <url> --events TYPE[,TYPE…] [--secret whsec_…]",
		Short: "Subscribe a URL to event types and print its signing secret once",
		Example: "  starter webhook add https://crm.example.com/baton --events lead.accepted,lead.converted,sla.breached\n" +
			"  starter webhook add https://hooks.example.com/all --events '*'",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if events == "" {
				return errors.New("--events: required: name event types separated by commas, or * for all")
			}
			sec := secret
			if sec == "" {
				sec = store.NewWebhookSecret()
			}
			if _, err := store.ValidateWebhook(args[0], strings.Split(events, ","), sec); err != nil {
				return err // before any connection: the error names the field
			}
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			h, err := a.st.AddWebhook(cmd.Context(), args[0], strings.Split(events, ","), sec)
			if err != nil {
				return err
			}
			if asJSON {
				return newJSON(a.out).Encode(map[string]any{"id": h.ID, "url": h.URL, "events": h.Events, "secret": sec})
			}
			fmt.Fprintf(a.out, "webhook %s added: %s gets %s\nsigning secret (keep it now, it is not shown again): %s\nTry: starter webhook test %s\n",
				h.ID, term(h.URL), strings.Join(h.Events, ", "), sec, h.ID)
			return nil
		},
	}
	add.Flags().StringVar(&events, "events", "", "event types, comma-separated, or * for all")
	add.Flags().StringVar(&secret, "secret", "", "signing secret (whsec_ and base64 of 24–64 bytes); default: a new random one")
	add.Flags().BoolVar(&asJSON, "json", false, "print as JSON")

	list := &cobra.Command{
		Use:   "list",
		Short: "List subscriptions and their deliveries by status (secrets are never shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			hs, err := a.st.Webhooks(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return newJSON(a.out).Encode(hs)
			}
			counts, err := a.st.WebhookCounts(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tURL\tEVENTS\tCREATED")
			for _, h := range hs {
				ev := strings.Join(h.Events, ",")
				if len(h.Events) == len(domain.HookTypes()) {
					ev = "* (all)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.ID, term(h.URL), ev, h.CreatedAt.UTC().Format("2006-01-02 15:04"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "deliveries: %d pending, %d delivered, %d failed\n", counts["pending"], counts["delivered"], counts["failed"])
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print as JSON")

	remove := &cobra.Command{
		Use:   "remove <id>",
		Short: "Delete a subscription; its deliveries not yet made are dropped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if err := a.st.RemoveWebhook(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return fmt.Errorf("webhook %s: no such subscription (see `starter webhook list`)", term(args[0]))
				}
				return err
			}
			fmt.Fprintf(a.out, "webhook %s removed\n", term(args[0]))
			return nil
		},
	}
	test := &cobra.Command{
		Use:   "test <id>",
		Short: "Send a signed webhook.test event to a subscription now and show the answer",
		Long: "test queues a webhook.test event for the subscription and delivers it at once, signed like\n" +
			"every event. It exits non-zero when the receiver does not answer 2xx; the delivery then stays\n" +
			"queued and the worker retries it like any other.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			id, err := a.st.EnqueueWebhookTest(cmd.Context(), args[0], time.Now())
			if errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("webhook %s: no such subscription (see `starter webhook list`)", term(args[0]))
			}
			if err != nil {
				return err
			}
			d := &webhook.Dispatcher{Store: a.st, Timeout: a.cfg.WebhookTimeout, RetryFor: a.cfg.WebhookRetryFor}
			outs, err := d.SendNow(cmd.Context(), id)
			if err != nil {
				return err
			}
			for _, o := range outs {
				if !o.Delivered {
					return fmt.Errorf("event %s not delivered: %s (the worker retries it)", id, o.Error)
				}
				fmt.Fprintf(a.out, "event %s delivered: the receiver answered %d\n", id, o.Status)
			}
			return nil
		},
	}
	cmd.AddCommand(add, list, remove, test)
	return cmd
}
