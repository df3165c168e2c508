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

// Link is an action link in a message.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Message is one email, as the ledger and the outbox keep it.
type Message struct {
	Key     string    `json:"key"`
	Kind    string    `json:"kind"`
	To      string    `json:"to"`
	ToName  string    `json:"to_name"`
	From    string    `json:"from"`
	ReplyTo string    `json:"reply_to,omitempty"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"-"`
	Links   []Link    `json:"links"`
	SentAt  time.Time `json:"sent_at"`
	// Correlation, carried to SendGrid as custom_args and back in its
	// Event Webhook events. All optional.
	LeadID     string `json:"lead_id,omitempty"`
	WorkflowID string `json:"workflow_id,omitempty"`
	Step       string `json:"step,omitempty"` // phase and sequence, e.g. "accept:2:0"
	Attempt    int    `json:"attempt,omitempty"`
	// Part is the message's section of a batch email, for the kinds that
	// batch (escalation); nil otherwise. Never stored with the message.
	Part *Part `json:"-"`
}

// LedgerStatus is the state of a message's ledger row.
type LedgerStatus string

const (
	LedgerNew     LedgerStatus = ""        // no row yet: claim it and send
	LedgerSending LedgerStatus = "sending" // claimed, outcome unknown
	LedgerSent    LedgerStatus = "sent"
	LedgerFailed  LedgerStatus = "failed"
)

// ClaimEmail inserts a 'sending' ledger row for key. It returns the status the
// row already had when it existed (so the caller can skip a message that was
// sent), or LedgerNew when this call created it.
func (s *Store) ClaimEmail(ctx context.Context, m Message) (LedgerStatus, error) {
	var status *string
	err := s.Pool.QueryRow(ctx, `
		with ins as (
			insert into email_ledger (key, kind, to_email, subject, status) values ($1, $2, $3, $4, 'sending')
			on conflict (key) do nothing returning 1)
		select case when exists (select 1 from ins) then '' else (select status from email_ledger where key = $1) end`,
		m.Key, m.Kind, m.To, m.Subject).Scan(&status)
	if err == nil && status == nil {
		// The conflicting row was committed by a concurrent claim after this
		// statement's snapshot was taken, so the subquery could not see it;
		// a new statement can.
		err = s.Pool.QueryRow(ctx, `select status from email_ledger where key = $1`, m.Key).Scan(&status)
	}
	if err != nil {
		return "", fmt.Errorf("claim email %s: %w", m.Key, err)
	}
	return LedgerStatus(*status), nil
}

// MarkEmail records the outcome of a send.
func (s *Store) MarkEmail(ctx context.Context, key string, status LedgerStatus, providerID, errText string) error {
	_, err := s.Pool.Exec(ctx, `update email_ledger set status = $2, provider_id = $3, error = $4,
		sent_at = case when $2 = 'sent' then now() else sent_at end where key = $1`, key, string(status), providerID, errText)
	return err
}

// DeliverToOutbox writes a message to the local outbox and marks its ledger row
// sent in one transaction: exactly once, whatever retries.
func (s *Store) DeliverToOutbox(ctx context.Context, m Message) (bool, error) {
	links, _ := json.Marshal(m.Links)
	if m.Links == nil {
		links = []byte("[]")
	}
	delivered := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Nothing about an erased lead is written any more: a send that was
		// in flight when the erasure ran (an activity retried after a worker
		// died; found by the fault suite) would bring back what the erasure
		// removed. FOR SHARE orders this with the erasure's update.
		if erased, err := leadErased(ctx, tx, m); err != nil || erased {
			return err
		}
		tag, err := tx.Exec(ctx, `insert into email_ledger (key, kind, to_email, subject, status, provider_id, sent_at, lead_id, attempts)
			values ($1, $2, $3, $4, 'sent', 'outbox', now(), $5, 1) on conflict (key) do nothing`, m.Key, m.Kind, m.To, m.Subject, m.LeadID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // already delivered
		}
		delivered = true
		_, err = tx.Exec(ctx, `insert into outbox (ledger_key, to_email, to_name, from_email, reply_to, subject, text_body, html_body, links)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, m.Key, m.To, m.ToName, m.From, m.ReplyTo, m.Subject, m.Text, m.HTML, links)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("deliver %s to outbox: %w", m.Key, err)
	}
	return delivered, nil
}

// ErrLeadErased: the message is about a lead whose personal data was erased,
// so it is not sent (nor written anywhere).
var ErrLeadErased = errors.New("the lead was erased; the message is not sent")

// leadErased reports whether m is about an erased lead (its id from
// m.LeadID, else the key's first part; a campaign message has none). FOR
// SHARE orders the caller's transaction with the erasure's update of the
// lead: either the erasure waits for this message's row (and removes or
// blanks it), or this transaction sees the lead erased.
func leadErased(ctx context.Context, tx pgx.Tx, m Message) (bool, error) {
	id := m.LeadID
	if id == "" {
		id, _, _ = strings.Cut(m.Key, ":")
	}
	var email string
	switch err := tx.QueryRow(ctx, `select email from leads where id = $1 for share`, id).Scan(&email); {
	case err == nil:
		return email == domain.ErasedEmail(id), nil
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	default:
		return false, err
	}
}

// Outbox lists outbox messages, newest first, optionally for one recipient.
func (s *Store) Outbox(ctx context.Context, to string, limit int) ([]Message, error) {
	rows, _ := s.Pool.Query(ctx, `
		select e.key, e.kind, o.to_email, o.to_name, o.from_email, o.reply_to, o.subject, o.text_body, o.html_body, o.links, o.sent_at
		from outbox o join email_ledger e on e.key = o.ledger_key
		where $1 = '' or o.to_email = lower($1) order by o.id desc limit $2`, to, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.Key, &m.Kind, &m.To, &m.ToName, &m.From, &m.ReplyTo, &m.Subject, &m.Text, &m.HTML, &m.Links, &m.SentAt)
		return m, err
	})
}
