package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SlackPerson is what the notifier needs of a recipient for Slack.
type SlackPerson struct {
	Found  bool
	ID     string
	UserID string   // Slack user id; empty: not known yet
	Off    bool     // the person takes Baton's messages by email only
	Kinds  []string // the kinds they take in Slack; empty: all
}

// SlackPerson looks a recipient up by email.
func (s *Store) SlackPerson(ctx context.Context, email string) (SlackPerson, error) {
	p := SlackPerson{}
	err := s.Pool.QueryRow(ctx, `select id, slack_user_id, slack_off, slack_kinds from people where lower(email) = lower($1)`, email).
		Scan(&p.ID, &p.UserID, &p.Off, &p.Kinds)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	p.Found = err == nil
	return p, err
}

// SetSlackUserID keeps the Slack user id found for a person by email.
func (s *Store) SetSlackUserID(ctx context.Context, personID, userID string) error {
	_, err := s.Pool.Exec(ctx, `update people set slack_user_id = $2 where id = $1 and slack_user_id = ''`, personID, userID)
	return err
}

// SlackMessage is one message's row in the Slack ledger.
type SlackMessage struct {
	Key       string
	LeadID    string
	Kind      string
	UserID    string
	Channel   string
	TS        string
	Actions   map[string]string // action -> signed link token
	Status    string            // sending, sent, failed
	Error     string
	CreatedAt time.Time
}

// ClaimSlack inserts the row 'sending' unless the key has one; it returns
// the row as it is and whether this call created it.
func (s *Store) ClaimSlack(ctx context.Context, m SlackMessage) (SlackMessage, bool, error) {
	acts, _ := json.Marshal(m.Actions)
	tag, err := s.Pool.Exec(ctx, `insert into slack_messages (key, lead_id, kind, user_id, actions, status)
		values ($1, $2, $3, $4, $5, 'sending') on conflict (key) do nothing`, m.Key, m.LeadID, m.Kind, m.UserID, acts)
	if err != nil {
		return m, false, fmt.Errorf("claim slack %s: %w", m.Key, err)
	}
	if tag.RowsAffected() == 1 {
		m.Status = "sending"
		return m, true, nil
	}
	row, err := s.slackRow(ctx, `key = $1`, m.Key)
	return row, false, err
}

// MarkSlack records a message's outcome: sent (to whom, with its channel
// and ts) or failed (with why).
func (s *Store) MarkSlack(ctx context.Context, key, status, userID, channel, ts, why string) error {
	_, err := s.Pool.Exec(ctx, `update slack_messages set status = $2, user_id = case when $3 = '' then user_id else $3 end,
		channel = case when $4 = '' then channel else $4 end, ts = case when $5 = '' then ts else $5 end, error = $6, updated_at = now()
		where key = $1`, key, status, userID, channel, ts, truncateText(why, 500))
	return err
}

// SlackMessageAt finds the message Slack knows by channel and ts.
func (s *Store) SlackMessageAt(ctx context.Context, channel, ts string) (SlackMessage, error) {
	return s.slackRow(ctx, `channel = $1 and ts = $2 and ts <> ''`, channel, ts)
}

// SlackMessage reads one row by key.
func (s *Store) SlackMessage(ctx context.Context, key string) (SlackMessage, error) {
	return s.slackRow(ctx, `key = $1`, key)
}

func (s *Store) slackRow(ctx context.Context, where string, args ...any) (SlackMessage, error) {
	var m SlackMessage
	var acts []byte
	err := s.Pool.QueryRow(ctx, `select key, lead_id, kind, user_id, channel, ts, actions, status, error, created_at
		from slack_messages where `+where, args...).Scan(&m.Key, &m.LeadID, &m.Kind, &m.UserID, &m.Channel, &m.TS, &acts, &m.Status, &m.Error, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, errNotFound
	}
	if err == nil {
		err = json.Unmarshal(acts, &m.Actions)
	}
	return m, err
}

// RecordSlackFallback records on the lead why a message went by email
// instead of Slack (once per message).
func (s *Store) RecordSlackFallback(ctx context.Context, key, leadID, kind, why string, at time.Time) error {
	if leadID == "" {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"message": kind, "key": key, "channel": "slack"})
	_, err := s.Pool.Exec(ctx, `
		insert into lead_events (lead_id, event_key, seq, kind, actor, reason, data, occurred_at)
		select $1, $2, (select coalesce(max(seq), 0) from lead_events where lead_id = $1), 'slack-failed', 'system:slack', $3, $4, $5
		where exists (select 1 from leads where id = $1)
		on conflict (event_key) do nothing`, leadID, leadID+":slack-failed:"+key, truncateText(why, 500), data, at)
	return err
}
