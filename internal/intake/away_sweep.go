package intake

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/sdk/client"
)

// SweepAway tells the held leads of every rep whose out-of-office period has
// begun and was recorded ahead of time (or imported), once per period; each
// lead's SLA policy decides (reassign or pause). The state is in PostgreSQL,
// so a period that began while no worker ran is told by the next sweep.
func SweepAway(ctx context.Context, tc client.Client, st *store.Store, now time.Time) (ReleaseResult, error) {
	var res ReleaseResult
	periods, err := st.ClaimBegunAway(ctx, now, 50)
	if err != nil {
		return res, err
	}
	for i, p := range periods {
		held, err := st.LeadsHeldBy(ctx, []string{p.PersonID}, "Offered", "Escalated", "Accepted", "Contacted")
		for _, o := range held {
			if err != nil {
				break
			}
			err = res.tell(ctx, tc, o, workflows.UpdateAway, workflows.AwayInput{RepID: p.PersonID, Until: p.Until})
		}
		if err != nil {
			// Give back this period and the rest; the next sweep retries.
			for _, q := range periods[i:] {
				st.UnclaimAway(context.WithoutCancel(ctx), q.PersonID, q.From) //nolint:errcheck // best effort; logged below
			}
			return res, fmt.Errorf("away sweep: %s: %w", p.PersonID, err)
		}
	}
	return res, nil
}

// RunAwaySweeper sweeps every interval (BATON_AWAY_SWEEP) until ctx ends:
// the most a recorded-ahead period's start is late for the leads the rep
// holds. (Routing checks periods at every assignment, so new leads skip the
// rep from the period's first second.)
func RunAwaySweeper(ctx context.Context, tc client.Client, st *store.Store, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := SweepAway(ctx, tc, st, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("away sweep", "error", err)
		} else if res.Released > 0 || len(res.Skipped) > 0 {
			log.Info("away sweep: held leads told", "told", res.Released, "skipped", len(res.Skipped))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
