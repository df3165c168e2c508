package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ledger states added for SendGrid (migration 006).
const (
	// LedgerRetry: the last call was definitely not accepted (429, 5xx,
	// connection refused), so the next attempt sends again.
	LedgerRetry LedgerStatus = "retry"
	// LedgerUncertain: sent, then resent once after the grace period, and
	// neither confirmed by an event. Never sent a third time.
	LedgerUncertain LedgerStatus = "uncertain"
)

// LedgerRow is what a send attempt needs to know of a message's ledger row.
type LedgerRow struct {
	Status      LedgerStatus
	AttemptedAt time.Time // when the last call was about to be made
	Attempts    int       // calls made (or about to be made) to the provider
	Unknown     int       // of those, since the last definite answer, calls whose outcome is unknown
	Confirmed   bool      // a provider event shows it was accepted
	Erased      bool      // the lead was erased since (Erase blanks the row's address)
}

// ClaimSend makes the calling attempt the one that sends m, or says why not.
// It creates the row as 'sending' (claimed), or turns a 'retry' row back
// into 'sending' (claimed); otherwise it returns the row as it is, for the
// caller to skip (sent), refuse (failed) or reconcile (sending). A message
// about an erased lead is never claimed: ErrLeadErased, and no row is
// written (as DeliverToOutbox, in the same order with the erasure).
func (s *Store) ClaimSend(ctx context.Context, m Message) (LedgerRow, bool, error) {
	var r LedgerRow
	var status string
	var at *time.Time
	claimed := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if erased, err := leadErased(ctx, tx, m); err != nil || erased {
			if erased {
				return ErrLeadErased
			}
			return err
		}
		err := tx.QueryRow(ctx, `
			insert into email_ledger (key, kind, to_email, subject, status, lead_id, attempted_at, attempts, unknown)
			values ($1, $2, $3, $4, 'sending', $5, now(), 1, 1)
			on conflict (key) do update set status = 'sending', attempted_at = now(), attempts = email_ledger.attempts + 1, unknown = 1
				where email_ledger.status = 'retry'
			returning status, attempted_at, attempts, unknown`,
			m.Key, m.Kind, m.To, m.Subject, m.LeadID).Scan(&status, &at, &r.Attempts, &r.Unknown)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a row that is not 'retry': read below
		}
		claimed = err == nil
		return err
	})
	switch {
	case errors.Is(err, ErrLeadErased):
		return r, false, err
	case err != nil:
		return r, false, fmt.Errorf("claim email %s: %w", m.Key, err)
	case claimed:
		r.Status, r.AttemptedAt = LedgerStatus(status), *at
		return r, true, nil
	}
	r, err = s.LedgerRow(ctx, m.Key)
	return r, false, err
}

// LedgerRow reads a message's row and whether an event confirmed it.
func (s *Store) LedgerRow(ctx context.Context, key string) (LedgerRow, error) {
	var r LedgerRow
	var status string
	var at *time.Time
	err := s.Pool.QueryRow(ctx, `
		select status, attempted_at, attempts, unknown,
			exists (select 1 from email_events e where e.ledger_key = l.key and e.event in (`+acceptedEvents+`)),
			to_email = 'erased'
		from email_ledger l where key = $1`, key).Scan(&status, &at, &r.Attempts, &r.Unknown, &r.Confirmed, &r.Erased)
	if err != nil {
		return r, fmt.Errorf("ledger row %s: %w", key, err)
	}
	r.Status = LedgerStatus(status)
	if at != nil {
		r.AttemptedAt = *at
	}
	return r, nil
}

// acceptedEvent are the Event Webhook events that prove SendGrid accepted a
// message (each comes after "processed"); acceptedEvents is the SQL list.
var acceptedEvent = map[string]bool{"processed": true, "delivered": true, "deferred": true, "bounce": true,
	"dropped": true, "open": true, "click": true, "spamreport": true, "unsubscribe": true}

var acceptedEvents = func() string {
	names := make([]string, 0, len(acceptedEvent))
	for n := range acceptedEvent {
		names = append(names, "'"+n+"'")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}()

// ClaimResend lets exactly one attempt resend a message still 'sending'
// after grace with no event confirming it, and only once (unknown < 2);
// never one about a lead erased since (the erasure blanks the row's address,
// and this update waits for the erasure's).
func (s *Store) ClaimResend(ctx context.Context, key string, grace time.Duration) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `
		update email_ledger l set attempted_at = now(), attempts = attempts + 1, unknown = unknown + 1
		where key = $1 and status = 'sending' and unknown < 2 and attempted_at < now() - $2::interval and to_email <> 'erased'
			and not exists (select 1 from email_events e where e.ledger_key = l.key and e.event in (`+acceptedEvents+`))`,
		key, fmt.Sprintf("%d microseconds", grace.Microseconds()))
	if err != nil {
		return false, fmt.Errorf("claim resend of %s: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// MarkRetry records a call SendGrid definitely did not accept (429, 5xx,
// nothing listening): the next attempt sends again at once.
func (s *Store) MarkRetry(ctx context.Context, key, errText string) error {
	_, err := s.Pool.Exec(ctx, `update email_ledger set status = 'retry', unknown = 0, error = $2
		where key = $1 and status = 'sending'`, key, errText)
	if err != nil {
		return fmt.Errorf("mark %s for retry: %w", key, err)
	}
	return nil
}

// MarkUncertain records that a resent message was not confirmed either.
func (s *Store) MarkUncertain(ctx context.Context, key string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `update email_ledger set status = 'uncertain',
		error = 'no delivery event after the resend' where key = $1 and status = 'sending'`, key)
	if err != nil {
		return false, fmt.Errorf("mark %s uncertain: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// EmailEvent is one thing that happened to a message: a failed send of ours
// or an Event Webhook event from SendGrid.
type EmailEvent struct {
	LedgerKey   string
	LeadID      string
	Kind        string // message kind
	Event       string // processed, delivered, open, click, bounce, dropped, ..., or send-failed
	SGEventID   string // empty for our own rows
	SGMessageID string
	Email       string
	Status      string // HTTP status of a failed send, or SMTP status of a bounce
	Message     string // SendGrid's message or reason
	Data        map[string]string
	At          time.Time
}

// leadEventKinds maps the events a lead's history shows to their event kind.
var leadEventKinds = map[string]string{
	"delivered": "mail-delivered", "open": "mail-opened", "click": "mail-clicked",
	"bounce": "mail-bounced", "dropped": "mail-dropped", "send-failed": "mail-failed", "uncertain": "mail-uncertain",
}

// RecordEmailEvent stores ev once (by sg_event_id, or by dedupe for our own
// rows), confirms the ledger row when the event proves SendGrid accepted
// the message, and mirrors delivered, open, click, bounce, drop and failed
// sends into the lead's events. It reports whether ev was new.
func (s *Store) RecordEmailEvent(ctx context.Context, ev EmailEvent, dedupe string) (bool, error) {
	data, _ := json.Marshal(ev.Data)
	if ev.Data == nil {
		data = []byte("{}")
	}
	id := ev.SGEventID
	if id == "" && dedupe != "" {
		id = "baton:" + dedupe
	}
	var sgID *string
	if id != "" {
		sgID = &id
	}
	inserted := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `insert into email_events (ledger_key, lead_id, kind, event, sg_event_id, sg_message_id, email, status, message, data, occurred_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (sg_event_id) do nothing`,
			ev.LedgerKey, ev.LeadID, ev.Kind, ev.Event, sgID, ev.SGMessageID, ev.Email, ev.Status, ev.Message, data, ev.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		inserted = true
		if ev.LedgerKey != "" && acceptedEvent[ev.Event] {
			if _, err := tx.Exec(ctx, `update email_ledger set status = 'sent', sent_at = coalesce(sent_at, $2),
				provider_id = case when provider_id = '' then $3 else provider_id end
				where key = $1 and status in ('sending', 'retry', 'uncertain')`, ev.LedgerKey, ev.At, ev.SGMessageID); err != nil {
				return err
			}
		}
		kind, ok := leadEventKinds[ev.Event]
		if !ok || ev.LeadID == "" {
			return nil
		}
		ld := map[string]string{"message": ev.Kind, "key": ev.LedgerKey}
		if ev.Status != "" {
			ld["status"] = ev.Status
		}
		for k, v := range ev.Data {
			if k == "url" || k == "type" || k == "attempt" {
				ld[k] = v
			}
		}
		ldata, _ := json.Marshal(ld)
		_, err = tx.Exec(ctx, `
			insert into lead_events (lead_id, event_key, seq, kind, actor, reason, data, occurred_at)
			select $1, $2, (select coalesce(max(seq), 0) from lead_events where lead_id = $1), $3, 'sendgrid', $4, $5, $6
			where exists (select 1 from leads where id = $1)
			on conflict (event_key) do nothing`,
			ev.LeadID, ev.LeadID+":mail:"+id, kind, truncateUTF8(ev.Message, 500), ldata, ev.At)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record email event %s for %s: %w", ev.Event, ev.LedgerKey, err)
	}
	return inserted, nil
}

// EmailEvents lists a message's events, oldest first.
func (s *Store) EmailEvents(ctx context.Context, key string) ([]EmailEvent, error) {
	rows, _ := s.Pool.Query(ctx, `select ledger_key, lead_id, kind, event, coalesce(sg_event_id, ''), sg_message_id, email, status, message, data, occurred_at
		from email_events where ledger_key = $1 order by occurred_at, id`, key)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (EmailEvent, error) {
		var e EmailEvent
		err := r.Scan(&e.LedgerKey, &e.LeadID, &e.Kind, &e.Event, &e.SGEventID, &e.SGMessageID, &e.Email, &e.Status, &e.Message, &e.Data, &e.At)
		return e, err
	})
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// TimelineItem is one step of a lead's engagement, for the offer email.
type TimelineItem struct {
	Kind   string
	Source string
	Score  string
	At     time.Time
}

// Timeline lists the lead's touches (arrivals from a source, with their
// source and score), oldest first, at most the last limit of them.
func (s *Store) Timeline(ctx context.Context, leadID string, limit int) ([]TimelineItem, error) {
	rows, _ := s.Pool.Query(ctx, `select kind, coalesce(data->>'source', replace(actor, 'source:', '')), coalesce(data->>'score', ''), occurred_at
		from (select * from lead_events where lead_id = $1 and kind in ('captured', 'touch') order by occurred_at desc, seq desc, id desc limit $2) t
		order by occurred_at, seq, id`, leadID, limit)
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineItem, error) {
		var it TimelineItem
		err := r.Scan(&it.Kind, &it.Source, &it.Score, &it.At)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", leadID, err)
	}
	return items, nil
}
