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
	"github.com/jackc/pgx/v5/pgconn"
)

// querierExec is a querier that also executes statements.
type querierExec interface {
	querier
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// querier is what a pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// heldStates are the lead states in which an assignment holds a rep's capacity.
var heldStates = []string{string(domain.StateOffered), string(domain.StateEscalated), string(domain.StateAccepted), string(domain.StateContacted)}

// Why is a routing decision as stored with its assignment.
type Why struct {
	Rule     string           `json:"rule"`
	Team     string           `json:"team"`
	Eligible []string         `json:"eligible"`
	Skipped  []domain.Skipped `json:"skipped,omitempty"`
	At       time.Time        `json:"at"`
}

// Territories loads the territory rules and the default team.
func (s *Store) Territories(ctx context.Context) (domain.Territories, error) {
	return loadTerritories(ctx, s.Pool)
}

func loadTerritories(ctx context.Context, q querier) (domain.Territories, error) {
	var t domain.Territories
	err := q.QueryRow(ctx, `select coalesce((select default_team from routing_settings), '')`).Scan(&t.DefaultTeam)
	if err != nil {
		return t, fmt.Errorf("load territories: %w", err)
	}
	rows, _ := q.Query(ctx, `select name, team_id, match from territory_rules order by position`)
	t.Rules, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.TerritoryRule, error) {
		var tr domain.TerritoryRule
		var m map[string][]string
		err := r.Scan(&tr.Name, &tr.Team, &m)
		tr.Country, tr.Region, tr.Industry, tr.CompanySize, tr.Campaign = m["country"], m["region"], m["industry"], m["company_size"], m["campaign"]
		return tr, err
	})
	if err != nil {
		return t, fmt.Errorf("load territories: %w", err)
	}
	return t, nil
}

func ruleMatch(r domain.TerritoryRule) map[string][]string {
	m := map[string][]string{}
	for k, v := range map[string][]string{"country": r.Country, "region": r.Region, "industry": r.Industry,
		"company_size": r.CompanySize, "campaign": r.Campaign} {
		if len(v) > 0 {
			m[k] = v
		}
	}
	return m
}

// saveTerritories replaces the rules; it reports whether anything changed.
func saveTerritories(ctx context.Context, tx pgx.Tx, t domain.Territories) (bool, error) {
	prev, err := loadTerritories(ctx, tx)
	if err != nil {
		return false, err
	}
	a, _ := json.Marshal(prev)
	b, _ := json.Marshal(t)
	if string(a) == string(b) {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `delete from territory_rules`); err != nil {
		return false, err
	}
	for i, r := range t.Rules {
		if _, err := tx.Exec(ctx, `insert into territory_rules (position, name, team_id, match) values ($1, $2, $3, $4)`,
			i+1, r.Name, r.Team, ruleMatch(r)); err != nil {
			return false, fmt.Errorf("territory rule %s: %w", r.Name, err)
		}
	}
	_, err = tx.Exec(ctx, `insert into routing_settings (id, default_team) values (true, $1)
		on conflict (id) do update set default_team = excluded.default_team`, nullStr(t.DefaultTeam))
	return true, err
}

// leadFields reads a lead's routing fields and its campaign's team.
func leadFields(ctx context.Context, q querier, leadID string) (domain.LeadFields, string, error) {
	var f domain.LeadFields
	var team string
	err := q.QueryRow(ctx, `select l.country, l.region, l.industry, l.company_size, l.campaign_id, c.team_id
		from leads l join campaigns c on c.id = l.campaign_id where l.id = $1`, leadID).
		Scan(&f.Country, &f.Region, &f.Industry, &f.CompanySize, &f.Campaign, &team)
	return f, team, notFound(err, "lead "+leadID)
}

// teamRepsSQL reads every rep of a team ($1) with what routing looks at, as of
// $2. Open leads are counted only for reps with a cap (at most cap rows each):
// nothing else needs them, and an uncapped rep may hold thousands.
const teamRepsSQL = `
	select p.id, p.weight, p.cap, p.active, p.time_zone, p.working_hours, coalesce(r.credit, 0),
		case when p.cap > 0 then (select count(*) from assignments a where a.rep_id = p.id and a.released_at is null) else 0 end,
		coalesce((select jsonb_agg(jsonb_build_object('from', o.starts_at, 'until', o.ends_at, 'reason', o.reason) order by o.starts_at)
			from out_of_office o where o.person_id = p.id and o.ends_at > $2), '[]')
	from people p left join rep_rotation r on r.rep_id = p.id
	where p.team_id = $1 and p.role = 'rep' order by p.id`

func scanRep(r pgx.CollectableRow) (domain.RepState, error) {
	var rs domain.RepState
	var tz string
	var hours map[string][]string
	err := r.Scan(&rs.ID, &rs.Weight, &rs.Cap, &rs.Active, &tz, &hours, &rs.Credit, &rs.Open, &rs.Away)
	if err != nil {
		return rs, err
	}
	if len(hours) > 0 {
		// Validated on import; a bad stored calendar means always on shift.
		rs.Hours, _ = domain.Person{TimeZone: tz, WorkingHours: hours}.Hours()
	}
	return rs, nil
}

// teamReps reads every rep of a team with what routing looks at.
func teamReps(ctx context.Context, q querier, teamID string, now time.Time) ([]domain.RepState, error) {
	rows, _ := q.Query(ctx, teamRepsSQL, teamID, now)
	return pgx.CollectRows(rows, scanRep)
}

// Assign picks the rep for one attempt at a lead: the territory rules pick
// the team (teamID, the campaign's, when no rule matches and there is no
// default team), then weighted round robin within it. It is atomic: the
// team's rotation row is locked, the assignment written and every pass moved
// in one transaction. A retry with the same (lead, attempt) returns the same
// rep and counts once. Earlier attempts of the lead release their capacity.
// It returns domain.ErrNotFound wrapped when nobody is eligible.
func (s *Store) Assign(ctx context.Context, leadID string, attempt int, teamID string, exclude []string) (domain.Assignment, error) {
	a := domain.Assignment{LeadID: leadID, Attempt: attempt}
	var nobody error
	var waited []domain.Skipped
	var waitedAt time.Time
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One round trip: a recorded assignment, the territory rules and
		// the lead's fields.
		var prevRep, prevTeam *string
		var t domain.Territories
		var f *domain.LeadFields
		err := tx.QueryRow(ctx, `select a.rep_id, a.team_id,
				coalesce((select default_team from routing_settings), ''),
				coalesce((select jsonb_agg(jsonb_build_object('name', name, 'team', team_id) || match order by position) from territory_rules), '[]'),
				(select jsonb_build_object('country', country, 'region', region, 'industry', industry,
					'company_size', company_size, 'campaign', campaign_id) from leads where id = $1)
			from (select 1) one left join assignments a on a.lead_id = $1 and a.attempt = $2`, leadID, attempt).
			Scan(&prevRep, &prevTeam, &t.DefaultTeam, &t.Rules, &f)
		if err != nil {
			return fmt.Errorf("assign %s attempt %d: %w", leadID, attempt, err)
		}
		if prevRep != nil { // a retry: the recorded rep
			return loadAssignee(ctx, tx, *prevRep, *prevTeam, &a)
		}
		match := domain.TerritoryMatch{Team: teamID, Rule: "campaign team"}
		switch {
		case len(t.Rules) == 0 && t.DefaultTeam == "":
		case f == nil:
			match.Rule = "campaign team (lead not recorded)"
		default:
			match = t.Route(*f, teamID)
		}
		team := match.Team
		var locked bool
		if err := tx.QueryRow(ctx, `select true from team_rotation where team_id = $1 for update`, team).Scan(&locked); err != nil {
			return notFound(err, "team "+team)
		}
		// A concurrent call for the same (lead, attempt) may have
		// committed while this one waited for the rotation lock. This
		// new statement sees its row (read committed), so the retry
		// returns that rep instead of failing on the primary key.
		// Under the lock, statements go in batches: one round trip each.
		now := time.Now()
		b := &pgx.Batch{}
		b.Queue(`select rep_id, team_id from assignments where lead_id = $1 and attempt = $2`, leadID, attempt)
		b.Queue(`update assignments set released_at = now() where lead_id = $1 and attempt < $2 and released_at is null`, leadID, attempt)
		b.Queue(teamRepsSQL, team, now)
		br := tx.SendBatch(ctx, b)
		var repID string
		err = br.QueryRow().Scan(&repID, &team)
		if err == nil {
			br.Close()
			return loadAssignee(ctx, tx, repID, team, &a)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			br.Close()
			return err
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		rows, _ := br.Query()
		reps, err := pgx.CollectRows(rows, scanRep)
		if err := errors.Join(err, br.Close()); err != nil {
			return err
		}
		had := map[string]bool{}
		for _, id := range exclude {
			had[id] = true
		}
		c := domain.ChooseRep(now, reps, had)
		if c.Rep == "" {
			// The lead waits: why each rep could not take it is kept (the
			// scoreboard's causes), and the answer is "nobody".
			// Nothing of this transaction stays (the last holder keeps the
			// lead and its capacity); the skips are written after it.
			nobody = fmt.Errorf("no eligible rep in team %s (%s): %w", team, skippedSummary(c.Skipped, len(reps)), errNotFound)
			waited, waitedAt = c.Skipped, now
			return nobody
		}
		if err := recordSkips(ctx, tx, leadID, attempt, c.Skipped, false, now); err != nil {
			return err
		}
		repID = c.Rep
		why := Why{Rule: match.Rule, Team: team, Skipped: c.Skipped, At: now.UTC()}
		for _, e := range c.Eligible {
			why.Eligible = append(why.Eligible, e.ID)
		}
		ids, credits := make([]string, 0, len(c.Credits)), make([]int64, 0, len(c.Credits))
		for id, v := range c.Credits {
			ids, credits = append(ids, id), append(credits, v)
		}
		b = &pgx.Batch{}
		b.Queue(`insert into assignments (lead_id, attempt, rep_id, team_id, why) values ($1, $2, $3, $4, $5)`,
			leadID, attempt, repID, team, why)
		b.Queue(`insert into rep_rotation (rep_id, credit) select * from unnest($1::text[], $2::bigint[])
			on conflict (rep_id) do update set credit = excluded.credit, updated_at = now()`, ids, credits)
		b.Queue(`update team_rotation set last_rep_id = $2, updated_at = now() where team_id = $1`, team, repID)
		b.Queue(assigneeSQL, repID, team)
		br = tx.SendBatch(ctx, b)
		for range 3 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		a.TeamID = team
		err = scanAssignee(br.QueryRow(), &a)
		return errors.Join(err, br.Close())
	})
	if nobody != nil && errors.Is(err, nobody) {
		if serr := s.inTx(ctx, func(tx pgx.Tx) error {
			return recordSkips(ctx, tx, leadID, attempt, waited, true, waitedAt)
		}); serr != nil {
			return a, errors.Join(err, serr)
		}
	}
	return a, err
}

// recordSkips keeps why routing passed reps over for a lead's attempt, once
// per rep (domain.MissCauses counts them): off shift, at cap, away. waited
// says nobody could take the lead.
func recordSkips(ctx context.Context, tx querierExec, leadID string, attempt int, sk []domain.Skipped, waited bool, now time.Time) error {
	var reps, reasons []string
	for _, x := range sk {
		if domain.IsCause(x.Reason) {
			reps, reasons = append(reps, x.ID), append(reasons, x.Reason)
		}
	}
	if len(reps) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `insert into routing_skips (lead_id, attempt, rep_id, reason, waited, at)
		select $1, $2, r, why, $5, $6 from unnest($3::text[], $4::text[]) as u(r, why)
		on conflict (lead_id, attempt, rep_id) do nothing`, leadID, attempt, reps, reasons, waited, now)
	if err != nil {
		return fmt.Errorf("record routing skips of %s attempt %d: %w", leadID, attempt, err)
	}
	return nil
}

func skippedSummary(sk []domain.Skipped, total int) string {
	if total == 0 {
		return "the team has no reps"
	}
	parts := make([]string, len(sk))
	for i, s := range sk {
		parts[i] = s.ID + ": " + s.Reason
	}
	return strings.Join(parts, ", ")
}

// recordRouting stores the snapshot's routing fields (only from a snapshot at
// least as new as the stored one) and releases finished assignments.
func recordRouting(ctx context.Context, tx pgx.Tx, l domain.LeadSnapshot) error {
	if l.State != domain.StateErased && (l.Region != "" || l.Industry != "" || l.CompanySize != "") {
		if _, err := tx.Exec(ctx, `update leads set region = $2, industry = $3, company_size = $4
			where id = $1 and version <= $5 and (region, industry, company_size) is distinct from ($2, $3, $4)`,
			l.ID, l.Region, l.Industry, l.CompanySize, l.Version); err != nil {
			return fmt.Errorf("record routing fields of lead %s: %w", l.ID, err)
		}
	}
	return releaseFinished(ctx, tx, l.ID)
}

// releaseFinishedSQL runs on every lead snapshot write: it must find the
// lead's open assignments through assignments_open_lead (migration 012), in
// time independent of how many leads are open.
const releaseFinishedSQL = `update assignments a set released_at = now()
		from leads l where l.id = $1 and a.lead_id = l.id and a.released_at is null
		and (a.attempt < l.attempt or l.state <> all($2))`

// releaseFinished frees the capacity a lead's assignments hold once the lead
// has moved to a later attempt or left the held states (closed, recycled,
// erased). It reads the stored row, so a stale snapshot changes nothing, and
// it is idempotent.
func releaseFinished(ctx context.Context, tx pgx.Tx, leadID string) error {
	_, err := tx.Exec(ctx, releaseFinishedSQL, leadID, heldStates)
	if err != nil {
		return fmt.Errorf("release capacity of lead %s: %w", leadID, err)
	}
	return nil
}

// OpenAssignments counts each rep's open (capacity-holding) assignments.
func (s *Store) OpenAssignments(ctx context.Context) (map[string]int, error) {
	rows, _ := s.Pool.Query(ctx, `select rep_id, count(*) from assignments where released_at is null group by rep_id`)
	m := map[string]int{}
	var id string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { m[id] = n; return nil })
	return m, err
}

// Explanation is what `starter route explain` prints: the lead's fields, the
// territory match, and the choice routing would make now, with the choices
// it made before.
type Explanation struct {
	LeadID   string
	Fields   domain.LeadFields
	Match    domain.TerritoryMatch
	Reps     []domain.RepState
	Choice   domain.Choice
	Now      time.Time
	History  []AssignmentRow
	Excluded []string // reps who already had the lead
}

// AssignmentRow is one past assignment of a lead.
type AssignmentRow struct {
	Attempt  int       `json:"attempt"`
	RepID    string    `json:"rep"`
	TeamID   string    `json:"team"`
	At       time.Time `json:"at"`
	Released bool      `json:"released"`
	Why      *Why      `json:"why,omitempty"` // nil: a manager's pick
}

// ExplainRoute computes, without writing, where a lead would go now. With a
// lead id or email it reads the lead's fields and history; otherwise it uses
// the fields given (Campaign picks the campaign's team as the fallback).
func (s *Store) ExplainRoute(ctx context.Context, lead string, f domain.LeadFields, now time.Time) (Explanation, error) {
	e := Explanation{Fields: f, Now: now}
	campaignTeam := ""
	if lead != "" {
		id := lead
		if strings.Contains(lead, "@") {
			if em, err := domain.NormalizeEmail(lead); err == nil {
				lead = em
			}
			if err := s.Pool.QueryRow(ctx, `select id from leads where email = $1`, lead).Scan(&id); err != nil {
				return e, notFound(err, "lead "+lead)
			}
		}
		e.LeadID = id
		var err error
		if e.Fields, campaignTeam, err = leadFields(ctx, s.Pool, id); err != nil {
			return e, err
		}
		rows, _ := s.Pool.Query(ctx, `select attempt, rep_id, team_id, assigned_at, released_at is not null, why
			from assignments where lead_id = $1 order by attempt`, id)
		e.History, err = pgx.CollectRows(rows, pgx.RowToStructByPos[AssignmentRow])
		if err != nil {
			return e, fmt.Errorf("assignments of %s: %w", id, err)
		}
		for _, h := range e.History {
			e.Excluded = append(e.Excluded, h.RepID)
		}
	} else if f.Campaign != "" {
		if err := s.Pool.QueryRow(ctx, `select team_id from campaigns where id = $1`, f.Campaign).Scan(&campaignTeam); err != nil {
			return e, notFound(err, "campaign "+f.Campaign)
		}
	}
	t, err := s.Territories(ctx)
	if err != nil {
		return e, err
	}
	e.Match = t.Route(e.Fields, campaignTeam)
	if e.Match.Team == "" {
		return e, fmt.Errorf("no territory rule matches and there is no default team; give --campaign: %w", errNotFound)
	}
	var ok bool
	if err := s.Pool.QueryRow(ctx, `select true from team_rotation where team_id = $1`, e.Match.Team).Scan(&ok); err != nil {
		return e, notFound(err, "team "+e.Match.Team)
	}
	if e.Reps, err = teamReps(ctx, s.Pool, e.Match.Team, now); err != nil {
		return e, err
	}
	open, err := s.OpenAssignments(ctx) // uncapped reps' counts too, for the reader
	if err != nil {
		return e, err
	}
	for i := range e.Reps {
		e.Reps[i].Open = open[e.Reps[i].ID]
	}
	had := map[string]bool{}
	for _, id := range e.Excluded {
		had[id] = true
	}
	e.Choice = domain.ChooseRep(now, e.Reps, had)
	return e, nil
}

// MayActFor reports whether actor may set rep's out-of-office: the rep, the
// manager of the rep's team, or the sales leader.
func (s *Store) MayActFor(ctx context.Context, actor, rep string) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `select exists(select 1 from people r where r.id = $2 and r.role = 'rep' and (
		r.id = $1
		or exists (select 1 from teams t join people m on m.id = t.manager_id where t.id = r.team_id and m.id = $1 and m.active)
		or exists (select 1 from people l where l.id = $1 and l.role = 'sales_leader' and l.active)))`, actor, rep).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("may %s act for %s: %w", actor, rep, err)
	}
	return ok, nil
}

// AwayPeriods lists a person's out-of-office periods that have not ended.
func (s *Store) AwayPeriods(ctx context.Context, personID string, now time.Time) ([]domain.Period, error) {
	rows, _ := s.Pool.Query(ctx, `select starts_at, ends_at, reason from out_of_office
		where person_id = $1 and ends_at > $2 order by starts_at`, personID, now)
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[domain.Period])
	if err != nil {
		return nil, fmt.Errorf("away periods of %s: %w", personID, err)
	}
	return ps, nil
}

// AwayStart is an out-of-office period whose rep's held leads are to be told.
type AwayStart struct {
	PersonID    string
	From, Until time.Time
	Reason      string
}

// ClaimBegunAway claims up to limit periods that have begun, have not ended
// and whose held leads were not told yet. A claim is atomic (two workers never
// claim the same period); UnclaimAway gives one back after a failure.
func (s *Store) ClaimBegunAway(ctx context.Context, now time.Time, limit int) ([]AwayStart, error) {
	rows, _ := s.Pool.Query(ctx, `update out_of_office o set announced_at = now()
		from (select person_id, starts_at from out_of_office
			where announced_at is null and starts_at <= $1 and ends_at > $1
			order by starts_at limit $2 for update skip locked) c
		where o.person_id = c.person_id and o.starts_at = c.starts_at
		returning o.person_id, o.starts_at, o.ends_at, o.reason`, now, limit)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AwayStart])
	if err != nil {
		return nil, fmt.Errorf("claim begun away periods: %w", err)
	}
	return out, nil
}

// UnclaimAway marks a period as not told, so the next sweep tries again.
func (s *Store) UnclaimAway(ctx context.Context, personID string, from time.Time) error {
	_, err := s.Pool.Exec(ctx, `update out_of_office set announced_at = null where person_id = $1 and starts_at = $2`, personID, from)
	return err
}

// MarkAwayAnnounced records that a period's held leads were told.
func (s *Store) MarkAwayAnnounced(ctx context.Context, personID string, from time.Time) error {
	_, err := s.Pool.Exec(ctx, `update out_of_office set announced_at = now() where person_id = $1 and starts_at = $2 and announced_at is null`, personID, from)
	return err
}
