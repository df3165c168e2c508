package store

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/batonhq/baton/internal/domain"
	"time"

	"github.com/jackc/pgx/v5"
)

// The queries behind the pages: a viewer's open leads, the SLA record of reps
// and campaigns, and breaches over time. Every one takes the viewer and limits
// its rows to what the viewer may see.

// InboxLead is an open lead as listed in an inbox.
type InboxLead struct {
	ID, Name, Email, Company string
	CampaignID, CampaignName string
	State                    string
	OwnerID, OwnerName       string
	Attempt                  int
	OfferedAt, AcceptBy      *time.Time
	AcceptedAt, ContactBy    *time.Time
	ContactedAt              *time.Time
}

// Deadline is the clock the lead waits on now: acceptance while offered,
// first contact once accepted; nil when none runs.
func (l InboxLead) Deadline() *time.Time {
	switch l.State {
	case "Offered", "Escalated":
		return l.AcceptBy
	case "Accepted":
		if l.ContactedAt == nil {
			return l.ContactBy
		}
	}
	return nil
}

// OpenLeads lists the open leads a viewer may see, the most urgent first.
func (s *Store) OpenLeads(ctx context.Context, v Viewer, limit int) ([]InboxLead, error) {
	cond, args := leadScope(v, 2)
	rows, _ := s.Pool.Query(ctx, `
		select l.id, l.name, l.email, l.company, c.id, c.name, l.state, coalesce(o.id, ''), coalesce(o.name, ''), l.attempt,
			l.offered_at, l.accept_by, l.accepted_at, l.contact_by, l.contacted_at
		from leads l join campaigns c on c.id = l.campaign_id left join people o on o.id = l.owner_id
		where l.state in ('Offered', 'Escalated', 'Accepted', 'Contacted', 'Unroutable') and `+cond+`
		order by case when l.state in ('Offered', 'Escalated') then l.accept_by
			when l.state = 'Accepted' and l.contacted_at is null then l.contact_by end nulls last, l.id
		limit $1`, append([]any{limit}, args...)...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxLead, error) {
		var l InboxLead
		err := r.Scan(&l.ID, &l.Name, &l.Email, &l.Company, &l.CampaignID, &l.CampaignName, &l.State, &l.OwnerID, &l.OwnerName,
			&l.Attempt, &l.OfferedAt, &l.AcceptBy, &l.AcceptedAt, &l.ContactBy, &l.ContactedAt)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("open leads: %w", err)
	}
	return out, nil
}

// RepSLA is one rep's record over a cohort of leads: the shared metrics of
// internal/domain (ByRep) with the rep's name and team.
type RepSLA struct {
	RepID, Name, TeamID, TeamName string
	domain.RepMetrics
}

// Met counts the deadlines kept: offers accepted in time and first contacts
// logged in time (see domain.MetricDefs, SLA compliance).
func (r RepSLA) Met() int { return r.SLA.N }

// Missed counts the deadlines missed: offers that lapsed, first contacts breached.
func (r RepSLA) Missed() int { return r.SLA.Of - r.SLA.N }

// repScope limits people p to what a viewer may see on the scoreboard.
func repScope(v Viewer, n int) (string, []any) {
	switch {
	case v.Leader():
		return "true", nil
	case v.Role == RoleManager && v.TeamID != "":
		return fmt.Sprintf("p.team_id = $%d", n), []any{v.TeamID}
	case v.Role == RoleRep && v.PersonID != "":
		return fmt.Sprintf("p.id = $%d", n), []any{v.PersonID}
	}
	return "false", nil
}

// RepRecords returns each rep's side of the shared metrics over the leads
// that became MQLs in [from, to), counted up to `to`, for the reps a viewer
// may see, by team then rep.
func (s *Store) RepRecords(ctx context.Context, v Viewer, from, to time.Time) ([]RepSLA, error) {
	cond, args := repScope(v, 1)
	rows, _ := s.Pool.Query(ctx, `select p.id, p.name, coalesce(t.id, ''), coalesce(t.name, '')
		from people p left join teams t on t.id = p.team_id
		where p.role = 'rep' and `+cond+` order by t.id nulls last, p.id`, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RepSLA, error) {
		var x RepSLA
		return x, r.Scan(&x.RepID, &x.Name, &x.TeamID, &x.TeamName)
	})
	if err != nil {
		return nil, fmt.Errorf("rep records: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// Routing's skips (routing_skips) join the events as "skipped", so the
	// causes are counted by the same fold as every other number.
	rows, _ = s.Pool.Query(ctx, `
		select * from (
			select e.lead_id, e.kind, e.actor, e.reason, e.data, e.occurred_at, l.country, e.seq, e.id
			from lead_events e join leads l on l.id = e.lead_id
			where e.occurred_at < $2 and e.kind = any($3) and e.lead_id in (
				select lead_id from lead_events where kind = 'mql' and occurred_at >= $1 and occurred_at < $2)
			union all
			select k.lead_id, 'skipped', 'system:routing', k.reason,
				jsonb_build_object('rep', k.rep_id, 'waited', k.waited::text, 'attempt', k.attempt::text), k.at, l.country, 0, 0
			from routing_skips k join leads l on l.id = k.lead_id
			where k.at < $2 and k.lead_id in (
				select lead_id from lead_events where kind = 'mql' and occurred_at >= $1 and occurred_at < $2)
		) x order by 6, 8, 9`, from, to, statKinds)
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.StatEvent, error) {
		var e domain.StatEvent
		var seq, id int64
		err := r.Scan(&e.LeadID, &e.Kind, &e.Actor, &e.Reason, &e.Data, &e.At, &e.Segment, &seq, &id)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("rep records: %w", err)
	}
	by := domain.ByRep(domain.Cohort(domain.LeadRecords(evs, to), from, to))
	for i := range out {
		if m := by[out[i].RepID]; m != nil {
			out[i].RepMetrics = *m
		}
		out[i].RepMetrics.Rep = out[i].RepID
	}
	return out, nil
}

// CampaignStat is a campaign's funnel and both sides of its SLA.
type CampaignStat struct {
	ID, Name, OwnerName, OwnerEmail, TeamID, Status string
	CreatedAt                                       time.Time
	Spec                                            []byte
	Captured, MQL, Accepted, Contacted, Converted   int
	Disqualified, Recycled, Rejected                int
	Lapsed, Breaches, Escalations                   int
}

// CampaignFunnels lists the campaigns a viewer may see (or one, when id is set)
// with their funnel counts: distinct leads that reached each step.
func (s *Store) CampaignFunnels(ctx context.Context, v Viewer, id string) ([]CampaignStat, error) {
	cond, args := campaignScope(v, 2)
	rows, _ := s.Pool.Query(ctx, `
		select c.id, c.name, c.owner_name, c.owner_email, c.team_id, c.status, c.created_at, c.spec,
			count(distinct l.id),
			count(distinct e.lead_id) filter (where e.kind = 'mql'),
			count(distinct e.lead_id) filter (where e.kind = 'accepted'),
			count(distinct e.lead_id) filter (where e.kind = 'contacted'),
			count(distinct e.lead_id) filter (where e.kind = 'converted'),
			count(distinct e.lead_id) filter (where e.kind = 'disqualified'),
			count(distinct e.lead_id) filter (where e.kind = 'recycled'),
			count(e.id) filter (where e.kind = 'rejected'),
			count(e.id) filter (where e.kind = 'lapsed'),
			count(e.id) filter (where e.kind = 'breached'),
			count(e.id) filter (where e.kind = 'escalated')
		from campaigns c left join leads l on l.campaign_id = c.id left join lead_events e on e.lead_id = l.id
		where ($1 = '' or c.id = $1) and `+cond+`
		group by c.id order by c.id`, append([]any{id}, args...)...)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CampaignStat])
	if err != nil {
		return nil, fmt.Errorf("campaign stats: %w", err)
	}
	return out, nil
}

// ReasonCount is how often a reason was given.
type ReasonCount struct {
	Reason string
	Count  int
}

// Reasons counts the reasons of one kind of event (rejected, disqualified,
// recycled) on a campaign's leads, most frequent first.
func (s *Store) Reasons(ctx context.Context, campaignID, kind string) ([]ReasonCount, error) {
	rows, _ := s.Pool.Query(ctx, `select coalesce(nullif(e.reason, ''), '(none given)'), count(*)::int
		from lead_events e join leads l on l.id = e.lead_id
		where l.campaign_id = $1 and e.kind = $2 group by 1 order by 2 desc, 1`, campaignID, kind)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReasonCount])
	if err != nil {
		return nil, fmt.Errorf("%s reasons of %s: %w", kind, campaignID, err)
	}
	return out, nil
}

// DayCount is one UTC day's misses.
type DayCount struct {
	Day         time.Time
	Breaches    int // offers lapsed and contacts breached
	Escalations int
	// MarketingBreaches are marketing-side misses: a campaign's period
	// below its commitments (campaign events of kind marketing-breach).
	MarketingBreaches int
}

// Daily counts breaches and escalations per UTC day over [from, to], on the
// leads a viewer may see; every day has a row.
func (s *Store) Daily(ctx context.Context, v Viewer, from, to time.Time) ([]DayCount, error) {
	cond, args := leadScope(v, 3)
	rows, _ := s.Pool.Query(ctx, `
		with ev as (
			select (e.occurred_at at time zone 'UTC')::date as day, e.kind
			from lead_events e join leads l on l.id = e.lead_id join campaigns c on c.id = l.campaign_id
			where e.kind in ('lapsed', 'breached', 'escalated')
				and e.occurred_at >= $1::date and e.occurred_at < $2::date + 1 and `+cond+`)
		select d::date::timestamp at time zone 'UTC',
			count(ev.kind) filter (where ev.kind in ('lapsed', 'breached'))::int,
			count(ev.kind) filter (where ev.kind = 'escalated')::int
		from generate_series($1::date, $2::date, interval '1 day') d left join ev on ev.day = d::date
		group by d order by d`, append([]any{from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02")}, args...)...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayCount, error) {
		var d DayCount
		return d, r.Scan(&d.Day, &d.Breaches, &d.Escalations)
	})
	if err != nil {
		return nil, fmt.Errorf("daily misses: %w", err)
	}
	// Marketing's side, on the campaigns the viewer may see.
	ccond, cargs := campaignScope(v, 3)
	rows, _ = s.Pool.Query(ctx, `
		select (e.occurred_at at time zone 'UTC')::date::timestamp at time zone 'UTC', count(*)::int
		from campaign_events e join campaigns c on c.id = e.campaign_id
		where e.kind = 'marketing-breach' and e.occurred_at >= $1::date and e.occurred_at < $2::date + 1 and `+ccond+`
		group by 1`, append([]any{from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02")}, cargs...)...)
	mkt := map[time.Time]int{}
	var day time.Time
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&day, &n}, func() error { mkt[day.UTC()] = n; return nil }); err != nil {
		return nil, fmt.Errorf("daily marketing misses: %w", err)
	}
	for i := range out {
		out[i].MarketingBreaches = mkt[out[i].Day.UTC()]
	}
	return out, nil
}

// Commitments are marketing's side of the SLA for a campaign, read from the
// campaign spec when it has them (zero when it does not).
type Commitments struct {
	MQLsPerWeek   float64 // volume
	MinAcceptance float64 // quality: the share of offers sales accepts, 0..1
}

// Any reports whether the spec commits to anything.
func (c Commitments) Any() bool { return c.MQLsPerWeek > 0 || c.MinAcceptance > 0 }

// ParseCommitments reads marketing's commitments from a stored campaign spec
// (domain.Campaign as JSON); zero when the spec has none or does not parse.
func ParseCommitments(spec []byte) Commitments {
	var c domain.Campaign
	if json.Unmarshal(spec, &c) != nil {
		return Commitments{}
	}
	return Commitments{MQLsPerWeek: float64(c.Commitments.MQLsPerWeek), MinAcceptance: c.Commitments.MinAcceptanceRate}
}
