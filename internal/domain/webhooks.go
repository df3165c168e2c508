package domain

import (
	"regexp"
	"slices"
)

// SlackKinds are the message kinds Slack carries: the lead's. Campaign mail
// (long reports, review sign-off pages) stays email.
var SlackKinds = []string{KindOffer, KindReminder, KindEscalation, KindReassigned, KindUnreachable, KindLeader}

var slackIDRe = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Webhook event types, as receivers see them (docs/webhooks.md).
const (
	HookLeadCaptured      = "lead.captured"
	HookLeadOffered       = "lead.offered"
	HookLeadAccepted      = "lead.accepted"
	HookLeadDeclined      = "lead.declined"
	HookLeadReassigned    = "lead.reassigned"
	HookLeadContacted     = "lead.contacted"
	HookLeadConverted     = "lead.converted"
	HookLeadDisqualified  = "lead.disqualified"
	HookLeadRecycled      = "lead.recycled"
	HookLeadEscalated     = "lead.escalated"
	HookSLAReminded       = "sla.reminded"
	HookSLABreached       = "sla.breached"
	HookCampaignApproved  = "campaign.approved"
	HookCampaignLive      = "campaign.live"
	HookCampaignShortfall = "campaign.shortfall"
	HookCampaignClosed    = "campaign.closed"
	// HookTest is what `starter webhook test` sends; no subscription asks
	// for it, every subscription accepts it.
	HookTest = "webhook.test"
)

// leadHooks maps a lead event kind (lead_events.kind) to its webhook type.
var leadHooks = map[string]string{
	"captured": HookLeadCaptured, "offered": HookLeadOffered, "accepted": HookLeadAccepted,
	"rejected": HookLeadDeclined, "reassigned": HookLeadReassigned, "contacted": HookLeadContacted,
	"converted": HookLeadConverted, "disqualified": HookLeadDisqualified, "recycled": HookLeadRecycled,
	"escalated": HookLeadEscalated, "reminded": HookSLAReminded, "breached": HookSLABreached,
}

// campaignHooks maps a campaign event kind to its webhook type.
var campaignHooks = map[string]string{
	"approved": HookCampaignApproved, "live": HookCampaignLive,
	"marketing-breach": HookCampaignShortfall, "closed": HookCampaignClosed,
}

// LeadHook is the webhook type of a lead event kind, "" when none.
func LeadHook(kind string) string { return leadHooks[kind] }

// CampaignHook is the webhook type of a campaign event kind, "" when none.
func CampaignHook(kind string) string { return campaignHooks[kind] }

// HookTypes lists every event type a subscription can ask for, sorted.
func HookTypes() []string {
	var out []string
	for _, m := range []map[string]string{leadHooks, campaignHooks} {
		for _, t := range m {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
