package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrTokenUsed means an action link was used already (or is being used by a
// concurrent request right now).
var ErrTokenUsed = errors.New("the link was already used")

// TokenUse is the recorded use of an action link.
type TokenUse struct {
	UsedAt  *time.Time // nil while a claim is in flight
	Outcome string
}

// claimTimeout is how long a claim in flight blocks another use of the same
// link; after it a crashed gateway's claim may be taken again.
const claimTimeout = 2 * time.Minute

// ClaimToken reserves an action link for one use before its Update runs. It
// returns ErrTokenUsed when the link was used, or when another request holds a
// fresh claim on it. A claim is finished by UseToken or undone by ReleaseToken.
func (s *Store) ClaimToken(ctx context.Context, hash []byte, lead, actor, action string) error {
	tag, err := s.Pool.Exec(ctx, `
		insert into used_tokens (token_hash, lead_id, actor, action) values ($1, $2, $3, $4)
		on conflict (token_hash) do update set claimed_at = now()
		where used_tokens.used_at is null and used_tokens.claimed_at < now() - make_interval(secs => $5)`,
		hash, lead, actor, action, claimTimeout.Seconds())
	if err != nil {
		return fmt.Errorf("claim link: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrTokenUsed
	}
	return nil
}

// UseToken records that the claimed link performed its action.
func (s *Store) UseToken(ctx context.Context, hash []byte, outcome string) error {
	_, err := s.Pool.Exec(ctx, `update used_tokens set used_at = now(), outcome = $2 where token_hash = $1`, hash, outcome)
	if err != nil {
		return fmt.Errorf("record link use: %w", err)
	}
	return nil
}

// ReleaseToken undoes a claim whose action did not happen, so the link can be
// tried again (a stale action is explained again; nothing was done).
func (s *Store) ReleaseToken(ctx context.Context, hash []byte) error {
	_, err := s.Pool.Exec(ctx, `delete from used_tokens where token_hash = $1 and used_at is null`, hash)
	if err != nil {
		return fmt.Errorf("release link: %w", err)
	}
	return nil
}

// TokenUsed returns the use of a link, or nil when it was not used.
func (s *Store) TokenUsed(ctx context.Context, hash []byte) (*TokenUse, error) {
	var u TokenUse
	err := s.Pool.QueryRow(ctx, `select used_at, outcome from used_tokens where token_hash = $1
		and (used_at is not null or claimed_at >= now() - make_interval(secs => $2))`, hash, claimTimeout.Seconds()).Scan(&u.UsedAt, &u.Outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up link use: %w", err)
	}
	return &u, nil
}

// CreateLoginLink stores a sign-in link's hash for an address.
func (s *Store) CreateLoginLink(ctx context.Context, hash []byte, email string, expires time.Time) error {
	_, err := s.Pool.Exec(ctx, `insert into login_links (token_hash, email, expires_at) values ($1, lower($2), $3)`, hash, email, expires)
	if err != nil {
		return fmt.Errorf("create sign-in link: %w", err)
	}
	return nil
}

// RecentLoginLinks counts the sign-in links made for an address since a time
// (a flood of sign-in requests for one address is refused).
func (s *Store) RecentLoginLinks(ctx context.Context, email string, since time.Time) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `select count(*) from login_links where email = lower($1) and created_at >= $2`, email, since).Scan(&n)
	return n, err
}

// Errors of a sign-in link.
var (
	ErrLinkUnknown = errors.New("the sign-in link is not valid")
	ErrLinkUsed    = errors.New("the sign-in link was already used")
	ErrLinkExpired = errors.New("the sign-in link has expired")
)

// LoginLink reports the address of a usable sign-in link without using it.
func (s *Store) LoginLink(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var email string
	var expires time.Time
	var used *time.Time
	err := s.Pool.QueryRow(ctx, `select email, expires_at, used_at from login_links where token_hash = $1`, hash).Scan(&email, &expires, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", ErrLinkUnknown
	case err != nil:
		return "", fmt.Errorf("look up sign-in link: %w", err)
	case used != nil:
		return "", ErrLinkUsed
	case !now.Before(expires):
		return "", ErrLinkExpired
	}
	return email, nil
}

// SignIn uses a sign-in link and opens a session in one transaction: a link
// opens at most one session.
func (s *Store) SignIn(ctx context.Context, linkHash, sessionHash []byte, now, sessionExpires time.Time) (string, error) {
	var email string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `update login_links set used_at = $2 where token_hash = $1 and used_at is null and expires_at > $2
			returning email`, linkHash, now).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			_, why := s.LoginLink(ctx, linkHash, now)
			if why == nil {
				why = ErrLinkUsed // used by a concurrent request
			}
			return why
		}
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `insert into sessions (id_hash, email, expires_at) values ($1, $2, $3)`, sessionHash, email, sessionExpires); err != nil {
			return err
		}
		// Housekeeping: links and sessions dead for a day are of no use to anyone.
		if _, err = tx.Exec(ctx, `delete from login_links where expires_at < $1::timestamptz - interval '1 day'`, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from sessions where coalesce(revoked_at, expires_at) < $1::timestamptz - interval '1 day'`, now)
		return err
	})
	return email, err
}

// ErrNoSession means the cookie names no live session.
var ErrNoSession = errors.New("not signed in")

// Session returns the address of a live session.
func (s *Store) Session(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var email string
	err := s.Pool.QueryRow(ctx, `select email from sessions where id_hash = $1 and revoked_at is null and expires_at > $2`,
		hash, now).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", fmt.Errorf("look up session: %w", err)
	}
	return email, nil
}

// SignOut revokes a session.
func (s *Store) SignOut(ctx context.Context, hash []byte) error {
	_, err := s.Pool.Exec(ctx, `update sessions set revoked_at = now() where id_hash = $1 and revoked_at is null`, hash)
	return err
}

// Roles a viewer may have. Leaders of either side see everything.
const (
	RoleRep             = "rep"
	RoleManager         = "manager"
	RoleSalesLeader     = "sales_leader"
	RoleMarketingLeader = "marketing_leader"
	RoleMarketer        = "marketer"
)

// Viewer is a signed-in person and what the directory says they may see.
type Viewer struct {
	Email    string
	PersonID string // empty for a campaign owner who is not in the directory
	Name     string
	Role     string
	TeamID   string
	TimeZone string
}

// RoleLabel is the role in words ("sales leader").
func (v Viewer) RoleLabel() string { return strings.ReplaceAll(v.Role, "_", " ") }

// Leader reports whether the viewer sees everything.
func (v Viewer) Leader() bool { return v.Role == RoleSalesLeader || v.Role == RoleMarketingLeader }

// ViewerByEmail resolves an address from the directory: an active person, or
// else the owner of a campaign (a marketer). It returns ErrNoSession wrapped
// when the address is nobody Baton knows.
func (s *Store) ViewerByEmail(ctx context.Context, email string) (Viewer, error) {
	v := Viewer{Email: strings.ToLower(strings.TrimSpace(email))}
	var team *string
	err := s.Pool.QueryRow(ctx, `select id, name, role, team_id, time_zone from people where email = $1 and active`, v.Email).
		Scan(&v.PersonID, &v.Name, &v.Role, &team, &v.TimeZone)
	if err == nil {
		if team != nil {
			v.TeamID = *team
		}
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("look up %s: %w", v.Email, err)
	}
	err = s.Pool.QueryRow(ctx, `select owner_name from campaigns where lower(owner_email) = $1 order by id limit 1`, v.Email).Scan(&v.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("%s is not in the directory: %w", v.Email, ErrNoSession)
	}
	if err != nil {
		return v, fmt.Errorf("look up %s: %w", v.Email, err)
	}
	v.Role, v.TimeZone = RoleMarketer, "UTC"
	return v, nil
}

// leadScope is the SQL condition (over leads l join campaigns c) that limits
// rows to what a viewer may see, with its arguments numbered from n.
func leadScope(v Viewer, n int) (string, []any) {
	switch {
	case v.Leader():
		return "true", nil
	case v.Role == RoleManager && v.TeamID != "":
		return fmt.Sprintf(`(c.team_id = $%d or exists (select 1 from people sp where sp.id = l.owner_id and sp.team_id = $%d))`, n, n),
			[]any{v.TeamID}
	case v.Role == RoleRep && v.PersonID != "":
		return fmt.Sprintf(`l.owner_id = $%d`, n), []any{v.PersonID}
	case v.Role == RoleMarketer:
		return fmt.Sprintf(`lower(c.owner_email) = $%d`, n), []any{v.Email}
	}
	return "false", nil
}

// campaignScope is leadScope for campaigns c.
func campaignScope(v Viewer, n int) (string, []any) {
	switch {
	case v.Leader():
		return "true", nil
	case v.Role == RoleManager && v.TeamID != "":
		return fmt.Sprintf(`c.team_id = $%d`, n), []any{v.TeamID}
	case v.Role == RoleMarketer:
		return fmt.Sprintf(`lower(c.owner_email) = $%d`, n), []any{v.Email}
	}
	return "false", nil
}

// CanSeeLead reports whether a viewer may see a lead. A lead that does not
// exist and a lead the viewer may not see give the same answer.
func (s *Store) CanSeeLead(ctx context.Context, v Viewer, leadID string) (bool, error) {
	cond, args := leadScope(v, 2)
	var ok bool
	err := s.Pool.QueryRow(ctx, `select exists(select 1 from leads l join campaigns c on c.id = l.campaign_id
		where l.id = $1 and `+cond+`)`, append([]any{leadID}, args...)...).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check access to %s: %w", leadID, err)
	}
	return ok, nil
}

// CanSeeCampaign reports whether a viewer may see a campaign.
func (s *Store) CanSeeCampaign(ctx context.Context, v Viewer, id string) (bool, error) {
	cond, args := campaignScope(v, 2)
	var ok bool
	err := s.Pool.QueryRow(ctx, `select exists(select 1 from campaigns c where c.id = $1 and `+cond+`)`,
		append([]any{id}, args...)...).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check access to campaign %s: %w", id, err)
	}
	return ok, nil
}
