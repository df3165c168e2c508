// Package notify is the one way a worker tells people things. Every message
// (lead kinds and campaign kinds alike) goes through the worker's single
// Notifier, which fans it out to the person's channels: email always, Slack
// where the person has a Slack identity and has not turned it off. Each
// channel has one rate limit per worker, shared by every kind, and its own
// never-twice ledger keyed by (message, channel).
package notify

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"golang.org/x/time/rate"
)

// Channel names a way of reaching a person.
type Channel string

// The channels.
const (
	Email Channel = "email"
	Slack Channel = "slack"
)

// LedgerKey is the never-twice key of a message on a channel. Email keeps
// the message's own key (the email ledger predates the notifier, and a
// message in flight during an upgrade must still find its row).
func LedgerKey(messageKey string, ch Channel) string {
	if ch == Email {
		return messageKey
	}
	return messageKey + "@" + string(ch)
}

// Notifier delivers every message of one worker. Build one per worker with
// New and hand the same value to every activity struct: the rate limits live
// in it, so two notifiers would double the cap.
type Notifier struct {
	email  mail.Mailer
	limits map[Channel]*rate.Limiter
	slack  *SlackChannel // nil: Slack is not set up
	batch  *Batching     // nil: every email goes out alone
}

// Options configure a Notifier.
type Options struct {
	// EmailRate caps email sends per second across the worker (a burst of
	// one second's worth); zero or less means no cap.
	EmailRate float64
	// SlackRate caps Slack messages per second across the worker.
	SlackRate float64
	// Slack, when set, carries the kinds a person takes in Slack.
	Slack *SlackChannel
	// Batch, when set, batches escalation emails per recipient (RunBatches
	// sends the batches).
	Batch *Batching
}

// New builds the worker's notifier over its email channel.
func New(email mail.Mailer, o Options) *Notifier {
	n := &Notifier{email: email, limits: map[Channel]*rate.Limiter{}, slack: o.Slack, batch: o.Batch}
	if l := mail.NewLimiter(o.EmailRate); l != nil {
		n.limits[Email] = l
	}
	if l := mail.NewLimiter(o.SlackRate); l != nil {
		n.limits[Slack] = l
	}
	return n
}

// wait takes one token of the channel's limiter.
func (n *Notifier) wait(ctx context.Context, ch Channel) error {
	l := n.limits[ch]
	if l == nil {
		return nil
	}
	if err := l.Wait(ctx); err != nil {
		return fmt.Errorf("notify: wait for the %s rate cap: %w", ch, err)
	}
	return nil
}

// Deliver sends m to its recipient: in Slack when the person takes this
// kind there, else by email; a Slack failure (outage, revoked token) sends
// it by email at once and records why. An escalation email goes through the
// recipient's batching window: sent now when it leads, else queued for the
// window's batch. Slack messages are never batched: each lead is its own DM
// with its own buttons. It satisfies mail.Mailer, so the activities need not
// know which channels exist.
func (n *Notifier) Deliver(ctx context.Context, m store.Message) error {
	if n.slack != nil {
		sent, err := n.slack.deliver(ctx, m, func() error { return n.wait(ctx, Slack) })
		if err != nil {
			return err
		}
		if sent {
			return nil
		}
	}
	if queued, err := n.batched(ctx, m); err != nil || queued {
		return err
	}
	return n.deliverEmail(ctx, m)
}

func (n *Notifier) deliverEmail(ctx context.Context, m store.Message) error {
	if err := n.wait(ctx, Email); err != nil {
		return err
	}
	return n.email.Deliver(ctx, m)
}
