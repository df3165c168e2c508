package workflows

import (
	"fmt"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/workflow"
)

// listenEngagement takes engagement signals for the life of the run.
func (w *leadWorkflow) listenEngagement(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalEngagement)
	w.engagements = ch
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev EngagementEvent
			if more := ch.Receive(ctx, &ev); !more {
				return
			}
			w.engage(ctx, ev)
		}
	})
}

// engage adds an event's points to the score (once per event id) and records
// it. A nurturing lead whose score reaches the campaign's bar leaves the
// nurture wait and is qualified and routed by the main run.
func (w *leadWorkflow) engage(ctx workflow.Context, ev EngagementEvent) {
	if ev.ID == "" || w.Lead.State == domain.StateErased || w.erasing != nil {
		return
	}
	key := "ev:" + ev.ID
	for _, id := range w.SeenIDs {
		if id == key {
			return
		}
	}
	w.SeenIDs = append(w.SeenIDs, key)
	w.inputs++
	w.engaging++
	defer func() { w.engaging-- }()
	before := w.Lead.Score
	w.Lead.Score = min(domain.MaxScore, max(0, w.Lead.Score+ev.Points))
	data := map[string]string{"type": ev.Type, "points": fmt.Sprint(ev.Points), "score": fmt.Sprint(w.Lead.Score), "event": ev.ID}
	if err := w.record(ctx, "engagement", "engagement:"+ev.ID, "source:"+orDefault(ev.Source, "api"),
		fmt.Sprintf("%s: score %d → %d", ev.Type, before, w.Lead.Score), data); err != nil {
		w.log.Warn("record engagement", "event", ev.ID, "error", err)
	}
}
