package activities

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
)

// timelineStore is the optional part of Store the offer's engagement
// timeline comes from (PostgreSQL has it; the workflow tests' fake does not).
type timelineStore interface {
	Timeline(ctx context.Context, leadID string, limit int) ([]store.TimelineItem, error)
}

// timelineLen is how many of the lead's latest touches an offer shows.
const timelineLen = 10

// addTimeline reads the lead's touches from the store for an offer or an
// accept reminder, so the rep sees the engagement without a workflow input.
func (a *Activities) addTimeline(ctx context.Context, in NotifyInput, n *mail.Notice) {
	ts, ok := a.Store.(timelineStore)
	if !ok || in.Kind != mail.KindOffer {
		return
	}
	items, err := ts.Timeline(ctx, in.Lead.ID, timelineLen)
	if err == nil {
		n.Timeline = items
	}
	// Without the timeline the offer still carries everything else: a
	// failed read does not hold up the lead.
}

// correlate puts the lead, workflow, step and attempt on the message, which
// SendGrid carries as custom_args and returns in its Event Webhook events.
func correlate(in NotifyInput, m *store.Message) {
	m.LeadID = in.Lead.ID
	m.WorkflowID = in.Lead.WorkflowID
	m.Attempt = in.Lead.Attempt
	m.Step = fmt.Sprintf("%s:%d", in.Phase, in.Seq)
}
