package domain

import (
	"strings"
	"time"
)

// Kinds of message about a lead.
const (
	KindOffer      = "offer"
	KindReassigned = "reassigned"
	KindEscalation = "escalation"
	KindReminder   = "reminder"
	KindLeader     = "leader-alert"
	// KindUnreachable tells the manager a message could not reach its
	// recipient (an offer bounced, dropped or refused: the lead moved on; or
	// a notice that exhausted its retries).
	KindUnreachable = "rep-unreachable"
	// KindHanded tells a rep a manager handed them an accepted lead whose
	// first contact was missed, with its fresh deadline (issue 16).
	KindHanded = "handed"
	// KindNudge is a manager's nudge to the holder of an escalated lead.
	KindNudge = "nudge"
)

// Kinds of campaign message. Each template is templates/<kind>.{txt,html} in
// internal/mail.
const (
	KindCampaignReview     = "campaign-review"      // a reviewer is asked to sign the plan off
	KindCampaignReminder   = "campaign-reminder"    // a silent reviewer, before the review deadline
	KindCampaignEscalation = "campaign-escalation"  // the sales leader: reviewers silent past the deadline
	KindCampaignChanges    = "campaign-changes"     // the owner: a reviewer asked for changes
	KindCampaignShortfall  = "campaign-shortfall"   // owner and marketing leader: a commitment missed
	KindCampaignDigest     = "campaign-digest"      // both teams, every period
	KindCampaignRetro      = "campaign-retro"       // both teams, after the end
	KindCampaignMailFailed = "campaign-mail-failed" // the owner (or marketing leader): a campaign message was not delivered
)

// Error types of a send, as the mailers return them (temporal application
// error types): workflows branch on them.
const (
	ErrMailRejected    = "MailRejected"    // 4xx that retrying cannot fix: non-retryable
	ErrMailUnconfirmed = "MailUnconfirmed" // an earlier call's outcome is unknown: wait for its event
)

// ReviewerStatus is where one reviewer stands in the current round.
type ReviewerStatus struct {
	Reviewer PersonRef `json:"reviewer"`
	Verdict  string    `json:"verdict"` // "", "approved", "changes"
}

// ReviewComment is a reviewer's request for changes, kept across rounds.
type ReviewComment struct {
	Round    int       `json:"round"`
	Reviewer string    `json:"reviewer"` // name
	Comment  string    `json:"comment"`
	At       time.Time `json:"at"`
}

// PeriodResult is one checked period, for the digests and the retrospective.
type PeriodResult struct {
	Week      int       `json:"week"`
	From      time.Time `json:"from"`
	MQLs      int       `json:"mqls"`
	Target    int       `json:"target"`
	Shortfall []string  `json:"shortfall,omitempty"`
}

// CampaignEvent is one step of a campaign's life (campaign_events).
type CampaignEvent struct {
	Key    string            `json:"key"`
	Kind   string            `json:"kind"`
	Actor  string            `json:"actor"`
	Reason string            `json:"reason,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
	At     time.Time         `json:"at"`
}

// CampaignMessage is what a campaign message says, as the workflow knows it;
// the mailer adds the ledger key and the links.
type CampaignMessage struct {
	Kind      string
	To        PersonRef
	Campaign  Campaign
	Policy    string // the SLA policy in words
	Round     int    // review round (1 + revisions)
	Deadline  time.Time
	Reviewers []ReviewerStatus
	Comments  []ReviewComment
	Approvals int
	Week      int
	Period    CampaignStats // this period
	ToDate    CampaignStats // since the campaign went live
	Shortfall []string
	Weeks     []PeriodResult
	Failed    string // campaign-mail-failed: which message to whom, and why
}

// Silent names the reviewers who have not answered this round.
func (m CampaignMessage) Silent() string {
	var s []string
	for _, r := range m.Reviewers {
		if r.Verdict == "" {
			s = append(s, r.Reviewer.Name)
		}
	}
	return strings.Join(s, ", ")
}
