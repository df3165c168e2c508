// Package activities holds every side effect of Baton's workflows: one method
// per effect, each idempotent by a business key (lead + step + attempt).
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"
)

// Store is what the activities need of PostgreSQL.
type Store interface {
	Campaign(ctx context.Context, id string) (domain.CampaignInfo, error)
	Record(ctx context.Context, l domain.LeadSnapshot, ev domain.Event) error
	Assign(ctx context.Context, leadID string, attempt int, teamID string, exclude []string) (domain.Assignment, error)
	AssignTo(ctx context.Context, leadID string, attempt int, teamID, repID string) (domain.Assignment, error)
	Erase(ctx context.Context, leadID string) error
	LeadVersion(ctx context.Context, leadID string) (version int64, attempt int, found bool, err error)
	TeamPeople(ctx context.Context, teamID string) ([]domain.PersonRef, error)
	RepMisses(ctx context.Context, repID string, since time.Time) (int, error)
	TeamManager(ctx context.Context, teamID string) (domain.PersonRef, error)
}

// TeamManager returns the manager of a team.
func (a *Activities) TeamManager(ctx context.Context, teamID string) (domain.PersonRef, error) {
	return a.Store.TeamManager(ctx, teamID)
}

// RepMisses counts a rep's missed deadlines since an instant, across leads.
func (a *Activities) RepMisses(ctx context.Context, repID string, since time.Time) (int, error) {
	return a.Store.RepMisses(ctx, repID, since)
}

// PriorLife is what is stored of an earlier life of a lead id.
type PriorLife struct {
	Found   bool
	Version int64
	Attempt int
}

// priorLifeStore is the optional part of Store that tells an earlier life
// from this run's own writes (PostgreSQL has it; the workflow tests' fakes
// do not).
type priorLifeStore interface {
	LeadVersionBefore(ctx context.Context, leadID string, before time.Time) (version int64, attempt int, found bool, err error)
}

// OwnWritesWindow: a stored lead created less than this before the run
// started, or after, was written by this run (a local activity of a
// workflow task that was lost), not by an earlier life. An earlier life's run
// ended and left Temporal's retention (at least a day) before a new run of
// the id could start; the hour also covers clock skew between Temporal and
// PostgreSQL.
const OwnWritesWindow = time.Hour

// PriorLife reads the stored version and attempt of a lead id, if any: a new
// run of a lead whose earlier run left Temporal's retention goes on from them.
// runStart is the run's start time: what this run wrote itself in a workflow
// task that was then lost (the fault suite found leads restarted in a new
// "life" three times by their own first task) is not an earlier life.
func (a *Activities) PriorLife(ctx context.Context, leadID string, runStart time.Time) (PriorLife, error) {
	if ps, ok := a.Store.(priorLifeStore); ok && !runStart.IsZero() {
		v, att, found, err := ps.LeadVersionBefore(ctx, leadID, runStart.Add(-OwnWritesWindow))
		return PriorLife{Found: found, Version: v, Attempt: att}, err
	}
	v, att, ok, err := a.Store.LeadVersion(ctx, leadID)
	return PriorLife{Found: ok, Version: v, Attempt: att}, err
}

// Erase purges the lead's personal data from PostgreSQL; events stay.
func (a *Activities) Erase(ctx context.Context, leadID string) error {
	return a.Store.Erase(ctx, leadID)
}

// Activities carries the dependencies; the worker registers a pointer to it.
type Activities struct {
	Store     Store
	Mailer    mail.Mailer
	Signer    *token.Signer
	PublicURL string        // base of emailed links
	From      string        // From of every message
	LinkTTL   time.Duration // how long a link stays valid after its deadline
}

// Error types a workflow branches on.
const (
	ErrCampaignNotFound = "CampaignNotFound"
	// ErrDataRefused: PostgreSQL refused the data itself (SQLSTATE class
	// 22, a data exception). Retrying cannot help; the store already cleans
	// what it knows PostgreSQL refuses, so this is a defence in depth.
	ErrDataRefused = "DataRefused"
)

// dataRefused makes a data exception from PostgreSQL non-retryable.
func dataRefused(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrDataRefused, err)
	}
	return err
}

// LoadCampaign returns what a lead workflow needs of its campaign.
func (a *Activities) LoadCampaign(ctx context.Context, id string) (domain.CampaignInfo, error) {
	c, err := a.Store.Campaign(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return c, temporal.NewNonRetryableApplicationError(err.Error(), ErrCampaignNotFound, err)
	}
	return c, err
}

// RecordInput is a snapshot and the event that produced it.
type RecordInput struct {
	Lead  domain.LeadSnapshot
	Event domain.Event
}

// Record writes the lead snapshot and event in one transaction, once per key.
func (a *Activities) Record(ctx context.Context, in RecordInput) error {
	return dataRefused(a.Store.Record(ctx, in.Lead, in.Event))
}

// AssignInput asks routing for the rep of one attempt.
type AssignInput struct {
	LeadID  string
	Attempt int
	TeamID  string
	Exclude []string // reps who already had the lead
	To      string   // a manager's pick; empty means the rotation's
}

// AssignResult is the assignment, or NoEligibleRep with the reason, and the
// team's roster: who routing can assign (active reps and the manager).
type AssignResult struct {
	Assignment    domain.Assignment
	NoEligibleRep bool
	Reason        string
	Roster        []string
}

// Assign picks a rep atomically; a retry returns the same rep.
func (a *Activities) Assign(ctx context.Context, in AssignInput) (AssignResult, error) {
	var as domain.Assignment
	var err error
	if in.To != "" {
		as, err = a.Store.AssignTo(ctx, in.LeadID, in.Attempt, in.TeamID, in.To)
	} else {
		as, err = a.Store.Assign(ctx, in.LeadID, in.Attempt, in.TeamID, in.Exclude)
	}
	res := AssignResult{Assignment: as}
	if errors.Is(err, domain.ErrNotFound) {
		res, err = AssignResult{NoEligibleRep: true, Reason: err.Error()}, nil
	}
	if err != nil {
		return res, err
	}
	people, err := a.Store.TeamPeople(ctx, in.TeamID)
	if err != nil {
		return res, err
	}
	res.Roster = []string{}
	for _, p := range people {
		res.Roster = append(res.Roster, p.ID)
	}
	return res, nil
}

// NotifyInput is one message to send about a lead.
type NotifyInput struct {
	Kind     string // mail.KindOffer, KindReassigned, KindEscalation, KindReminder
	Phase    string // "accept", "contact", "cadence-N" or "routing"
	Seq      int    // reminder number, or escalation level
	To       domain.PersonRef
	Lead     domain.LeadSnapshot
	Campaign domain.CampaignInfo
	Rep      domain.PersonRef
	NextRep  domain.PersonRef
	Deadline time.Time
	Reason   string // why the lead moved (reassigned, rep-unreachable)
	// Chain numbers the escalation chains of the lead (one restarts when a
	// move finds nobody else): an escalation of a later chain is a new message.
	Chain int
	// From is the manager a handed or nudge message comes from.
	From domain.PersonRef
}

// Key is the message's ledger key: lead (and its cycle or life, as event keys
// carry it), kind, phase, attempt, sequence and recipient, and the escalation
// chain after the first. The keys of a lead's first cycle and first chain are
// those of earlier releases.
func (in NotifyInput) Key() string {
	id := in.Lead.ID
	if in.Lead.Cycle > 0 {
		id = fmt.Sprintf("%s:c%d", id, in.Lead.Cycle)
	}
	key := fmt.Sprintf("%s:%s:%s:%d:%d:%s", id, in.Kind, in.Phase, in.Lead.Attempt, in.Seq, in.To.ID)
	if in.Chain > 1 {
		key += fmt.Sprintf(":e%d", in.Chain)
	}
	return key
}

// link signs a one-click action for the message's recipient.
func (a *Activities) link(in NotifyInput, action string) string {
	return a.PublicURL + "/a/" + a.Signer.Sign(token.Claims{
		Lead: in.Lead.ID, Actor: in.To.ID, Action: action, Attempt: in.Lead.Attempt,
		Expires: in.Deadline.Add(a.LinkTTL).Unix(),
	})
}

// Notify composes and delivers one message, never twice for the same key.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) error {
	n := mail.Notice{
		Kind: in.Kind, Key: in.Key(), To: in.To, Lead: in.Lead, Campaign: in.Campaign,
		Rep: in.Rep, NextRep: in.NextRep, Deadline: in.Deadline, Phase: in.Phase, Level: in.Seq, Reason: in.Reason, From: in.From,
	}
	a.addTimeline(ctx, in, &n)
	if in.Kind == mail.KindEscalation || in.Kind == mail.KindLeader || in.Kind == mail.KindUnreachable {
		tok := a.Signer.Sign(token.Claims{
			Lead: in.Lead.ID, Actor: in.To.ID, Action: "view", Attempt: in.Lead.Attempt,
			Expires: in.Deadline.Add(a.LinkTTL).Unix(),
		})
		n.LeadURL = a.PublicURL + "/leads/" + url.PathEscape(in.Lead.ID) + "?t=" + url.QueryEscape(tok)
		n.Links = []store.Link{{Label: "Open the lead", URL: n.LeadURL}}
		if in.Kind == mail.KindEscalation && in.Phase == "accept" {
			n.Links = append(n.Links, store.Link{Label: "Hand to a rep", URL: a.link(in, "reassign")},
				store.Link{Label: "Take it myself", URL: a.link(in, "takeover")},
				store.Link{Label: "Extend once", URL: a.link(in, "extend")},
				store.Link{Label: "Nudge " + in.Rep.Name, URL: a.link(in, "nudge")})
		}
		if in.Kind == mail.KindEscalation && in.Phase == "contact" {
			// A missed first contact (issue 16): the manager's actions on it.
			// Only the team's manager takes a lead over (level 1); the sales
			// leader (level 2) hands it on, extends or nudges.
			n.Links = append(n.Links, store.Link{Label: "Hand to a rep", URL: a.link(in, "hand")})
			if in.Seq <= 1 {
				n.Links = append(n.Links, store.Link{Label: "Take it myself", URL: a.link(in, "hand-self")})
			}
			n.Links = append(n.Links, store.Link{Label: "Extend once", URL: a.link(in, "extend-contact")},
				store.Link{Label: "Nudge " + in.Rep.Name, URL: a.link(in, "nudge")})
		}
	}
	if in.Kind == mail.KindOffer || in.Kind == mail.KindReminder && in.Phase == "accept" {
		// The link outlives the deadline, so a late click is explained
		// ("reassigned at 14:02") rather than refused as expired.
		tok := a.Signer.Sign(token.Claims{
			Lead: in.Lead.ID, Actor: in.To.ID, Action: "accept", Attempt: in.Lead.Attempt,
			Expires: in.Deadline.Add(a.LinkTTL).Unix(),
		})
		n.Links = []store.Link{{Label: "Accept lead", URL: a.PublicURL + "/a/" + tok},
			{Label: "Decline", URL: a.link(in, "reject")}}
	}
	links := in // whose deadline the links outlive
	if in.Kind == mail.KindNudge && time.Now().After(in.Deadline) {
		links.Deadline = time.Now() // a nudge comes after the deadline: its links last LinkTTL from now
	}
	if in.Kind == mail.KindNudge && in.Phase == "accept" {
		n.Links = []store.Link{{Label: "Accept lead", URL: a.link(links, "accept")}}
	}
	if in.Kind == mail.KindReminder && (in.Phase == "contact" || strings.HasPrefix(in.Phase, "cadence")) ||
		(in.Kind == mail.KindHanded || in.Kind == mail.KindNudge) && in.Phase == "contact" {
		in := links
		// A first-contact or follow-up reminder carries the action it asks for.
		tok := a.Signer.Sign(token.Claims{
			Lead: in.Lead.ID, Actor: in.To.ID, Action: "view", Attempt: in.Lead.Attempt,
			Expires: in.Deadline.Add(a.LinkTTL).Unix(),
		})
		n.LeadURL = a.PublicURL + "/leads/" + url.PathEscape(in.Lead.ID) + "?t=" + url.QueryEscape(tok)
		n.Links = []store.Link{{Label: "Log contact", URL: a.link(in, "contact")}, {Label: "Open the lead", URL: n.LeadURL}}
	}
	replyTo := ""
	if in.Kind == mail.KindOffer {
		replyTo = in.Campaign.Owner.Email
	}
	m, err := mail.Compose(n, a.From, replyTo)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("compose "+n.Key+": "+err.Error(), "ComposeFailed", err)
	}
	correlate(in, &m)
	return a.Mailer.Deliver(ctx, m)
}
