package tclient

import (
	"context"
	"log/slog"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/store"
	"go.temporal.io/sdk/client"
)

// Service is what the worker and the gateway both start with: config with a
// signing key, a migrated database, and a Temporal client.
type Service struct {
	Config        config.Config
	Store         *store.Store
	Temporal      client.Client
	SchemaVersion int32
}

// Boot loads config, applies migrations, opens the store and dials Temporal.
// Close releases what it opened.
func Boot(ctx context.Context, log *slog.Logger, opts ...Option) (*Service, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.RequireSigningKey(); err != nil {
		return nil, err
	}
	v, err := store.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	// Baton's statements are written to be fast without planner statistics
	// (store/migrations/012), but PostgreSQL without autovacuum also keeps
	// dead rows and never refreshes what the planner knows: say so once.
	if st.AutovacuumOff(ctx) {
		log.Warn("PostgreSQL runs with autovacuum off: its tables keep dead rows and its planner statistics go stale; turn it on outside throwaway test servers (docs/operations.md)")
	}
	cl, err := Dial(cfg, log, opts...)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Service{Config: cfg, Store: st, Temporal: cl, SchemaVersion: v}, nil
}

// Close releases the client and the pool.
func (s *Service) Close() {
	s.Temporal.Close()
	s.Store.Close()
}
