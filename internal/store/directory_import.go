package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Change is what an import did (or, on a dry run, would do) to one entry.
type Change struct {
	Kind   string   // "team", "person" or "territories"
	ID     string   // team or person id
	Role   string   // a person's role
	Team   string   // a person's team
	What   string   // "added", "changed", "unchanged" or "deactivated"
	Fields []string // what changed
}

// ImportDirectory upserts teams and people in one transaction. On a dry run
// the transaction is rolled back, so the result says what would change.
func (s *Store) ImportDirectory(ctx context.Context, d domain.Directory, dryRun bool) (ImportResult, error) {
	res, _, err := s.ImportDirectoryChanges(ctx, d, dryRun)
	return res, err
}

type personRow struct {
	email, name, tz, role string
	team                  *string
	active                bool
	weight, cap           int
	hours                 map[string][]string
	away                  []domain.Period
	slack                 domain.SlackPref
}

// ImportDirectoryChanges is ImportDirectory with the change of every entry.
// Reps of a team in the file who are no longer listed are deactivated (teams
// the file leaves out are untouched); out-of-office
// periods in the file are upserted (others, e.g. set through a rep's link,
// stay); a territories section replaces the rules, its absence keeps them.
func (s *Store) ImportDirectoryChanges(ctx context.Context, d domain.Directory, dryRun bool) (ImportResult, []Change, error) {
	var res ImportResult
	var changes []Change
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return res, nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// Serialize imports: the comparison below must see what it overwrites.
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(4242001)`); err != nil {
		return res, nil, err
	}
	prev := map[string]personRow{}
	rows, _ := tx.Query(ctx, `select id, email, name, time_zone, role, team_id, active, weight, cap, working_hours,
		coalesce((select jsonb_agg(jsonb_build_object('from', o.starts_at, 'until', o.ends_at, 'reason', o.reason) order by o.starts_at)
			from out_of_office o where o.person_id = p.id), '[]'), slack_user_id, slack_off, slack_kinds
		from people p`)
	var id string
	var pr personRow
	if _, err := pgx.ForEachRow(rows, []any{&id, &pr.email, &pr.name, &pr.tz, &pr.role, &pr.team, &pr.active, &pr.weight, &pr.cap, &pr.hours, &pr.away,
		&pr.slack.ID, &pr.slack.Off, &pr.slack.Kinds},
		func() error { prev[id] = pr; pr = personRow{}; return nil }); err != nil {
		return res, nil, fmt.Errorf("read directory: %w", err)
	}
	add := func(c Change) {
		changes = append(changes, c)
		switch c.What {
		case "added":
			res.Created++
		case "unchanged":
			res.Unchanged++
		case "deactivated":
			res.Updated++
			res.Deactivated++
		default:
			res.Updated++
		}
	}
	seen := map[string]bool{}
	upsertPerson := func(p domain.Person, role, team string) error {
		seen[p.ID] = true
		var teamID *string
		if team != "" {
			teamID = &team
		}
		var hours any
		if len(p.WorkingHours) > 0 {
			hours = p.WorkingHours
		}
		c := Change{Kind: "person", ID: p.ID, Role: role, Team: team, What: "unchanged"}
		old, exists := prev[p.ID]
		if !exists {
			c.What = "added"
		} else {
			diff := func(field string, changed bool) {
				if changed {
					c.Fields = append(c.Fields, field)
				}
			}
			diff("email", old.email != p.Email)
			diff("name", old.name != p.Name)
			diff("time_zone", old.tz != p.TimeZone)
			diff("role", old.role != role)
			diff("team", (old.team == nil) != (teamID == nil) || old.team != nil && *old.team != team)
			diff("active", old.active != p.IsActive())
			diff("weight", old.weight != p.EffectiveWeight())
			diff("cap", old.cap != p.Cap)
			diff("working_hours", !maps.EqualFunc(old.hours, p.WorkingHours, slices.Equal))
			if sp := p.Slack; sp != nil { // absent: what Baton learned stays
				diff("slack", old.slack.ID != sp.ID || old.slack.Off != sp.Off || !slices.Equal(old.slack.Kinds, sp.Kinds) && len(old.slack.Kinds)+len(sp.Kinds) > 0)
			}
			for _, a := range p.Away {
				if !slices.ContainsFunc(old.away, func(o domain.Period) bool {
					return o.From.Equal(a.From) && o.Until.Equal(a.Until) && o.Reason == a.Reason
				}) {
					c.Fields = append(c.Fields, "away")
					break
				}
			}
			switch {
			case old.active && !p.IsActive():
				c.What = "deactivated"
			case len(c.Fields) > 0:
				c.What = "changed"
			}
		}
		add(c)
		if c.What == "unchanged" {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			insert into people (id, email, name, time_zone, role, team_id, active, weight, cap, working_hours)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			on conflict (id) do update set email = excluded.email, name = excluded.name,
				time_zone = excluded.time_zone, role = excluded.role, team_id = excluded.team_id,
				active = excluded.active, weight = excluded.weight, cap = excluded.cap,
				working_hours = excluded.working_hours, updated_at = now()`,
			p.ID, p.Email, p.Name, p.TimeZone, role, teamID, p.IsActive(), p.EffectiveWeight(), p.Cap, hours); err != nil {
			return fmt.Errorf("person %s: %w", p.ID, err)
		}
		if sp := p.Slack; sp != nil {
			kinds := sp.Kinds
			if kinds == nil {
				kinds = []string{}
			}
			if _, err := tx.Exec(ctx, `update people set slack_user_id = $2, slack_off = $3, slack_kinds = $4 where id = $1`,
				p.ID, sp.ID, sp.Off, kinds); err != nil {
				return fmt.Errorf("person %s: slack: %w", p.ID, err)
			}
		}
		for _, a := range p.Away {
			if _, err := tx.Exec(ctx, `insert into out_of_office (person_id, starts_at, ends_at, reason) values ($1, $2, $3, $4)
				on conflict (person_id, starts_at) do update set ends_at = excluded.ends_at, reason = excluded.reason`,
				p.ID, a.From, a.Until, a.Reason); err != nil {
				return fmt.Errorf("person %s: away: %w", p.ID, err)
			}
		}
		return nil
	}
	for _, t := range d.Teams {
		var tag string
		err := tx.QueryRow(ctx, `
			with prev as (select 1 from teams where id = $1),
			up as (
				insert into teams (id, name, manager_id) values ($1, $2, $3)
				on conflict (id) do update set name = excluded.name, manager_id = excluded.manager_id, updated_at = now()
				where (teams.name, teams.manager_id) is distinct from (excluded.name, excluded.manager_id)
				returning 1)
			select case when not exists (select 1 from prev) then 'added'
			            when exists (select 1 from up) then 'changed' else 'unchanged' end`,
			t.ID, t.Name, t.Manager.ID).Scan(&tag)
		if err != nil {
			return res, nil, fmt.Errorf("team %s: %w", t.ID, err)
		}
		add(Change{Kind: "team", ID: t.ID, What: tag})
		if _, err := tx.Exec(ctx, `insert into team_rotation (team_id) values ($1) on conflict do nothing`, t.ID); err != nil {
			return res, nil, err
		}
		if err := upsertPerson(t.Manager, "manager", t.ID); err != nil {
			return res, nil, err
		}
		for _, r := range t.Reps {
			if err := upsertPerson(r, "rep", t.ID); err != nil {
				return res, nil, err
			}
		}
	}
	if err := upsertPerson(d.SalesLeader, "sales_leader", ""); err != nil {
		return res, nil, err
	}
	if d.MarketingLeader.ID != "" {
		if err := upsertPerson(d.MarketingLeader, "marketing_leader", ""); err != nil {
			return res, nil, err
		}
	}
	// A rep no longer in their team in the file gets no new leads. Teams the
	// file does not list are left alone, so a file may carry some teams only.
	inFile := map[string]bool{}
	for _, t := range d.Teams {
		inFile[t.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(prev)) {
		old := prev[id]
		if seen[id] || old.role != "rep" || !old.active || old.team == nil || !inFile[*old.team] {
			continue
		}
		team := ""
		if old.team != nil {
			team = *old.team
		}
		add(Change{Kind: "person", ID: id, Role: "rep", Team: team, What: "deactivated", Fields: []string{"not in the file"}})
		if _, err := tx.Exec(ctx, `update people set active = false, updated_at = now() where id = $1`, id); err != nil {
			return res, nil, fmt.Errorf("deactivate %s: %w", id, err)
		}
	}
	if d.Territories != nil {
		changed, err := saveTerritories(ctx, tx, *d.Territories)
		if err != nil {
			return res, nil, err
		}
		what := "unchanged"
		if changed {
			what = "changed"
		}
		changes = append(changes, Change{Kind: "territories", ID: fmt.Sprintf("%d rules", len(d.Territories.Rules)), What: what})
	}
	if dryRun {
		return res, changes, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return res, nil, err
	}
	return res, changes, nil
}

// ExportDirectory reads the directory back in the form ImportDirectory takes:
// importing the export changes nothing. Periods that have ended are left out.
func (s *Store) ExportDirectory(ctx context.Context, now time.Time) (domain.Directory, error) {
	var d domain.Directory
	rows, _ := s.Pool.Query(ctx, `select p.id, p.name, p.email, p.time_zone, p.active, p.weight, p.cap, p.working_hours, p.role,
		coalesce(p.team_id, ''), coalesce(t.name, ''), coalesce(t.manager_id, ''),
		coalesce((select jsonb_agg(jsonb_build_object('from', o.starts_at, 'until', o.ends_at, 'reason', o.reason) order by o.starts_at)
			from out_of_office o where o.person_id = p.id and o.ends_at > $1), '[]'), p.slack_user_id, p.slack_off, p.slack_kinds
		from people p left join teams t on t.id = p.team_id
		where p.role in ('rep', 'manager', 'sales_leader', 'marketing_leader')
		order by p.team_id nulls first, p.role desc, p.id`, now)
	teams := map[string]int{}
	var p domain.Person
	var active bool
	var role, team, teamName, manager string
	var sp domain.SlackPref
	_, err := pgx.ForEachRow(rows, []any{&p.ID, &p.Name, &p.Email, &p.TimeZone, &active, &p.Weight, &p.Cap, &p.WorkingHours, &role,
		&team, &teamName, &manager, &p.Away, &sp.ID, &sp.Off, &sp.Kinds}, func() error {
		if sp.ID != "" || sp.Off || len(sp.Kinds) > 0 {
			if len(sp.Kinds) == 0 {
				sp.Kinds = nil
			}
			v := sp
			p.Slack = &v
		}
		sp = domain.SlackPref{}
		if !active {
			f := false
			p.Active = &f
		}
		if p.Weight == 1 {
			p.Weight = 0 // the default, left out
		}
		for i := range p.Away {
			p.Away[i].From, p.Away[i].Until = p.Away[i].From.UTC(), p.Away[i].Until.UTC()
		}
		switch role {
		case "sales_leader":
			d.SalesLeader = p
		case "marketing_leader":
			d.MarketingLeader = p
		default:
			i, ok := teams[team]
			if !ok {
				i = len(d.Teams)
				teams[team] = i
				d.Teams = append(d.Teams, domain.Team{ID: team, Name: teamName})
			}
			if role == "manager" && p.ID == manager {
				d.Teams[i].Manager = p
			} else if role == "rep" {
				d.Teams[i].Reps = append(d.Teams[i].Reps, p)
			}
		}
		p = domain.Person{}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("export directory: %w", err)
	}
	t, err := s.Territories(ctx)
	if err != nil {
		return d, err
	}
	if t.DefaultTeam != "" || len(t.Rules) > 0 {
		d.Territories = &t
	}
	return d, nil
}
