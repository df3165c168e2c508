package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

var errNotFound = domain.ErrNotFound

// ImportResult counts what an import changed (or would change, on a dry run).
type ImportResult struct {
	Created   int
	Updated   int
	Unchanged int
	// Deactivated counts reps (of Updated) who were active and are not
	// any more: marked inactive, or no longer listed in their team.
	Deactivated int
}

// count adds one upsert's outcome: "created", "updated" or "unchanged".
func (r *ImportResult) count(tag string) {
	switch tag {
	case "created":
		r.Created++
	case "updated":
		r.Updated++
	default:
		r.Unchanged++
	}
}

func (r ImportResult) String() string {
	if r.Deactivated > 0 {
		return fmt.Sprintf("%d created, %d updated (%d deactivated), %d unchanged", r.Created, r.Updated, r.Deactivated, r.Unchanged)
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged", r.Created, r.Updated, r.Unchanged)
}

// UpsertCampaign stores a campaign spec with the given status.
func (s *Store) UpsertCampaign(ctx context.Context, c domain.Campaign, status string, defaultWindow time.Duration) error {
	var exists bool
	if err := s.Pool.QueryRow(ctx, `select exists(select 1 from teams where id = $1)`, c.Team).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return domain.FieldErrors{{Field: "team", Detail: fmt.Sprintf("team %q is not in the directory; import it first", c.Team)}}
	}
	var policy *string
	if c.SLAPolicy != "" {
		if err := s.Pool.QueryRow(ctx, `select exists(select 1 from sla_policies where name = $1)`, c.SLAPolicy).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return domain.FieldErrors{{Field: "sla_policy", Detail: fmt.Sprintf("policy %q is not imported; run `starter policy import` first", c.SLAPolicy)}}
		}
		policy = &c.SLAPolicy
	}
	w := time.Duration(c.AcceptWithin)
	if w == 0 {
		w = defaultWindow
	}
	spec, _ := json.Marshal(c)
	_, err := s.Pool.Exec(ctx, `
		insert into campaigns (id, name, owner_name, owner_email, team_id, status, min_score, accept_window_seconds, spec, policy_name)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		on conflict (id) do update set name = excluded.name, owner_name = excluded.owner_name,
			owner_email = excluded.owner_email, team_id = excluded.team_id, status = excluded.status,
			min_score = excluded.min_score, accept_window_seconds = excluded.accept_window_seconds,
			spec = excluded.spec, policy_name = excluded.policy_name, updated_at = now()`,
		c.ID, c.Name, c.Owner.Name, c.Owner.Email, c.Team, status, c.MinScore, int(w.Round(time.Second)/time.Second), spec, policy)
	if err != nil {
		return fmt.Errorf("save campaign %s: %w", c.ID, err)
	}
	return nil
}

// Campaign loads what a lead workflow needs of a campaign.
func (s *Store) Campaign(ctx context.Context, id string) (domain.CampaignInfo, error) {
	var c domain.CampaignInfo
	var secs int
	var spec domain.Campaign
	err := s.Pool.QueryRow(ctx, `
		select c.id, c.name, c.owner_name, c.owner_email, c.team_id, c.status, c.min_score, c.accept_window_seconds, p.spec, c.spec,
			coalesce(l.id, ''), coalesce(l.name, ''), coalesce(l.email, ''), coalesce(l.time_zone, '')
		from campaigns c left join sla_policies p on p.name = c.policy_name
		left join lateral (select id, name, email, time_zone from people where role = 'sales_leader' and active order by id limit 1) l on true
		where c.id = $1`, id).
		Scan(&c.ID, &c.Name, &c.Owner.Name, &c.Owner.Email, &c.TeamID, &c.Status, &c.MinScore, &secs, &c.Policy, &spec,
			&c.SalesLeader.ID, &c.SalesLeader.Name, &c.SalesLeader.Email, &c.SalesLeader.TimeZone)
	if err != nil {
		return c, notFound(err, "campaign "+id)
	}
	c.AcceptWindow = time.Duration(secs) * time.Second
	c.RequiredFields, c.Collateral = spec.RequiredFields, spec.Collateral
	return c, nil
}

// CampaignRow is a campaign as listed.
type CampaignRow struct {
	ID, Name, Status, TeamID string
	AcceptWindow             time.Duration
}

// Campaigns lists every campaign.
func (s *Store) Campaigns(ctx context.Context) ([]CampaignRow, error) {
	rows, _ := s.Pool.Query(ctx, `select id, name, status, team_id, accept_window_seconds from campaigns order by id`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignRow, error) {
		var c CampaignRow
		var secs int
		err := r.Scan(&c.ID, &c.Name, &c.Status, &c.TeamID, &secs)
		c.AcceptWindow = time.Duration(secs) * time.Second
		return c, err
	})
}

// Person looks one person up by id.
func (s *Store) Person(ctx context.Context, id string) (domain.PersonRef, error) {
	var p domain.PersonRef
	err := s.Pool.QueryRow(ctx, `select id, name, email, time_zone from people where id = $1`, id).Scan(&p.ID, &p.Name, &p.Email, &p.TimeZone)
	return p, notFound(err, "person "+id)
}

// AssignTo records a manager's choice of rep for one attempt. It is
// idempotent like Assign and does not move the rotation: a hand-picked
// assignment is not anybody's turn. The pick must be an active rep of the
// team, or its manager (when a policy routes to the manager).
func (s *Store) AssignTo(ctx context.Context, leadID string, attempt int, teamID, repID string) (domain.Assignment, error) {
	a := domain.Assignment{LeadID: leadID, Attempt: attempt, TeamID: teamID}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `select exists(select 1 from people p where p.id = $1 and p.team_id = $2 and p.active
			and (p.role = 'rep' or p.id = (select manager_id from teams where id = $2)))`,
			repID, teamID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is not an active rep of team %s: %w", repID, teamID, errNotFound)
		}
		if _, err := tx.Exec(ctx, `insert into assignments (lead_id, attempt, rep_id, team_id) values ($1, $2, $3, $4)
			on conflict (lead_id, attempt) do nothing`, leadID, attempt, repID, teamID); err != nil {
			return err
		}
		var got string
		if err := tx.QueryRow(ctx, `select rep_id from assignments where lead_id = $1 and attempt = $2`, leadID, attempt).Scan(&got); err != nil {
			return err
		}
		return loadAssignee(ctx, tx, got, teamID, &a)
	})
	return a, err
}

// TeamManager returns a team's manager.
func (s *Store) TeamManager(ctx context.Context, teamID string) (domain.PersonRef, error) {
	var p domain.PersonRef
	err := s.Pool.QueryRow(ctx, `select m.id, m.name, m.email, m.time_zone from teams t join people m on m.id = t.manager_id where t.id = $1`,
		teamID).Scan(&p.ID, &p.Name, &p.Email, &p.TimeZone)
	return p, notFound(err, "manager of team "+teamID)
}

// SetAway records an out-of-office period for a person (idempotent by start).
func (s *Store) SetAway(ctx context.Context, personID string, from, until time.Time, reason string) error {
	tag, err := s.Pool.Exec(ctx, `insert into out_of_office (person_id, starts_at, ends_at, reason)
		select id, $2, $3, $4 from people where id = $1
		on conflict (person_id, starts_at) do update set ends_at = excluded.ends_at, reason = excluded.reason`,
		personID, from, until, reason)
	if err != nil {
		return fmt.Errorf("set %s away: %w", personID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("person %s: %w", personID, errNotFound)
	}
	return nil
}

// loadAssignee fills in the rep of an assignment and the team's manager.
func loadAssignee(ctx context.Context, tx pgx.Tx, repID, teamID string, a *domain.Assignment) error {
	a.TeamID = teamID
	return scanAssignee(tx.QueryRow(ctx, assigneeSQL, repID, teamID), a)
}

// assigneeSQL reads a rep ($1) and the manager of a team ($2).
const assigneeSQL = `
	select r.id, r.name, r.email, r.time_zone, coalesce(m.id, ''), coalesce(m.name, ''), coalesce(m.email, ''), coalesce(m.time_zone, '')
	from people r join teams t on t.id = $2 left join people m on m.id = t.manager_id
	where r.id = $1`

func scanAssignee(row pgx.Row, a *domain.Assignment) error {
	return row.Scan(&a.Rep.ID, &a.Rep.Name, &a.Rep.Email, &a.Rep.TimeZone, &a.Manager.ID, &a.Manager.Name, &a.Manager.Email, &a.Manager.TimeZone)
}
