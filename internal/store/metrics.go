package store

import (
	"context"
	"fmt"
)

// MetricsSnapshot is what /metrics reads from PostgreSQL at each scrape.
type MetricsSnapshot struct {
	LeadsByStage map[string]int
	Breaches     map[string]int // lapsed (acceptance) and breached (contact, cadence)
	Escalations  int
	Emails       map[[2]string]int // (status, kind)
}

// MetricsSnapshot counts leads by state, misses, escalations and emails.
func (s *Store) MetricsSnapshot(ctx context.Context) (MetricsSnapshot, error) {
	m := MetricsSnapshot{LeadsByStage: map[string]int{}, Breaches: map[string]int{"lapsed": 0, "breached": 0},
		Emails: map[[2]string]int{}}
	rows, err := s.Pool.Query(ctx, `select state, count(*) from leads group by state`)
	if err != nil {
		return m, fmt.Errorf("leads by stage: %w", err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return m, err
		}
		m.LeadsByStage[k] = n
	}
	rows.Close()
	rows, err = s.Pool.Query(ctx, `select kind, count(*) from lead_events where kind in ('lapsed', 'breached', 'escalated') group by kind`)
	if err != nil {
		return m, fmt.Errorf("breaches: %w", err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return m, err
		}
		if k == "escalated" {
			m.Escalations = n
		} else {
			m.Breaches[k] = n
		}
	}
	rows.Close()
	rows, err = s.Pool.Query(ctx, `select status, kind, count(*) from email_ledger group by status, kind`)
	if err != nil {
		return m, fmt.Errorf("emails: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st, k string
		var n int
		if err := rows.Scan(&st, &k, &n); err != nil {
			return m, err
		}
		m.Emails[[2]string{st, k}] = n
	}
	return m, rows.Err()
}
