package store

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
)

// LeadSnapshot reads back what the workflow last recorded of a lead, as the
// snapshot a new run resumes from (`starter lead recover`). The recycle cycle
// is not a column: it is read from the event keys ("<id>:c<N>:…").
func (s *Store) LeadSnapshot(ctx context.Context, id string) (domain.LeadSnapshot, error) {
	var l domain.LeadSnapshot
	var state string
	var ownerID, ownerName, ownerEmail, ownerTZ *string
	var offered, acceptBy, escalated, accepted, contactBy, contacted, closed *time.Time
	err := s.Pool.QueryRow(ctx, `
		select l.id, l.workflow_id, l.email, l.name, l.company, l.country, l.score, l.campaign_id, l.state,
			l.owner_id, p.name, p.email, p.time_zone, l.attempt, l.offered_at, l.accept_by, l.escalated_at, l.accepted_at,
			l.touches, l.version, l.policy, l.escalation_level, l.contact_by, l.contacted_at, l.closed_at, l.reason,
			l.region, l.industry, l.company_size, l.phone,
			(select coalesce(max(substring(e.event_key from '^[^:]+:c([0-9]+):')::int), 0) from lead_events e where e.lead_id = l.id)
		from leads l left join people p on p.id = l.owner_id where l.id = $1`, id).Scan(
		&l.ID, &l.WorkflowID, &l.Email, &l.Name, &l.Company, &l.Country, &l.Score, &l.CampaignID, &state,
		&ownerID, &ownerName, &ownerEmail, &ownerTZ, &l.Attempt, &offered, &acceptBy, &escalated, &accepted,
		&l.Touches, &l.Version, &l.Policy, &l.EscalationLevel, &contactBy, &contacted, &closed, &l.Reason,
		&l.Region, &l.Industry, &l.CompanySize, &l.Phone, &l.Cycle)
	if err != nil {
		return l, fmt.Errorf("read lead %s: %w", id, notFound(err, "lead "+id))
	}
	l.State = domain.LeadState(state)
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	l.Owner = domain.PersonRef{ID: deref(ownerID), Name: deref(ownerName), Email: deref(ownerEmail), TimeZone: deref(ownerTZ)}
	for _, t := range []struct {
		from *time.Time
		to   *time.Time
	}{{offered, &l.OfferedAt}, {acceptBy, &l.AcceptBy}, {escalated, &l.EscalatedAt}, {accepted, &l.AcceptedAt},
		{contactBy, &l.ContactBy}, {contacted, &l.ContactedAt}, {closed, &l.ClosedAt}} {
		if t.from != nil {
			*t.to = t.from.UTC()
		}
	}
	return l, nil
}
