package domain

import (
	"slices"
	"testing"
)

func TestHookTypesCoverTheIssue(t *testing.T) {
	want := []string{"lead.captured", "lead.offered", "lead.accepted", "lead.declined", "lead.contacted",
		"lead.converted", "lead.disqualified", "lead.recycled", "sla.reminded", "sla.breached",
		"lead.escalated", "campaign.approved", "campaign.live", "campaign.shortfall", "campaign.closed"}
	got := HookTypes()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("event type %s has no source event", w)
		}
	}
	if LeadHook("rejected") != HookLeadDeclined || LeadHook("snoozed") != "" || CampaignHook("marketing-breach") != HookCampaignShortfall {
		t.Error("kind mapping")
	}
}
