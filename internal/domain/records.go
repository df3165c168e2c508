package domain

import "time"

// PersonRef is the part of a person a workflow carries around.
type PersonRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	TimeZone string `json:"time_zone,omitempty"`
}

// CampaignInfo is what a lead workflow needs to know of its campaign.
type CampaignInfo struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Owner        PersonRef     `json:"owner"`
	TeamID       string        `json:"team_id"`
	Status       string        `json:"status"`
	MinScore     int           `json:"min_score"`
	AcceptWindow time.Duration `json:"accept_window"`
	// Policy is the campaign's SLA policy as it was when the lead started;
	// nil means DefaultPolicy(AcceptWindow).
	Policy      *Policy   `json:"policy,omitempty"`
	SalesLeader PersonRef `json:"sales_leader"`
	// From the campaign spec: the qualification rule's required fields and
	// the collateral by sales stage.
	RequiredFields []string     `json:"required_fields,omitempty"`
	Collateral     []Collateral `json:"collateral,omitempty"`
}

// EffectivePolicy is the policy a lead of this campaign runs under.
func (c CampaignInfo) EffectivePolicy() Policy {
	if c.Policy != nil {
		return *c.Policy
	}
	return DefaultPolicy(c.AcceptWindow)
}

// Assignment is the rep routing picked for one attempt, and who to escalate to.
type Assignment struct {
	LeadID  string    `json:"lead_id"`
	Attempt int       `json:"attempt"`
	TeamID  string    `json:"team_id"`
	Rep     PersonRef `json:"rep"`
	Manager PersonRef `json:"manager"`
}

// LeadSnapshot is the lead as the workflow sees it; the store keeps the newest.
type LeadSnapshot struct {
	ID          string    `json:"id"`
	WorkflowID  string    `json:"workflow_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Company     string    `json:"company"`
	Country     string    `json:"country"`
	Score       int       `json:"score"`
	CampaignID  string    `json:"campaign_id"`
	State       LeadState `json:"state"`
	Owner       PersonRef `json:"owner"`
	Attempt     int       `json:"attempt"`
	OfferedAt   time.Time `json:"offered_at"`
	AcceptBy    time.Time `json:"accept_by"`
	EscalatedAt time.Time `json:"escalated_at"`
	AcceptedAt  time.Time `json:"accepted_at"`
	Touches     int       `json:"touches"`
	Version     int64     `json:"version"`
	// Set by the lifecycle engine (workflow version 1 and later).
	Policy          string    `json:"policy,omitempty"`
	EscalationLevel int       `json:"escalation_level,omitempty"`
	ContactBy       time.Time `json:"contact_by"`
	ContactedAt     time.Time `json:"contacted_at"`
	ClosedAt        time.Time `json:"closed_at"`
	Reason          string    `json:"reason,omitempty"` // of a disqualification or recycle; the reference of a conversion
	Cycle           int       `json:"cycle,omitempty"`  // how many times the lead came back from recycle
	// Optional fields territory rules route on, besides country and campaign.
	Region      string `json:"region,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	// Phone as intake normalized it ("+4930123456"); personal data, erased
	// with the rest.
	Phone string `json:"phone,omitempty"`
}

// Event is one step in a lead's life, with actor, time and reason.
type Event struct {
	Key    string            `json:"key"`
	Seq    int64             `json:"seq"` // the snapshot version it produced: orders events of one instant
	Kind   string            `json:"kind"`
	Actor  string            `json:"actor"`
	Reason string            `json:"reason,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
	At     time.Time         `json:"at"`
}
