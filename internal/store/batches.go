package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Part is one lead's section of a batch email: the text and HTML of the
// single message without its greeting, and its own action links.
type Part struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// BatchItem is one message queued into a batch.
type BatchItem struct {
	Key, LeadID, Subject string
	Part                 Part
	Links                []Link
}

// Batch is a batch claimed for sending, with its items in arrival order.
type Batch struct {
	Key, Recipient, Kind, ToName, From string
	Due                                time.Time
	Attempts                           int
	Items                              []BatchItem
}

// QueueOrSend passes m, a message that batches (an escalation email),
// through its recipient's window (domain.NextBatchStep) in one
// transaction. It reports true when m must be sent now, alone (the leading
// edge); false when m is queued into a batch the dispatcher sends when the
// window closes. A retry with the same key gets the first answer again, so a
// message is never both sent alone and batched, nor batched twice.
func (s *Store) QueueOrSend(ctx context.Context, m Message, part Part, window time.Duration, now time.Time) (bool, error) {
	if window <= 0 {
		return true, nil
	}
	recipient := strings.ToLower(m.To)
	links, _ := json.Marshal(m.Links)
	if m.Links == nil {
		links = []byte("[]")
	}
	sendNow := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Nothing about an erased lead is queued (a notice retried after
		// the erasure, as DeliverToOutbox guards a single message). FOR
		// SHARE orders this with the erasure's update.
		if m.LeadID != "" {
			var email string
			switch err := tx.QueryRow(ctx, `select email from leads where id = $1 for share`, m.LeadID).Scan(&email); {
			case err == nil && email == domain.ErasedEmail(m.LeadID):
				return nil
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		// The window row first (every writer locks it before a batch row).
		if _, err := tx.Exec(ctx, `insert into mail_windows (recipient, kind, closes_at) values ($1, $2, 'epoch')
			on conflict do nothing`, recipient, m.Kind); err != nil {
			return err
		}
		var w domain.MailWindow
		var open *string
		if err := tx.QueryRow(ctx, `select closes_at, open_batch from mail_windows where recipient = $1 and kind = $2 for update`,
			recipient, m.Kind).Scan(&w.ClosesAt, &open); err != nil {
			return err
		}
		if open != nil {
			w.OpenBatch = *open
		}
		var prior *string
		switch err := tx.QueryRow(ctx, `select batch_key from mail_batch_items where key = $1`, m.Key).Scan(&prior); {
		case err == nil: // a retry: the first decision stands
			sendNow = prior == nil
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		step := domain.NextBatchStep(w, now, window, m.Kind, recipient)
		var batch *string
		if step.SendNow {
			sendNow = true
			if _, err := tx.Exec(ctx, `update mail_windows set closes_at = $3 where recipient = $1 and kind = $2`,
				recipient, m.Kind, step.ClosesAt); err != nil {
				return err
			}
		} else {
			batch = &step.Batch
			if step.NewBatch {
				if _, err := tx.Exec(ctx, `insert into mail_batches (key, recipient, kind, to_name, from_email, due_at, next_at)
					values ($1, $2, $3, $4, $5, $6, $6) on conflict (key) do nothing`,
					step.Batch, recipient, m.Kind, m.ToName, m.From, step.Due); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `update mail_windows set open_batch = $3 where recipient = $1 and kind = $2`,
					recipient, m.Kind, step.Batch); err != nil {
					return err
				}
			}
		}
		_, err := tx.Exec(ctx, `insert into mail_batch_items (key, batch_key, recipient, lead_id, subject, text_part, html_part, links)
			values ($1, $2, $3, $4, $5, $6, $7, $8)`, m.Key, batch, recipient, m.LeadID, m.Subject, part.Text, part.HTML, links)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("batch window of %s for %s: %w", m.Kind, m.Key, err)
	}
	return sendNow, nil
}

// ClaimDueBatch takes one batch that is due (or whose earlier claim's lease
// ran out) for sending: an open batch is closed (nothing joins it any more)
// and its recipient's next window starts now; the claim holds for lease. It
// returns nil when nothing is due. Several dispatchers may run: each batch
// is claimed by one at a time.
func (s *Store) ClaimDueBatch(ctx context.Context, now time.Time, window, lease time.Duration) (*Batch, error) {
	var b *Batch
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var key, recipient, kind string
		err := tx.QueryRow(ctx, `select key, recipient, kind from mail_batches
			where status in ('open', 'sending') and next_at <= $1 order by next_at limit 1`, now).Scan(&key, &recipient, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		// Lock order: the window, then the batch (as QueueOrSend).
		var open *string
		if err := tx.QueryRow(ctx, `select open_batch from mail_windows where recipient = $1 and kind = $2 for update`,
			recipient, kind).Scan(&open); err != nil {
			return err
		}
		x := Batch{Key: key}
		var status string
		err = tx.QueryRow(ctx, `select recipient, kind, to_name, from_email, due_at, status, attempts from mail_batches
			where key = $1 and status in ('open', 'sending') and next_at <= $2 for update skip locked`, key, now).
			Scan(&x.Recipient, &x.Kind, &x.ToName, &x.From, &x.Due, &status, &x.Attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // another dispatcher took it meanwhile
		} else if err != nil {
			return err
		}
		if open != nil && *open == key {
			next := domain.BatchSent(now, window)
			if _, err := tx.Exec(ctx, `update mail_windows set open_batch = null, closes_at = $3 where recipient = $1 and kind = $2`,
				recipient, kind, next.ClosesAt); err != nil {
				return err
			}
		}
		x.Attempts++
		if _, err := tx.Exec(ctx, `update mail_batches set status = 'sending', next_at = $2, attempts = $3 where key = $1`,
			key, now.Add(lease), x.Attempts); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `select key, lead_id, subject, text_part, html_part, links from mail_batch_items
			where batch_key = $1 and text_part <> '' order by created_at, key`, key)
		x.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchItem, error) {
			var it BatchItem
			err := r.Scan(&it.Key, &it.LeadID, &it.Subject, &it.Part.Text, &it.Part.HTML, &it.Links)
			return it, err
		})
		if err != nil {
			return err
		}
		b = &x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim a due mail batch: %w", err)
	}
	return b, nil
}

// MarkBatch records a batch's outcome: sent, failed or empty, or (status
// "sending") a retry at next.
func (s *Store) MarkBatch(ctx context.Context, key, status, errText string, next time.Time) error {
	_, err := s.Pool.Exec(ctx, `update mail_batches set status = $2, error = $3, next_at = $4,
		sent_at = case when $2 = 'sent' then now() else sent_at end where key = $1`, key, status, truncateUTF8(errText, 500), next)
	if err != nil {
		return fmt.Errorf("mark mail batch %s %s: %w", key, status, err)
	}
	return nil
}

// BatchFailed records on each lead of a batch that its escalation email was
// not delivered (kind mail-failed or mail-rejected), once per lead.
func (s *Store) BatchFailed(ctx context.Context, b *Batch, kind, why string, at time.Time) error {
	for _, it := range b.Items {
		if it.LeadID == "" {
			continue
		}
		data, _ := json.Marshal(map[string]string{"message": b.Kind, "to": b.Recipient, "batch": b.Key})
		if _, err := s.Pool.Exec(ctx, `
			insert into lead_events (lead_id, event_key, seq, kind, actor, reason, data, occurred_at)
			select $1, $2, (select coalesce(max(seq), 0) from lead_events where lead_id = $1), $3, 'system:mail', $4, $5, $6
			where exists (select 1 from leads where id = $1)
			on conflict (event_key) do nothing`,
			it.LeadID, kind+":"+it.Key, kind, truncateUTF8(why, 500), data, at); err != nil {
			return fmt.Errorf("record %s of %s: %w", kind, it.Key, err)
		}
	}
	return nil
}

// BatchedWith reports, for a message key, the batch it went out in ("" when
// it was sent alone or never went through a window).
func (s *Store) BatchedWith(ctx context.Context, key string) (string, error) {
	var b *string
	err := s.Pool.QueryRow(ctx, `select batch_key from mail_batch_items where key = $1`, key).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) || b == nil {
		return "", nil
	}
	return *b, err
}

// redactBatchItems removes an erased lead from the batches it was in: its
// section and links leave the outbox copy of a sent batch, and its queued
// parts are blanked, so a batch not sent yet goes out without it.
func redactBatchItems(ctx context.Context, tx pgx.Tx, where string, arg any) error {
	rows, _ := tx.Query(ctx, `select i.key, i.batch_key, i.text_part, i.html_part, i.links from mail_batch_items i
		join leads l on l.id = i.lead_id where `+where+` and l.email = l.id || '@erased.invalid' and i.text_part <> ''`, arg)
	type item struct {
		key, batch, text, html string
		links                  []byte
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
		var it item
		var b *string
		err := r.Scan(&it.key, &b, &it.text, &it.html, &it.links)
		if b != nil {
			it.batch = *b
		}
		return it, err
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.batch != "" {
			if _, err := tx.Exec(ctx, `update outbox set text_body = replace(text_body, $2, '[erased lead]'),
				html_body = replace(html_body, $3, '<p>[erased lead]</p>'),
				links = coalesce((select jsonb_agg(x) from jsonb_array_elements(links) x where not $4::jsonb @> jsonb_build_array(x)), '[]')
				where ledger_key = $1`, it.batch, it.text, it.html, it.links); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `update mail_batch_items set subject = '', text_part = '', html_part = '', links = '[]' where key = $1`, it.key); err != nil {
			return err
		}
	}
	return nil
}

// RedactErasedInBatch applies redactBatchItems to one sent batch: a lead
// erased while its batch was going out leaves it too.
func (s *Store) RedactErasedInBatch(ctx context.Context, batchKey string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return redactBatchItems(ctx, tx, "i.batch_key = $1", batchKey) })
}
