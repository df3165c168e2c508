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
