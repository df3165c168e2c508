package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Source is a system allowed to post leads (a web form, a marketing
// automation tool). Its API key is never stored, only its SHA-256.
type Source struct {
	Name          string    `json:"name"`
	RatePerSecond float64   `json:"rate_per_second"`
	Burst         int       `json:"burst"`
	HMACSecret    string    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	RotatedAt     time.Time `json:"rotated_at"`
}

// SourceCredentials are shown once, when a source is added or rotated.
type SourceCredentials struct {
	Source     string `json:"source"`
	APIKey     string `json:"api_key"`
	HMACSecret string `json:"hmac_secret"`
}

// Default rate limit of a new source.
const (
	DefaultSourceRate  = 50.0
	DefaultSourceBurst = 100
)

var keyEnc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails on Linux
	return prefix + keyEnc.EncodeToString(b)
}

// KeyHash is what is stored of an API key.
func KeyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ErrSourceExists is returned when adding a name already taken.
var ErrSourceExists = errors.New("source already exists")

func checkSource(name string, rate float64, burst int) error {
	var fe domain.FieldErrors
	if !domain.ValidSlug(name) {
		fe.Add("name", "%q is not a source name (lower-case letters, digits and dashes)", name)
	}
	if rate <= 0 {
		fe.Add("rate", "%g is not a positive number of requests per second", rate)
	}
	if burst <= 0 {
		fe.Add("burst", "%d is not a positive number of requests", burst)
	}
	return fe.Err()
}

// AddSource creates a source with a new API key and HMAC secret.
func (s *Store) AddSource(ctx context.Context, name string, rate float64, burst int) (SourceCredentials, error) {
	if err := checkSource(name, rate, burst); err != nil {
		return SourceCredentials{}, err
	}
	c := SourceCredentials{Source: name, APIKey: newSecret("bk_"), HMACSecret: newSecret("bs_")}
	_, err := s.Pool.Exec(ctx, `insert into intake_sources (name, key_sha256, hmac_secret, rate_per_second, burst) values ($1, $2, $3, $4, $5)`,
		name, KeyHash(c.APIKey), c.HMACSecret, rate, burst)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return SourceCredentials{}, fmt.Errorf("add source %s: %w", name, ErrSourceExists)
	}
	if err != nil {
		return SourceCredentials{}, fmt.Errorf("add source %s: %w", name, err)
	}
	return c, nil
}

// RotateSource replaces a source's API key and HMAC secret; the old ones
// stop working at once.
func (s *Store) RotateSource(ctx context.Context, name string) (SourceCredentials, error) {
	c := SourceCredentials{Source: name, APIKey: newSecret("bk_"), HMACSecret: newSecret("bs_")}
	tag, err := s.Pool.Exec(ctx, `update intake_sources set key_sha256 = $2, hmac_secret = $3, rotated_at = now() where name = $1`,
		name, KeyHash(c.APIKey), c.HMACSecret)
	if err != nil {
		return SourceCredentials{}, fmt.Errorf("rotate source %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return SourceCredentials{}, fmt.Errorf("source %s: %w", name, errNotFound)
	}
	return c, nil
}

// SetSourceLimit changes a source's rate limit.
func (s *Store) SetSourceLimit(ctx context.Context, name string, rate float64, burst int) error {
	if err := checkSource(name, rate, burst); err != nil {
		return err
	}
	tag, err := s.Pool.Exec(ctx, `update intake_sources set rate_per_second = $2, burst = $3 where name = $1`, name, rate, burst)
	if err != nil {
		return fmt.Errorf("set limit of source %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("source %s: %w", name, errNotFound)
	}
	return nil
}

// RemoveSource deletes a source; its key and secret stop working at once.
func (s *Store) RemoveSource(ctx context.Context, name string) error {
	tag, err := s.Pool.Exec(ctx, `delete from intake_sources where name = $1`, name)
	if err != nil {
		return fmt.Errorf("remove source %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("source %s: %w", name, errNotFound)
	}
	return nil
}

const sourceCols = `name, hmac_secret, rate_per_second, burst, created_at, rotated_at`

func scanSource(row pgx.Row) (Source, error) {
	var src Source
	err := row.Scan(&src.Name, &src.HMACSecret, &src.RatePerSecond, &src.Burst, &src.CreatedAt, &src.RotatedAt)
	return src, err
}

// Sources lists every source by name.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.Pool.Query(ctx, `select `+sourceCols+` from intake_sources order by name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("list sources: %w", err)
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// SourceByKey finds the source an API key belongs to (ErrNotFound if none).
func (s *Store) SourceByKey(ctx context.Context, key string) (Source, error) {
	src, err := scanSource(s.Pool.QueryRow(ctx, `select `+sourceCols+` from intake_sources where key_sha256 = $1`, KeyHash(key)))
	if err != nil {
		return Source{}, notFound(err, "api key")
	}
	return src, nil
}

// SourceByName finds a source (ErrNotFound if none).
func (s *Store) SourceByName(ctx context.Context, name string) (Source, error) {
	src, err := scanSource(s.Pool.QueryRow(ctx, `select `+sourceCols+` from intake_sources where name = $1`, name))
	if err != nil {
		return Source{}, notFound(err, "source "+name)
	}
	return src, nil
}

// UseSignature records a signature as used; it reports false when the same
// signature was already used inside the window (a replay). Entries older
// than the window are purged on the way.
func (s *Store) UseSignature(ctx context.Context, source, signature string, window time.Duration) (bool, error) {
	sig := strings.ToLower(signature)
	var fresh bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from intake_replays where seen_at < now() - make_interval(secs => $1)`, (2 * window).Seconds()); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `insert into intake_replays (source, signature) values ($1, $2) on conflict do nothing`, source, sig)
		fresh = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("replay cache: %w", err)
	}
	return fresh, nil
}

// Idempotent is a stored answer to a request with an Idempotency-Key.
type Idempotent struct {
	Status int // 0: the first request is still running
	Body   []byte
	Same   bool // the stored request had the same body
}

// IdempotencyRetention is how long a stored answer is replayed for its key.
const IdempotencyRetention = 24 * time.Hour

// IdempotencyAbandoned is how old a claim with no answer may get before a
// retry with the same body takes it over: longer than any request lives (the
// gateway's WriteTimeout is 60s), so only a claim whose gateway died (kill -9,
// OOM, a lost node) is taken. Found by the fault suite: without it, a retry
// was told "still running" for IdempotencyRetention.
const IdempotencyAbandoned = 70 * time.Second

// ClaimIdempotencyKey stores key for source with the request's hash. It
// returns nil when the caller is first and must answer (then
// SaveIdempotent or ReleaseIdempotencyKey); otherwise what is stored.
// Answers older than IdempotencyRetention are forgotten on the way, and a
// claim left unanswered past IdempotencyAbandoned is taken over.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, source, key string, body []byte) (*Idempotent, error) {
	h := sha256.Sum256(body)
	if _, err := s.Pool.Exec(ctx, `delete from intake_idempotency where created_at < now() - make_interval(secs => $1)`, IdempotencyRetention.Seconds()); err != nil {
		return nil, fmt.Errorf("purge idempotency keys: %w", err)
	}
	tag, err := s.Pool.Exec(ctx, `insert into intake_idempotency (source, key, request_hash) values ($1, $2, $3)
		on conflict (source, key) do update set created_at = now()
		where intake_idempotency.status = 0 and intake_idempotency.request_hash = excluded.request_hash
		and intake_idempotency.created_at < now() - make_interval(secs => $4)`, source, key, h[:], IdempotencyAbandoned.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	var got Idempotent
	var hash []byte
	err = s.Pool.QueryRow(ctx, `select status, coalesce(body, ''), request_hash from intake_idempotency where source = $1 and key = $2`, source, key).
		Scan(&got.Status, &got.Body, &hash)
	if errors.Is(err, pgx.ErrNoRows) { // released in between: try once more
		return s.ClaimIdempotencyKey(ctx, source, key, body)
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	got.Same = hex.EncodeToString(hash) == hex.EncodeToString(h[:])
	return &got, nil
}

// SaveIdempotent stores the answer to a claimed key.
func (s *Store) SaveIdempotent(ctx context.Context, source, key string, status int, body []byte) error {
	_, err := s.Pool.Exec(ctx, `update intake_idempotency set status = $3, body = $4 where source = $1 and key = $2`, source, key, status, body)
	if err != nil {
		return fmt.Errorf("save idempotent answer: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a claimed key whose request failed, so a
// retry runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, source, key string) error {
	_, err := s.Pool.Exec(ctx, `delete from intake_idempotency where source = $1 and key = $2 and status = 0`, source, key)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// Engagement is one engagement event of a lead.
type Engagement struct {
	LeadID  string    `json:"lead_id"`
	EventID string    `json:"event_id"`
	Source  string    `json:"source"`
	Type    string    `json:"type"`
	Points  int       `json:"points"`
	At      time.Time `json:"at"`
}

// RecordEngagement stores an event; it reports false when the lead already
// has an event with this id (a retry).
func (s *Store) RecordEngagement(ctx context.Context, e Engagement) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `insert into lead_engagement (lead_id, event_id, source, type, points, occurred_at) values ($1, $2, $3, $4, $5, $6)
		on conflict do nothing`, e.LeadID, e.EventID, e.Source, e.Type, e.Points, e.At)
	if err != nil {
		return false, fmt.Errorf("record engagement %s of %s: %w", e.EventID, e.LeadID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CountEngagement counts a lead's stored events.
func (s *Store) CountEngagement(ctx context.Context, leadID string) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from lead_engagement where lead_id = $1`, leadID).Scan(&n)
	return n, err
}

// HasEngagement reports whether the lead has an event with this id.
func (s *Store) HasEngagement(ctx context.Context, leadID, eventID string) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `select exists (select 1 from lead_engagement where lead_id = $1 and event_id = $2)`, leadID, eventID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("find engagement %s of %s: %w", eventID, leadID, err)
	}
	return ok, nil
}
