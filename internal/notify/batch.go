package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"go.temporal.io/sdk/temporal"
)

// Batching collects escalation emails to one person within a window into
// one email (docs/email.md, Batching). The first goes out at once; the
// rest wait in PostgreSQL (a transactional outbox, like the webhooks') and
// RunBatches sends them as one email when the window closes.
type Batching struct {
	Store  *store.Store
	Window time.Duration // zero or less: no batching
	From   string        // the batch email's sender
	// Lease is how long a claimed batch is left to its dispatcher before
	// another may take it (default 2 min); Poll how often an idle
	// dispatcher looks for due batches (default 1 s); GiveUp how long after
	// its due instant a batch is retried before it is marked failed (default
	// 2 h, as a single message's retries).
	Lease, Poll, GiveUp time.Duration
	Log                 *slog.Logger
	Now                 func() time.Time
}

// Batching defaults.
const (
	DefaultBatchLease  = 2 * time.Minute
	DefaultBatchPoll   = time.Second
	DefaultBatchGiveUp = 2 * time.Hour
)

func (b *Batching) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Batching) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.Default()
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// batched passes a message through its recipient's window: it reports true
// when the message was queued (nothing to send now).
func (n *Notifier) batched(ctx context.Context, m store.Message) (bool, error) {
	b := n.batch
	if b == nil || b.Window <= 0 || m.Part == nil || !mail.Batches(m.Kind) {
		return false, nil
	}
	sendNow, err := b.Store.QueueOrSend(ctx, m, *m.Part, b.Window, b.now())
	return !sendNow, err
}

// RunBatches sends due batches until ctx ends. Run one per worker; several
// workers share the work (each batch is claimed by one at a time). A
// dispatcher killed mid-send leaves its claim to run out; the next one sends
// the batch again under the same ledger key, which the mailer never sends
// twice.
func (n *Notifier) RunBatches(ctx context.Context) {
	b := n.batch
	if b == nil || b.Window <= 0 {
		return
	}
	t := time.NewTicker(orDur(b.Poll, DefaultBatchPoll))
	defer t.Stop()
	for {
		for {
			did, err := n.SendDueBatch(ctx)
			if err != nil && ctx.Err() == nil {
				b.log().Error("mail batch", "error", err)
			}
			if !did || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendDueBatch claims one due batch and sends it; it reports whether there
// was one.
func (n *Notifier) SendDueBatch(ctx context.Context) (bool, error) {
	b := n.batch
	now := b.now()
	bt, err := b.Store.ClaimDueBatch(ctx, now, b.Window, orDur(b.Lease, DefaultBatchLease))
	if err != nil || bt == nil {
		return false, err
	}
	if len(bt.Items) == 0 { // every lead in it was erased
		return true, b.Store.MarkBatch(ctx, bt.Key, "empty", "", now)
	}
	m, err := mail.ComposeBatch(*bt, b.From)
	if err != nil {
		return true, errors.Join(err, b.Store.MarkBatch(ctx, bt.Key, "failed", "compose: "+err.Error(), now))
	}
	err = n.deliverEmail(ctx, m)
	if err == nil {
		if rerr := b.Store.RedactErasedInBatch(ctx, bt.Key); rerr != nil {
			return true, rerr
		}
		return true, b.Store.MarkBatch(ctx, bt.Key, "sent", "", now)
	}
	if ctx.Err() != nil {
		return true, nil // stopping: the claim runs out and another dispatcher goes on
	}
	switch {
	case mail.IsRejected(err):
		return true, errors.Join(b.Store.BatchFailed(ctx, bt, "mail-rejected", err.Error(), now),
			b.Store.MarkBatch(ctx, bt.Key, "failed", err.Error(), now))
	case now.Sub(bt.Due) > orDur(b.GiveUp, DefaultBatchGiveUp):
		why := "not delivered within " + orDur(b.GiveUp, DefaultBatchGiveUp).String() + ": " + err.Error()
		return true, errors.Join(b.Store.BatchFailed(ctx, bt, "mail-failed", why, now),
			b.Store.MarkBatch(ctx, bt.Key, "failed", why, now))
	}
	return true, b.Store.MarkBatch(ctx, bt.Key, "sending", err.Error(), now.Add(retryDelay(err, bt.Attempts)))
}

// retryDelay is the mailer's own hint (a rate limit's reset, an unknown
// outcome's grace), else 5 s doubling per attempt up to 5 min.
func retryDelay(err error, attempts int) time.Duration {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.NextRetryDelay() > 0 {
		return ae.NextRetryDelay()
	}
	d := 5 * time.Second
	for i := 1; i < attempts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}
