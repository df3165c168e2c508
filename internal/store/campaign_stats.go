package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

// RecordCampaignEvent appends one event to a campaign's history, once per key.
func (s *Store) RecordCampaignEvent(ctx context.Context, campaignID string, ev domain.CampaignEvent) error {
	data, _ := json.Marshal(ev.Data)
	if ev.Data == nil {
		data = []byte("{}")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			insert into campaign_events (campaign_id, event_key, kind, actor, reason, data, occurred_at)
			values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_key) do nothing`,
			campaignID, ev.Key, ev.Kind, ev.Actor, ev.Reason, data, ev.At)
		if err != nil {
			return fmt.Errorf("record campaign event %s: %w", ev.Key, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return campaignHook(ctx, tx, campaignID, ev)
	})
}

// CampaignEvents lists a campaign's history, oldest first.
func (s *Store) CampaignEvents(ctx context.Context, campaignID string) ([]domain.CampaignEvent, error) {
	rows, _ := s.Pool.Query(ctx, `select event_key, kind, actor, reason, data, occurred_at from campaign_events
		where campaign_id = $1 order by occurred_at, id`, campaignID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.CampaignEvent, error) {
		var e domain.CampaignEvent
		err := r.Scan(&e.Key, &e.Kind, &e.Actor, &e.Reason, &e.Data, &e.At)
		return e, err
	})
}

// CampaignState is a campaign's spec and where it stands, as stored.
type CampaignState struct {
	Spec     domain.Campaign
	Status   string
	Revision int
	LiveAt   *time.Time
	EndedAt  *time.Time
}

// CampaignSpec loads a campaign's full spec and status.
func (s *Store) CampaignSpec(ctx context.Context, id string) (CampaignState, error) {
	var c CampaignState
	err := s.Pool.QueryRow(ctx, `select spec, status, revision, live_at, ended_at from campaigns where id = $1`, id).
		Scan(&c.Spec, &c.Status, &c.Revision, &c.LiveAt, &c.EndedAt)
	if err != nil {
		return c, notFound(err, "campaign "+id)
	}
	return c, nil
}

// SetCampaignStatus moves a campaign to a status; live and ended stamp when.
func (s *Store) SetCampaignStatus(ctx context.Context, id, status string, at time.Time) error {
	_, err := s.Pool.Exec(ctx, `update campaigns set status = $2, updated_at = now(),
		live_at = case when $2 = 'live' then coalesce(live_at, $3) else live_at end,
		ended_at = case when $2 = 'ended' then coalesce(ended_at, $3) else ended_at end
		where id = $1`, id, status, at)
	if err != nil {
		return fmt.Errorf("set campaign %s %s: %w", id, status, err)
	}
	return nil
}

// CampaignIntake decides whether a lead for a campaign is taken, by its
// status and late-lead policy, with a reason when it is not.
func (s *Store) CampaignIntake(ctx context.Context, id string) (bool, string, error) {
	var status, late string
	var ended *time.Time
	err := s.Pool.QueryRow(ctx, `select status, coalesce(spec->>'LateLeads', ''), ended_at from campaigns where id = $1`, id).
		Scan(&status, &late, &ended)
	if err == pgx.ErrNoRows {
		return false, fmt.Sprintf("campaign %q does not exist", id), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("campaign %s: %w", id, err)
	}
	var at time.Time
	if ended != nil {
		at = *ended
	}
	ok, why := domain.IntakeDecision(id, status, late, at)
	return ok, why, nil
}

// statKinds are the lead events the campaign numbers read.
var statKinds = []string{"captured", "touch", "mql", "offered", "reassigned", "accepted", "lapsed", "rejected", "contacted", "breached",
	"converted", "disqualified", "recycled"}

// CampaignStats computes a campaign's numbers over [from, to) from the lead
// events (see domain.AggregateCampaign for what each number means).
func (s *Store) CampaignStats(ctx context.Context, id string, from, to time.Time, target int) (domain.CampaignStats, error) {
	rows, _ := s.Pool.Query(ctx, `
		select e.lead_id, e.kind, e.actor, e.reason, e.data, e.occurred_at, l.country,
			l.campaign_id <> $1, coalesce(e.data->>'campaign', l.campaign_id) = $1
		from lead_events e join leads l on l.id = e.lead_id
		where e.occurred_at < $2 and (l.campaign_id = $1 and e.kind = any($3)
			or e.kind in ('captured', 'touch') and e.data->>'campaign' = $1)
		order by e.occurred_at, e.seq, e.id`, id, to, statKinds)
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.StatEvent, error) {
		var e domain.StatEvent
		err := r.Scan(&e.LeadID, &e.Kind, &e.Actor, &e.Reason, &e.Data, &e.At, &e.Segment, &e.Foreign, &e.Credited)
		return e, err
	})
	if err != nil {
		return domain.CampaignStats{}, fmt.Errorf("campaign %s stats: %w", id, err)
	}
	return domain.AggregateCampaign(evs, from, to, target), nil
}

// ToDate is the period a campaign's numbers "to date" cover, on every
// surface: the MQLs since it went live (since its first lead when it never
// went live), counted up to its end, or now while it runs.
func ToDate(c CampaignState, now time.Time) (from, to time.Time) {
	if c.LiveAt != nil {
		from = *c.LiveAt
	}
	to = now
	if c.EndedAt != nil && c.EndedAt.Before(now) {
		to = *c.EndedAt
	}
	return from, to
}

// CampaignToDate is a campaign's spec and its numbers to date (see ToDate).
func (s *Store) CampaignToDate(ctx context.Context, id string, now time.Time) (CampaignState, domain.CampaignStats, error) {
	c, err := s.CampaignSpec(ctx, id)
	if err != nil {
		return c, domain.CampaignStats{}, err
	}
	from, to := ToDate(c, now)
	st, err := s.CampaignStats(ctx, id, from, to, 0)
	return c, st, err
}

// Leaders returns the active sales and marketing leaders (empty when none).
func (s *Store) Leaders(ctx context.Context) (sales, marketing domain.PersonRef, err error) {
	rows, _ := s.Pool.Query(ctx, `select distinct on (role) role, id, name, email, time_zone from people
		where role in ('sales_leader', 'marketing_leader') and active order by role, id`)
	defer rows.Close()
	for rows.Next() {
		var role string
		var p domain.PersonRef
		if err := rows.Scan(&role, &p.ID, &p.Name, &p.Email, &p.TimeZone); err != nil {
			return sales, marketing, err
		}
		if role == "sales_leader" {
			sales = p
		} else {
			marketing = p
		}
	}
	return sales, marketing, rows.Err()
}

// TeamPeople returns a team's manager and reps: the sales side of a digest.
func (s *Store) TeamPeople(ctx context.Context, teamID string) ([]domain.PersonRef, error) {
	rows, _ := s.Pool.Query(ctx, `select p.id, p.name, p.email, p.time_zone from people p
		where p.active and (p.team_id = $1 and p.role = 'rep' or p.id = (select manager_id from teams where id = $1))
		order by p.role, p.id`, teamID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.PersonRef, error) {
		var p domain.PersonRef
		err := r.Scan(&p.ID, &p.Name, &p.Email, &p.TimeZone)
		return p, err
	})
}

// CheckCampaignRefs checks that a spec's team and SLA policy exist, without
// writing anything; FieldErrors name the field.
func (s *Store) CheckCampaignRefs(ctx context.Context, c domain.Campaign) error {
	var fe domain.FieldErrors
	var team, policy bool
	err := s.Pool.QueryRow(ctx, `select exists(select 1 from teams where id = $1),
		$2 = '' or exists(select 1 from sla_policies where name = $2)`, c.Team, c.SLAPolicy).Scan(&team, &policy)
	if err != nil {
		return fmt.Errorf("check campaign %s: %w", c.ID, err)
	}
	if !team {
		fe.Add("team", "team %q is not in the directory; import it first", c.Team)
	}
	if !policy {
		fe.Add("sla_policy", "policy %q is not imported; run `starter policy import` first", c.SLAPolicy)
	}
	return fe.Err()
}
