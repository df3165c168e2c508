package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Record writes a lead's snapshot and one event in one transaction. The
// snapshot only replaces an older version; the event is written once per key.
// Both make a retried activity harmless. Nothing replaces the snapshot of a
// purged lead (Erase): its workflow has ended, so a later write comes from a
// task that was lost (a local activity of a workflow task that timed out).
func (s *Store) Record(ctx context.Context, l domain.LeadSnapshot, ev domain.Event) error {
	data, _ := json.Marshal(ev.Data)
	if ev.Data == nil {
		data = []byte("{}")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			insert into leads (id, email, name, company, country, score, campaign_id, state, owner_id, attempt,
				offered_at, accept_by, escalated_at, accepted_at, touches, workflow_id, version,
				policy, escalation_level, contact_by, contacted_at, closed_at, reason, phone)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
			on conflict (id) do update set name = excluded.name, company = excluded.company, country = excluded.country,
				score = excluded.score, state = excluded.state, owner_id = excluded.owner_id, attempt = excluded.attempt,
				offered_at = excluded.offered_at, accept_by = excluded.accept_by, escalated_at = excluded.escalated_at,
				accepted_at = excluded.accepted_at, touches = excluded.touches, version = excluded.version,
				policy = excluded.policy, escalation_level = excluded.escalation_level, contact_by = excluded.contact_by,
				contacted_at = excluded.contacted_at, closed_at = excluded.closed_at, reason = excluded.reason, phone = excluded.phone, updated_at = now()
			where leads.version < excluded.version and leads.email <> $25`,
			l.ID, l.Email, l.Name, l.Company, l.Country, l.Score, l.CampaignID, string(l.State), nullStr(l.Owner.ID), l.Attempt,
			nullTime(l.OfferedAt), nullTime(l.AcceptBy), nullTime(l.EscalatedAt), nullTime(l.AcceptedAt), l.Touches, l.WorkflowID, l.Version,
			l.Policy, l.EscalationLevel, nullTime(l.ContactBy), nullTime(l.ContactedAt), nullTime(l.ClosedAt), l.Reason, l.Phone,
			domain.ErasedEmail(l.ID))
		if err != nil {
			return fmt.Errorf("record lead %s: %w", l.ID, err)
		}
		if err := recordRouting(ctx, tx, l); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			insert into lead_events (lead_id, event_key, seq, kind, actor, reason, data, occurred_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (event_key) do nothing`,
			l.ID, ev.Key, ev.Seq, ev.Kind, ev.Actor, ev.Reason, data, ev.At)
		if err != nil {
			return fmt.Errorf("record event %s: %w", ev.Key, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // recorded before (a retried activity): its webhook is queued already
		}
		// The outbound webhook, in the same transaction: queued here, sent
		// by the worker's dispatcher, so no clock waits on a receiver.
		return leadHook(ctx, tx, l, ev)
	})
}

// LeadView is a lead as shown to people: the snapshot, names and history.
type LeadView struct {
	ID           string      `json:"id"`
	Email        string      `json:"email"`
	Name         string      `json:"name"`
	Company      string      `json:"company"`
	Phone        string      `json:"phone,omitempty"`
	Country      string      `json:"country"`
	Score        int         `json:"score"`
	Campaign     string      `json:"campaign"`
	CampaignName string      `json:"campaign_name"`
	State        string      `json:"state"`
	Owner        *OwnerView  `json:"owner"`
	Attempt      int         `json:"attempt"`
	OfferedAt    *time.Time  `json:"offered_at"`
	AcceptBy     *time.Time  `json:"accept_by"`
	EscalatedAt  *time.Time  `json:"escalated_at"`
	AcceptedAt   *time.Time  `json:"accepted_at"`
	Touches      int         `json:"touches"`
	Policy       string      `json:"policy"`
	Escalation   int         `json:"escalation_level"`
	ContactBy    *time.Time  `json:"contact_by"`
	ContactedAt  *time.Time  `json:"contacted_at"`
	ClosedAt     *time.Time  `json:"closed_at"`
	Reason       string      `json:"reason,omitempty"`
	WorkflowID   string      `json:"workflow_id"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	Events       []EventView `json:"events"`
	// Pending: Temporal holds the lead but its workflow has not recorded it
	// in PostgreSQL yet (intake answered at the durable start); the gateway
	// shows it as Captured, with what its first touch carried. Never set by
	// Lead.
	Pending bool `json:"pending,omitempty"`
}

// OwnerView names the rep holding a lead.
type OwnerView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// EventView is one row of lead_events.
type EventView struct {
	Kind   string            `json:"kind"`
	Actor  string            `json:"actor"`
	Reason string            `json:"reason,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
	At     time.Time         `json:"at"`
}

// Lead loads a lead with its events, oldest first.
func (s *Store) Lead(ctx context.Context, id string) (LeadView, error) {
	var v LeadView
	var ownerID, ownerName, ownerEmail *string
	err := s.Pool.QueryRow(ctx, `
		select l.id, l.email, l.name, l.company, l.phone, l.country, l.score, l.campaign_id, c.name, l.state,
			o.id, o.name, o.email, l.attempt, l.offered_at, l.accept_by, l.escalated_at, l.accepted_at,
			l.touches, l.policy, l.escalation_level, l.contact_by, l.contacted_at, l.closed_at, l.reason,
			l.workflow_id, l.created_at, l.updated_at
		from leads l join campaigns c on c.id = l.campaign_id left join people o on o.id = l.owner_id
		where l.id = $1`, id).Scan(&v.ID, &v.Email, &v.Name, &v.Company, &v.Phone, &v.Country, &v.Score, &v.Campaign, &v.CampaignName,
		&v.State, &ownerID, &ownerName, &ownerEmail, &v.Attempt, &v.OfferedAt, &v.AcceptBy, &v.EscalatedAt, &v.AcceptedAt,
		&v.Touches, &v.Policy, &v.Escalation, &v.ContactBy, &v.ContactedAt, &v.ClosedAt, &v.Reason,
		&v.WorkflowID, &v.CreatedAt, &v.UpdatedAt)
	if err != nil {
		return v, notFound(err, "lead "+id)
	}
	if ownerID != nil {
		v.Owner = &OwnerView{ID: *ownerID, Name: *ownerName, Email: *ownerEmail}
	}
	rows, _ := s.Pool.Query(ctx, `select kind, actor, reason, data, occurred_at from lead_events where lead_id = $1 order by occurred_at, seq, id`, id)
	v.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventView, error) {
		var e EventView
		err := r.Scan(&e.Kind, &e.Actor, &e.Reason, &e.Data, &e.At)
		return e, err
	})
	return v, err
}

// CampaignLive reports whether leads may be submitted to a campaign, with a
// reason when they may not.
func (s *Store) CampaignLive(ctx context.Context, id string) (bool, string, error) {
	var status string
	err := s.Pool.QueryRow(ctx, `select status from campaigns where id = $1`, id).Scan(&status)
	if err == pgx.ErrNoRows {
		return false, fmt.Sprintf("campaign %q does not exist", id), nil
	}
	if err != nil {
		return false, "", err
	}
	if status != "live" {
		return false, fmt.Sprintf("campaign %q is %s, not live", id, status), nil
	}
	return true, "", nil
}

// AppendEvent records an event on an existing lead without changing its
// snapshot (a touch that arrives after the lead's workflow ended). It returns
// the lead's current state.
func (s *Store) AppendEvent(ctx context.Context, leadID string, ev domain.Event) (string, error) {
	data, _ := json.Marshal(ev.Data)
	if ev.Data == nil {
		data = []byte("{}") // as Record writes it, not JSON null
	}
	var state string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `update leads set touches = touches + 1, updated_at = now() where id = $1 returning state`, leadID).Scan(&state); err != nil {
			return notFound(err, "lead "+leadID)
		}
		tag, err := tx.Exec(ctx, `
			insert into lead_events (lead_id, event_key, seq, kind, actor, reason, data, occurred_at)
			values ($1, $2, (select coalesce(max(seq), 0) + 1 from lead_events where lead_id = $1), $3, $4, $5, $6, $7)
			on conflict (event_key) do nothing`, leadID, ev.Key, ev.Kind, ev.Actor, ev.Reason, data, ev.At)
		if err == nil && tag.RowsAffected() == 0 {
			return errDuplicateEvent // a retried request: undo the touches bump
		}
		return err
	})
	if errors.Is(err, errDuplicateEvent) {
		err = s.Pool.QueryRow(ctx, `select state from leads where id = $1`, leadID).Scan(&state)
	}
	return state, err
}

var errDuplicateEvent = errors.New("duplicate event")

// Erase purges a lead's personal data: the lead row's contact fields, notes
// in its events, and its messages in the outbox and the ledger. Events stay,
// so the numbers both teams see do not change.
func (s *Store) Erase(ctx context.Context, leadID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The state too: the workflow's own "erased" snapshot can lose to a
		// write of a lost workflow task under the same version, and this purge
		// runs only once the erasure is in the workflow's history.
		tag, err := tx.Exec(ctx, `update leads set email = $2, name = '', company = '', country = '', reason = '', region = '', industry = '', company_size = '', phone = '',
			state = 'Erased', updated_at = now()
			where id = $1`, leadID, domain.ErasedEmail(leadID))
		if err != nil {
			return fmt.Errorf("erase lead %s: %w", leadID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("erase lead %s: %w", leadID, errNotFound)
		}
		if _, err := tx.Exec(ctx, `update lead_import_rows set phone = '' where lead_id = $1 and phone <> ''`, leadID); err != nil {
			return fmt.Errorf("erase the staged phone of %s: %w", leadID, err)
		}
		if _, err := tx.Exec(ctx, `update lead_events set data = data - 'note' where lead_id = $1 and data ? 'note'`, leadID); err != nil {
			return fmt.Errorf("erase notes of %s: %w", leadID, err)
		}
		if _, err := tx.Exec(ctx, `delete from outbox where ledger_key like $1 || ':%'`, leadID); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `update email_ledger set subject = '', to_email = 'erased' where key like $1 || ':%'`, leadID); err != nil {
			return err
		}
		// Its sections of escalation batches, sent or queued.
		if err := redactBatchItems(ctx, tx, "i.lead_id = $1", leadID); err != nil {
			return fmt.Errorf("erase lead %s from mail batches: %w", leadID, err)
		}
		_, err = tx.Exec(ctx, `update webhook_events set payload = jsonb_set(payload #- '{data,lead,name}' #- '{data,lead,company}'
			#- '{data,lead,country}' #- '{data,lead,reason}', '{data,lead,email}', to_jsonb($2::text))
			where lead_id = $1 and payload #> '{data,lead}' is not null`, leadID, domain.ErasedEmail(leadID))
		return err
	})
}

// RepMisses counts the deadlines a rep missed (lapsed offers and breached
// first contacts, on any lead) at or after since.
func (s *Store) RepMisses(ctx context.Context, repID string, since time.Time) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from lead_events
		where kind in ('lapsed', 'breached') and data->>'rep' = $1 and occurred_at >= $2`, repID, since).Scan(&n)
	return n, err
}

// OpenOffer is a lead offered to (or escalated while held by) a rep.
type OpenOffer struct {
	LeadID     string
	WorkflowID string
	RepID      string
}

// OpenOffersOf lists the leads offered to any of the reps and not accepted.
func (s *Store) OpenOffersOf(ctx context.Context, repIDs []string) ([]OpenOffer, error) {
	return s.LeadsHeldBy(ctx, repIDs, "Offered", "Escalated")
}

// LeadsHeldBy lists the leads any of the reps hold in one of the states.
func (s *Store) LeadsHeldBy(ctx context.Context, repIDs []string, states ...string) ([]OpenOffer, error) {
	rows, _ := s.Pool.Query(ctx, `select id, workflow_id, owner_id from leads
		where owner_id = any($1) and state = any($2) order by id`, repIDs, states)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[OpenOffer])
}

// LeadStateTouches returns the stored state and touch count of a lead, and
// whether the lead is stored at all (intake's answer to a duplicate).
func (s *Store) LeadStateTouches(ctx context.Context, id string) (domain.LeadState, int, bool, error) {
	var state string
	var touches int
	err := s.Pool.QueryRow(ctx, `select state, touches from leads where id = $1`, id).Scan(&state, &touches)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("lead %s state: %w", id, err)
	}
	return domain.LeadState(state), touches, true, nil
}

// LeadVersionBefore is LeadVersion for a lead stored (first written) before
// an instant; a lead first written later counts as not stored.
func (s *Store) LeadVersionBefore(ctx context.Context, id string, before time.Time) (int64, int, bool, error) {
	var v int64
	var att int
	err := s.Pool.QueryRow(ctx, `select version, attempt from leads where id = $1 and created_at < $2`, id, before).Scan(&v, &att)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("lead %s version: %w", id, err)
	}
	return v, att, true, nil
}

// LeadVersion returns the stored snapshot version and attempt of a lead, and
// whether the lead is stored at all.
func (s *Store) LeadVersion(ctx context.Context, id string) (int64, int, bool, error) {
	var v int64
	var att int
	err := s.Pool.QueryRow(ctx, `select version, attempt from leads where id = $1`, id).Scan(&v, &att)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("lead %s version: %w", id, err)
	}
	return v, att, true, nil
}
