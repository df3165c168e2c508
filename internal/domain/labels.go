package domain

import "strings"

// Words people read in place of the codes the events and reasons are stored
// with. The codes stay the record; the pages, emails and CLI show these.

var reasonLabels = map[string]string{
	"not-my-territory": "Not my territory",
	"bad-fit":          "Bad fit",
	"duplicate":        "Duplicate",
	"bad-data":         "Bad data",
	"no-capacity":      "No capacity",
	"other":            "Other",
	"no-budget":        "No budget",
	"student":          "Student",
	"competitor":       "Competitor",
	"not-ready":        "Not ready yet",
	"no-response":      "No response after the cadence",
	"unspecified":      "No reason given",
	"":                 "No reason given",
}

// ReasonLabel is a decline, disqualify or recycle reason in words.
func ReasonLabel(code string) string {
	if l, ok := reasonLabels[code]; ok {
		return l
	}
	return strings.ReplaceAll(code, "-", " ")
}

var eventLabels = map[string]string{
	"captured":       "Captured",
	"engagement":     "Engagement",
	"nurturing":      "Nurturing (below the bar)",
	"mql":            "Qualified (MQL)",
	"offered":        "Offered to a rep",
	"reminded":       "Reminder sent",
	"accepted":       "Accepted",
	"rejected":       "Declined",
	"lapsed":         "Offer lapsed",
	"reassigned":     "Reassigned",
	"escalated":      "Escalated",
	"extended":       "Deadline extended",
	"handed":         "Handed on by the manager",
	"nudged":         "Rep nudged by the manager",
	"contact-due":    "First contact reminder",
	"cadence-due":    "Follow-up reminder",
	"contacted":      "Contact logged",
	"breached":       "Deadline missed",
	"converted":      "Converted",
	"disqualified":   "Disqualified",
	"recycled":       "Recycled to nurture",
	"unroutable":     "No rep available",
	"unreachable":    "Rep unreachable by email",
	"mail-rejected":  "Email rejected",
	"away":           "Holder away",
	"paused":         "Paused",
	"snoozed":        "Snoozed",
	"cooling-down":   "Cooling down",
	"leader-alerted": "Sales leader alerted",
	"erased":         "Personal data erased",
}

// EventLabel is a lead event kind in words.
func EventLabel(kind string) string {
	if l, ok := eventLabels[kind]; ok {
		return l
	}
	return strings.ReplaceAll(kind, "-", " ")
}
