package domain

import (
	"fmt"
	"strings"
	"time"
)

// DefaultBatchWindow is how long escalation emails to one person are
// collected into one (BATON_ESCALATION_BATCH_WINDOW).
const DefaultBatchWindow = 60 * time.Second

// MailWindow is a person's batching window for one kind of message: when the
// current window closes, and the batch collecting for it ("" when none).
type MailWindow struct {
	ClosesAt  time.Time
	OpenBatch string
}

// BatchStep is what one message does on arriving at a window.
type BatchStep struct {
	// SendNow: the leading edge. Nothing went to the person within the
	// window, so the message goes out at once, alone, and opens a window
	// closing at ClosesAt.
	SendNow bool
	// Join: the message joins the batch Batch (already open, or new with
	// NewBatch set), which goes out at Due as one email.
	Batch    string
	NewBatch bool
	Due      time.Time
	// ClosesAt is the window's end after this step.
	ClosesAt time.Time
}

// BatchKey is the email ledger key of a person's batch due at due: one key
// per (kind, recipient, window), so a retried send finds the same row.
func BatchKey(kind, recipient string, due time.Time) string {
	return fmt.Sprintf("batch:%s:%s:%d", kind, strings.ToLower(recipient), due.UTC().UnixMilli())
}

// NextBatchStep is the batching rule, pure. The first message to a person
// goes out at once (the leading edge) and opens a window; every further
// message before the window closes joins one batch, sent when the window
// closes; sending that batch opens the next window (BatchSent). A window
// closing with nothing queued lets the next message lead again. So a person
// gets at most one message per window after the first, and the first is
// never late. A window of zero or less turns batching off.
func NextBatchStep(w MailWindow, now time.Time, window time.Duration, kind, recipient string) BatchStep {
	switch {
	case window <= 0:
		return BatchStep{SendNow: true, ClosesAt: w.ClosesAt}
	case w.OpenBatch != "":
		// The batch is still collecting (or due and not yet claimed by the
		// dispatcher): join it; it has not gone out.
		return BatchStep{Batch: w.OpenBatch, ClosesAt: w.ClosesAt}
	case now.Before(w.ClosesAt):
		return BatchStep{Batch: BatchKey(kind, recipient, w.ClosesAt), NewBatch: true, Due: w.ClosesAt, ClosesAt: w.ClosesAt}
	}
	return BatchStep{SendNow: true, ClosesAt: now.Add(window)}
}

// BatchSent is the window after a batch went out at now: it closes one
// window later, so what arrives meanwhile waits for the next batch.
func BatchSent(now time.Time, window time.Duration) MailWindow {
	return MailWindow{ClosesAt: now.Add(window)}
}
