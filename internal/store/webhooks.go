package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Webhook is one outbound webhook subscription.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// SecretPrefix starts every signing secret (Standard Webhooks' format).
const SecretPrefix = "whsec_"

// NewWebhookSecret returns a fresh signing secret: whsec_ and 32 random
// bytes in base64.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// WebhookKey decodes a secret to its HMAC key.
func WebhookKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("secret: must start with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("secret: the part after %q is not standard base64: %v", SecretPrefix, err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("secret: the key is %d bytes; it must be 24 to 64", len(key))
	}
	return key, nil
}

// ValidateWebhook checks a subscription before it is stored; the error names
// the field. events may hold "*" for every type.
func ValidateWebhook(rawURL string, events []string, secret string) ([]string, error) {
	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		return nil, errors.New("url: required")
	case err != nil:
		return nil, fmt.Errorf("url: %v", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("url: %q is not an http(s) URL", rawURL)
	case u.Host == "":
		return nil, fmt.Errorf("url: %q has no host", rawURL)
	case u.User != nil:
		return nil, errors.New("url: must not carry credentials (the signature authenticates Baton)")
	}
	all := domain.HookTypes()
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		switch {
		case e == "*":
			out = append(out, all...)
		case slices.Contains(all, e):
			out = append(out, e)
		default:
			return nil, fmt.Errorf("events: %q is not an event type; the types are %s, or * for all", e, strings.Join(all, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("events: name at least one event type, or * for all")
	}
	slices.Sort(out)
	if _, err := WebhookKey(secret); err != nil {
		return nil, err
	}
	return slices.Compact(out), nil
}

// AddWebhook stores a subscription and returns it with its new id.
func (s *Store) AddWebhook(ctx context.Context, rawURL string, events []string, secret string) (Webhook, error) {
	events, err := ValidateWebhook(rawURL, events, secret)
	if err != nil {
		return Webhook{}, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	h := Webhook{ID: "wh_" + hex.EncodeToString(b), URL: rawURL, Events: events, Secret: secret}
	err = s.Pool.QueryRow(ctx, `insert into webhook_subscriptions (id, url, events, secret) values ($1, $2, $3, $4)
		returning created_at`, h.ID, h.URL, h.Events, h.Secret).Scan(&h.CreatedAt)
	return h, err
}

// Webhooks lists the subscriptions, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, _ := s.Pool.Query(ctx, `select id, url, events, secret, created_at from webhook_subscriptions order by created_at, id`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		var h Webhook
		err := r.Scan(&h.ID, &h.URL, &h.Events, &h.Secret, &h.CreatedAt)
		return h, err
	})
}

// RemoveWebhook deletes a subscription and its deliveries not yet made.
func (s *Store) RemoveWebhook(ctx context.Context, id string) error {
	tag, err := s.Pool.Exec(ctx, `delete from webhook_subscriptions where id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook %q: %w", id, errNotFound)
	}
	return nil
}

// HookEventID is the stable id of the webhook event for a source event key
// (lead or campaign): the same source event always gives the same id.
func HookEventID(scope, eventKey string) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + eventKey))
	return "evt_" + hex.EncodeToString(sum[:12])
}

// HookPayload is the JSON body of every delivery.
type HookPayload struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      HookData  `json:"data"`
}

// HookData is what happened: the lead (as it is after the event) or the
// campaign, who did it, why, and the event's own details.
type HookData struct {
	Lead     *HookLead         `json:"lead,omitempty"`
	Campaign *HookCampaign     `json:"campaign,omitempty"`
	Actor    string            `json:"actor,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
}

// HookLead is a lead in a webhook payload. Version orders one lead's events.
type HookLead struct {
	ID         string            `json:"id"`
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Company    string            `json:"company"`
	Country    string            `json:"country"`
	Score      int               `json:"score"`
	CampaignID string            `json:"campaign_id"`
	State      string            `json:"state"`
	Owner      *domain.PersonRef `json:"owner,omitempty"`
	Attempt    int               `json:"attempt"`
	Version    int64             `json:"version"`
	AcceptBy   *time.Time        `json:"accept_by,omitempty"`
	ContactBy  *time.Time        `json:"contact_by,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

// HookCampaign is a campaign in a webhook payload.
type HookCampaign struct {
	ID string `json:"id"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// enqueueHook writes the webhook event and one delivery per subscription
// that wants its type, in the caller's transaction; nothing when none does.
func enqueueHook(ctx context.Context, tx pgx.Tx, p HookPayload, leadID, campaignID string) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		with subs as (select id from webhook_subscriptions where $2 = any(events)),
		ev as (
			insert into webhook_events (id, type, lead_id, campaign_id, payload, occurred_at)
			select $1, $2, $3, $4, $5, $6 where exists (select 1 from subs)
			on conflict (id) do nothing returning id)
		insert into webhook_deliveries (event_id, subscription_id)
		select ev.id, subs.id from ev, subs on conflict do nothing`,
		p.ID, p.Type, leadID, campaignID, body, p.CreatedAt)
	if err != nil {
		return fmt.Errorf("enqueue webhook %s: %w", p.Type, err)
	}
	return nil
}

// leadHook enqueues the webhook event of a lead event, if it has one.
func leadHook(ctx context.Context, tx pgx.Tx, l domain.LeadSnapshot, ev domain.Event) error {
	typ := domain.LeadHook(ev.Kind)
	if typ == "" {
		return nil
	}
	hl := &HookLead{ID: l.ID, Email: l.Email, Name: l.Name, Company: l.Company, Country: l.Country, Score: l.Score,
		CampaignID: l.CampaignID, State: string(l.State), Attempt: l.Attempt, Version: l.Version,
		AcceptBy: optTime(l.AcceptBy), ContactBy: optTime(l.ContactBy), Reason: l.Reason}
	if l.Owner.ID != "" {
		o := l.Owner
		hl.Owner = &o
	}
	p := HookPayload{ID: HookEventID("lead", ev.Key), Type: typ, CreatedAt: ev.At.UTC(),
		Data: HookData{Lead: hl, Actor: ev.Actor, Reason: ev.Reason, Details: ev.Data}}
	return enqueueHook(ctx, tx, p, l.ID, l.CampaignID)
}

// campaignHook enqueues the webhook event of a campaign event, if it has one.
func campaignHook(ctx context.Context, tx pgx.Tx, campaignID string, ev domain.CampaignEvent) error {
	typ := domain.CampaignHook(ev.Kind)
	if typ == "" {
		return nil
	}
	p := HookPayload{ID: HookEventID("campaign", ev.Key), Type: typ, CreatedAt: ev.At.UTC(),
		Data: HookData{Campaign: &HookCampaign{ID: campaignID}, Actor: ev.Actor, Reason: ev.Reason, Details: ev.Data}}
	return enqueueHook(ctx, tx, p, "", campaignID)
}

// EnqueueWebhookTest queues a webhook.test event for one subscription and
// returns its event id.
func (s *Store) EnqueueWebhookTest(ctx context.Context, id string, now time.Time) (string, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p := HookPayload{ID: HookEventID("test", id+hex.EncodeToString(b)), Type: domain.HookTest, CreatedAt: now.UTC(),
		Data: HookData{Actor: "starter", Reason: "a test delivery from `starter webhook test`"}}
	body, _ := json.Marshal(p)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `insert into webhook_events (id, type, payload, occurred_at)
			select $1, $2, $3, $4 where exists (select 1 from webhook_subscriptions where id = $5)`, p.ID, p.Type, body, p.CreatedAt, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("webhook %q: %w", id, errNotFound)
		}
		_, err = tx.Exec(ctx, `insert into webhook_deliveries (event_id, subscription_id) values ($1, $2)`, p.ID, id)
		return err
	})
	return p.ID, err
}

// Delivery is one (event, subscription) to send, with what sending needs.
type Delivery struct {
	ID             int64      `json:"id"`
	EventID        string     `json:"event_id"`
	Type           string     `json:"type"`
	LeadID         string     `json:"lead_id,omitempty"`
	SubscriptionID string     `json:"subscription_id"`
	URL            string     `json:"url"`
	Secret         string     `json:"-"`
	Payload        []byte     `json:"-"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAt         time.Time  `json:"next_at"`
	LastStatus     int        `json:"last_status"`
	LastError      string     `json:"last_error"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

const deliveryCols = `d.id, d.event_id, e.type, e.lead_id, d.subscription_id, s.url, s.secret, e.payload, d.status,
	d.attempts, d.next_at, d.last_status, d.last_error, d.delivered_at, d.created_at`

func scanDelivery(r pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	err := r.Scan(&d.ID, &d.EventID, &d.Type, &d.LeadID, &d.SubscriptionID, &d.URL, &d.Secret, &d.Payload, &d.Status,
		&d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &d.DeliveredAt, &d.CreatedAt)
	return d, err
}

// ClaimDeliveries leases up to limit due deliveries for lease, oldest
// first; another worker skips them until the lease ends.
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]Delivery, error) {
	rows, _ := s.Pool.Query(ctx, `
		with due as (
			select id from webhook_deliveries
			where status = 'pending' and next_at <= now() and (leased_until is null or leased_until <= now())
			order by next_at, id limit $1 for update skip locked),
		claimed as (
			update webhook_deliveries d set leased_until = now() + $2::interval, attempts = d.attempts + 1
			from due where d.id = due.id returning d.*)
		select `+deliveryCols+` from claimed d
			join webhook_events e on e.id = d.event_id
			join webhook_subscriptions s on s.id = d.subscription_id
		order by d.next_at, d.id`, limit, lease)
	return pgx.CollectRows(rows, scanDelivery)
}

// ClaimDeliveryOf leases the pending deliveries of one event now, due or
// not (`starter webhook test` sends its event at once).
func (s *Store) ClaimDeliveryOf(ctx context.Context, eventID string, lease time.Duration) ([]Delivery, error) {
	rows, _ := s.Pool.Query(ctx, `
		with claimed as (
			update webhook_deliveries d set leased_until = now() + $2::interval, attempts = d.attempts + 1
			where d.event_id = $1 and d.status = 'pending' and (d.leased_until is null or d.leased_until <= now())
			returning d.*)
		select `+deliveryCols+` from claimed d
			join webhook_events e on e.id = d.event_id
			join webhook_subscriptions s on s.id = d.subscription_id`, eventID, lease)
	return pgx.CollectRows(rows, scanDelivery)
}

// DeliveryOutcome is what one attempt of a delivery came to.
type DeliveryOutcome struct {
	Delivered bool
	Failed    bool      // the retry window is over: give up
	Status    int       // the receiver's HTTP status, 0 when none
	Error     string    // why it was not delivered
	NextAt    time.Time // when to try again (not delivered, not failed)
}

// FinishDelivery records an attempt's outcome and ends the lease.
func (s *Store) FinishDelivery(ctx context.Context, id int64, o DeliveryOutcome) error {
	status := "pending"
	switch {
	case o.Delivered:
		status = "delivered"
	case o.Failed:
		status = "failed"
	}
	_, err := s.Pool.Exec(ctx, `update webhook_deliveries set status = $2, last_status = $3, last_error = $4,
		next_at = coalesce($5, next_at), leased_until = null, delivered_at = case when $2 = 'delivered' then now() end
		where id = $1`, id, status, o.Status, truncateText(o.Error, 500), nullTime(o.NextAt))
	return err
}

// WebhookDeliveries lists deliveries, newest first; status "" means all.
func (s *Store) WebhookDeliveries(ctx context.Context, status string, limit int) ([]Delivery, error) {
	rows, _ := s.Pool.Query(ctx, `select `+deliveryCols+` from webhook_deliveries d
			join webhook_events e on e.id = d.event_id
			join webhook_subscriptions s on s.id = d.subscription_id
		where $1 = '' or d.status = $1 order by d.created_at desc, d.id desc limit $2`, status, limit)
	return pgx.CollectRows(rows, scanDelivery)
}

// WebhookCounts counts deliveries by status.
func (s *Store) WebhookCounts(ctx context.Context) (map[string]int, error) {
	rows, _ := s.Pool.Query(ctx, `select status, count(*) from webhook_deliveries group by status`)
	out := map[string]int{"pending": 0, "delivered": 0, "failed": 0}
	var st string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[st] = n; return nil })
	return out, err
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
