// Package mail delivers Baton's messages: to SendGrid when a key is set, else
// to the local outbox table. Both go through the email ledger, so a retried
// activity never sends a message twice.
package mail

import (
	"context"
	"errors"
	"slices"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/store"
	"go.temporal.io/sdk/temporal"
)

// Mailer delivers one message at most once per Message.Key.
type Mailer interface {
	Deliver(ctx context.Context, m store.Message) error
}

// Outbox keeps mail in PostgreSQL for the /outbox page and API.
type Outbox struct{ Store *store.Store }

// Deliver writes the message and its ledger row in one transaction.
func (o Outbox) Deliver(ctx context.Context, m store.Message) error {
	_, err := o.Store.DeliverToOutbox(ctx, m)
	return err
}

// maxCategories is SendGrid's limit of categories per message.
const maxCategories = 10

// categories drops empty and repeated names and keeps the first ten:
// SendGrid rejects a send whose categories repeat or number more than ten.
func categories(names []string) []string {
	out := make([]string, 0, len(names))
	for _, c := range names {
		if c != "" && !slices.Contains(out, c) && len(out) < maxCategories {
			out = append(out, c)
		}
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// truncate keeps at most n bytes of s, cut at a character boundary: the
// ledger's text column refuses invalid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// IsRejected reports whether err is a send that retrying cannot fix.
func IsRejected(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == ErrRejected
}
