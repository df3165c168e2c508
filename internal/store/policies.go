package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/jackc/pgx/v5"
)

// ImportPolicies upserts SLA policies in one transaction; a changed policy
// gets a new version. On a dry run nothing is written.
func (s *Store) ImportPolicies(ctx context.Context, ps []domain.Policy, dryRun bool) (ImportResult, error) {
	var res ImportResult
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for _, p := range ps {
		spec, _ := json.Marshal(p)
		var tag string
		err := tx.QueryRow(ctx, `
			with prev as (select spec from sla_policies where name = $1),
			up as (
				insert into sla_policies (name, spec) values ($1, $2)
				on conflict (name) do update set spec = excluded.spec, version = sla_policies.version + 1, updated_at = now()
				where sla_policies.spec is distinct from excluded.spec
				returning 1)
			select case when not exists (select 1 from prev) then 'created'
			            when exists (select 1 from up) then 'updated' else 'unchanged' end`, p.Name, spec).Scan(&tag)
		if err != nil {
			return res, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		res.count(tag)
	}
	if dryRun {
		return res, nil
	}
	return res, tx.Commit(ctx)
}

// PolicyRow is a policy as listed.
type PolicyRow struct {
	Name    string
	Version int
	Policy  domain.Policy
	Updated time.Time
}

// Policies lists every SLA policy.
func (s *Store) Policies(ctx context.Context) ([]PolicyRow, error) {
	rows, _ := s.Pool.Query(ctx, `select name, version, spec, updated_at from sla_policies order by name`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PolicyRow, error) {
		var p PolicyRow
		err := r.Scan(&p.Name, &p.Version, &p.Policy, &p.Updated)
		return p, err
	})
}
