// Package workflows holds Baton's durable workflows. contract.go is what the
// gateway, the starter and the worker share: the task queue, workflow ids,
// update and query names, and the messages they carry.
package workflows

import (
	"sort"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"go.temporal.io/sdk/temporal"
)

// ---- Shared by both workflows ----

// DefaultTaskQueue is used when BATON_TASK_QUEUE is not set.
const DefaultTaskQueue = "baton"

// Search attributes, registered when the dev server starts (see Makefile).
var (
	SACampaign  = temporal.NewSearchAttributeKeyKeyword("BatonCampaign")
	SALeadState = temporal.NewSearchAttributeKeyKeyword("BatonLeadState")
	// Kept current by the lead workflow.
	SAOwner      = temporal.NewSearchAttributeKeyKeyword("BatonOwnerRep")
	SASLADueAt   = temporal.NewSearchAttributeKeyTime("BatonSLADueAt")
	SAEscalation = temporal.NewSearchAttributeKeyInt64("BatonEscalationLevel")
)

// SearchAttributes maps every custom search attribute to its type, as
// `temporal operator search-attribute create` names them.
var SearchAttributes = map[string]string{
	"BatonCampaign": "Keyword", "BatonLeadState": "Keyword", "BatonOwnerRep": "Keyword",
	"BatonSLADueAt": "Datetime", "BatonEscalationLevel": "Int",
}

// SearchAttributeFlags are the `temporal server start-dev` flags registering them.
func SearchAttributeFlags() []string {
	names := make([]string, 0, len(SearchAttributes))
	for n := range SearchAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	var flags []string
	for _, n := range names {
		flags = append(flags, "--search-attribute", n+"="+SearchAttributes[n])
	}
	return flags
}

// ErrStaleAction is the error type of a rejected action (lead reassigned,
// already accepted, not offered): the gateway shows its message to the rep.
const ErrStaleAction = "StaleAction"

// ---- LeadWorkflow: its input, then each message it takes, in the order of a lead's life ----

// LeadWorkflowID is derived from the lead's business key, so a retried
// intake reaches the same workflow.
func LeadWorkflowID(leadID string) string { return "lead-" + leadID }

// LeadInput starts a LeadWorkflow. Touches arrive through UpdateIntake, the
// first one with the start (Update-with-Start). The first touch is also in
// the input, so a lead started while no worker runs is not lost when the
// update times out; the update carrying the same touch ID is then a no-op.
type LeadInput struct {
	LeadID string
	First  *Touch
	// Resume carries the whole state into the next run (continue-as-new): a
	// recycled lead's next cycle, a long nurture, a long owned phase.
	Resume *LeadRun
	// MaxTouchesPerRun bounds the touches and engagement events one run
	// takes (nurturing or owned) before it continues as new; zero means
	// DefaultMaxTouchesPerRun.
	MaxTouchesPerRun int
}

// DefaultMaxTouchesPerRun keeps a nurturing lead's history small.
const DefaultMaxTouchesPerRun = 500

// UpdateIntake is a touch: the lead arrived (again) from a source.
const UpdateIntake = "intake"

// SignalTouch carries a touch too, for sources that want the answer as soon
// as Temporal holds it (Signal-with-Start; `Prefer: respond-async`).
const SignalTouch = "touch"

// Touch is one arrival of the lead from a source.
type Touch struct {
	ID       string // unique per submission: the source's idempotency key, or random
	Campaign string
	Email    string
	Name     string
	Company  string
	Country  string
	Score    int
	Source   string
	At       time.Time

	// Optional routing fields (territory rules); empty on older touches.
	Region, Industry, CompanySize string
	// Phone, optional, normalized by intake; empty on older touches.
	Phone string
}

// IntakeResult answers UpdateIntake.
type IntakeResult struct {
	LeadID  string           `json:"id"`
	New     bool             `json:"new"`
	State   domain.LeadState `json:"state"`
	Touches int              `json:"touches"`
}

// SignalEngagement carries an engagement event (a page view, an email click,
// a webinar attended) that adds points to the lead's score. Fire-and-forget:
// the gateway records the event in PostgreSQL and signals; the workflow
// ignores an event id it has seen.
const SignalEngagement = "engagement"

// EngagementEvent is one engagement event of a lead.
type EngagementEvent struct {
	ID     string // unique per lead: the source's event id
	Type   string // one of domain.EngagementTypes
	Points int    // added to the score (may be negative), clamped to 0..domain.MaxScore
	Source string
	At     time.Time
}

// UpdateAccept is a rep accepting the lead they were offered.
const UpdateAccept = "accept"

// AcceptInput is a rep's click, as bound by the signed link.
type AcceptInput struct {
	RepID   string
	Attempt int
}

// AcceptResult answers UpdateAccept.
type AcceptResult struct {
	State      domain.LeadState
	AcceptedAt time.Time
}

// UpdateReject is the offered rep declining, with a reason.
const UpdateReject = "reject"

// RejectInput is a rep declining an offer.
type RejectInput struct {
	RepID   string
	Attempt int
	Reason  string // one of domain.RejectReasons
	Note    string
}

// UpdateContact is the owner logging a touch with the prospect.
const UpdateContact = "contact"

// ContactInput logs a touch with the prospect.
type ContactInput struct {
	RepID   string
	Channel string // call, email, meeting, linkedin, other
	Note    string
}

// Channels a contact may be logged on.
var Channels = []string{"call", "email", "meeting", "linkedin", "other"}

// UpdateSnooze records a prospect's "call me Monday" (policy snooze_max).
const UpdateSnooze = "snooze"

// SnoozeInput is the owner passing on the prospect's request.
type SnoozeInput struct {
	RepID string
	Until time.Time
	Note  string
}

// UpdateClose is the owner converting, disqualifying or recycling the lead.
const UpdateClose = "close"

// Outcomes of UpdateClose.
const (
	OutcomeConverted    = "converted"
	OutcomeDisqualified = "disqualified"
	OutcomeRecycled     = "recycled"
)

// CloseInput ends a lead's sales life.
type CloseInput struct {
	RepID     string
	Outcome   string
	Reason    string // disqualify / recycle reason
	Reference string // opportunity reference of a conversion
	// Note is the rep's words for marketing (optional, at most 1000
	// characters, no control characters); stored with the event. Added in
	// issue 16: a build before it ignores the field.
	Note string
}

// UpdateReassign moves an offered, escalated or unroutable lead to a named
// rep, to the manager (take-over), or back to routing.
const UpdateReassign = "reassign"

// SystemDirectory is the actor of reassignments Baton makes itself when a
// rep is deactivated in the directory.
const SystemDirectory = "system:directory"

// ReassignInput is a manager moving a lead.
type ReassignInput struct {
	ManagerID string
	ToRep     string // empty: back to routing (the next rep in rotation)
	Reason    string
	TakeOver  bool // the manager takes the lead as its owner (ToRep == ManagerID), accepted at once
}

// UpdateExtend moves the running deadline once, with a reason.
const UpdateExtend = "extend"

// ExtendInput is a manager granting more time, once per lead.
type ExtendInput struct {
	ManagerID string
	By        time.Duration // business time added to the running deadline
	Reason    string
}

// UpdateHand moves an accepted lead whose first contact was missed (the
// deadline passed with no contact logged): to a named rep of the team, who
// holds it at once with a fresh first-contact clock, or to the manager who
// asks (TakeOver). Added in issue 16: a run on a build before it answers
// "unknown update", which the gateway and the starter explain.
const UpdateHand = "hand"

// HandInput is a manager handing a missed lead on.
type HandInput struct {
	ManagerID string
	ToRep     string // an active rep of the team; with TakeOver, ManagerID
	TakeOver  bool
	Attempt   int // the holder's attempt the manager acted on: a lead handed since is refused
	Reason    string
}

// UpdateExtendContact gives the holder of an accepted lead whose first
// contact was missed more time: the first-contact deadline becomes By of
// business time from now (at most the policy's first_contact_within), the
// escalation stops, and a miss of the new deadline escalates again. It
// counts as the lead's one extension (as UpdateExtend). Added in issue 16.
const UpdateExtendContact = "extend-contact"

// ExtendContactInput is a manager's extension after a missed first contact.
type ExtendContactInput struct {
	ManagerID string
	Attempt   int
	By        time.Duration
	Reason    string
}

// UpdateNudge has Baton remind the holder of an escalated lead on the
// manager's behalf: the accept link while the lead waits on their accept
// (escalated before acceptance), the Log-contact link after a missed first
// contact. One mail and one "nudged" event per click: a click repeated with
// the same ClickID is answered again and sends nothing. Added in issue 16.
const UpdateNudge = "nudge"

// NudgeInput is a manager's nudge.
type NudgeInput struct {
	ManagerID string
	Attempt   int
	ClickID   string // unique per click (the one-click link's use key)
	Note      string // optional words for the rep
}

// MaxNudges bounds the nudges one holder gets about one lead.
const MaxNudges = 5

// UpdateAway tells a lead its holder is out of office until an instant; the
// policy's out_of_office choice decides what the clock does.
const UpdateAway = "away"

// AwayInput names the rep and how long they are away.
type AwayInput struct {
	RepID string
	Until time.Time
}

// UpdateErase ends the lead's workflow and purges its personal data from
// PostgreSQL (an unsubscribe or an erasure request). Events are kept.
const UpdateErase = "erase"

// EraseInput says who asked and why.
type EraseInput struct {
	Actor  string // "source:…", "admin:…"
	Reason string // one of domain.EraseReasons
}

// SignalMailBounced tells a lead that a message could not reach its
// recipient: a SendGrid bounce or drop reported by the Event Webhook. A
// bounced offer to the current holder reassigns the lead at once and alerts
// the manager.
const SignalMailBounced = "mail-bounced"

// MailBounce is what the gateway learned from SendGrid's event.
type MailBounce struct {
	Key     string // ledger key of the message
	Kind    string // message kind (only offers move the lead)
	Email   string // the recipient SendGrid could not reach
	Attempt int    // the offer's attempt
	Event   string // bounce or dropped
	Reason  string // SendGrid's reason
}

// QueryLead returns the current LeadSnapshot.
const QueryLead = "lead"

// QueryDeadlines returns every running deadline and the time left.
const QueryDeadlines = "deadlines"

// DeadlinesView answers QueryDeadlines.
type DeadlinesView struct {
	State           domain.LeadState `json:"state"`
	Owner           domain.PersonRef `json:"owner"`
	EscalationLevel int              `json:"escalation_level"`
	Policy          string           `json:"policy"`
	Deadlines       []Deadline       `json:"deadlines"`
	Events          int              `json:"events"` // how many events the lead has recorded
	Recent          []EventSummary   `json:"recent"` // the last (up to 10) events of this run
}

// Deadline is one running SLA clock.
type Deadline struct {
	Name string        `json:"name"` // accept, first-contact, escalation
	Due  time.Time     `json:"due"`
	Left time.Duration `json:"left"` // negative when passed
}

// EventSummary is one recent event, for the query.
type EventSummary struct {
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// ---- CampaignWorkflow: its input and state, then each message ----

// CampaignWorkflowID is the id of a campaign's workflow.
func CampaignWorkflowID(campaignID string) string { return "campaign-" + campaignID }

// CampaignInput starts a CampaignWorkflow; Resume carries its state into the
// next run (continue-as-new).
type CampaignInput struct {
	CampaignID string
	Resume     *CampaignState
	// MaxChecksPerRun bounds the weekly checks one run makes before it
	// continues as new; zero means DefaultMaxChecksPerRun.
	MaxChecksPerRun int
}

// DefaultMaxChecksPerRun keeps a campaign run's history small (a year of weeks).
const DefaultMaxChecksPerRun = 52

// Campaign phases, as CampaignView.Phase and the campaigns table name them.
const (
	PhaseDraft    = "draft"
	PhaseReview   = "review"
	PhaseApproved = "approved"
	PhaseLive     = "live"
	PhaseEnded    = "ended"
	PhaseClosed   = "closed"
)

// CampaignState is the whole state of a campaign workflow: one struct, so it
// carries across continue-as-new as it is.
type CampaignState struct {
	Phase     string
	Spec      domain.Campaign
	Policy    string // the SLA policy in words
	Round     int    // review round: 1, then one more per revision
	Deadline  time.Time
	Reviewers []domain.ReviewerStatus // this round's verdicts
	Comments  []domain.ReviewComment  // every change request, every round
	Escalated bool                    // this round's escalation was sent
	LiveAt    time.Time
	EndedAt   time.Time
	EndedBy   string
	Week      int // periods checked
	Weeks     []domain.PeriodResult
	Events    int // campaign events recorded
}

// Approvals counts this round's approvals.
func (s CampaignState) Approvals() int {
	n := 0
	for _, r := range s.Reviewers {
		if r.Verdict == VerdictApprove {
			n++
		}
	}
	return n
}

// UpdateCampaignReview is a reviewer approving or asking for changes.
const UpdateCampaignReview = "campaign-review"

// Review verdicts.
const (
	VerdictApprove = "approve"
	VerdictChanges = "changes"
)

// CampaignReviewInput is a reviewer's answer, bound to a round by the link.
type CampaignReviewInput struct {
	ReviewerID string
	Round      int
	Verdict    string // VerdictApprove or VerdictChanges
	Comment    string // required with VerdictChanges
}

// UpdateCampaignRevise is the owner revising the plan; the review restarts.
const UpdateCampaignRevise = "campaign-revise"

// CampaignReviseInput is the revised plan.
type CampaignReviseInput struct {
	Spec  domain.Campaign
	Actor string
}

// UpdateCampaignEnd ends the campaign now.
const UpdateCampaignEnd = "campaign-end"

// CampaignEndInput ends a campaign by hand.
type CampaignEndInput struct {
	Actor  string
	Reason string
}

// QueryCampaign returns a CampaignView.
const QueryCampaign = "campaign"

// CampaignView answers QueryCampaign.
type CampaignView struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Phase     string                  `json:"phase"`
	Round     int                     `json:"round"`
	Deadline  time.Time               `json:"review_deadline"`
	Approvals int                     `json:"approvals"`
	Quorum    int                     `json:"quorum"`
	Reviewers []domain.ReviewerStatus `json:"reviewers"`
	Comments  []domain.ReviewComment  `json:"comments"`
	Escalated bool                    `json:"escalated"`
	StartsAt  time.Time               `json:"starts_at"`
	EndsAt    time.Time               `json:"ends_at"`
	LiveAt    time.Time               `json:"live_at"`
	EndedAt   time.Time               `json:"ended_at"`
	Week      int                     `json:"weeks_checked"`
	NextCheck time.Time               `json:"next_check"`
	Weeks     []domain.PeriodResult   `json:"weeks"`
}
