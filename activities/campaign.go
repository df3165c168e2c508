package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"go.temporal.io/sdk/temporal"
)

// CampaignStore is what the campaign activities need of PostgreSQL.
type CampaignStore interface {
	CampaignSpec(ctx context.Context, id string) (store.CampaignState, error)
	UpsertCampaign(ctx context.Context, c domain.Campaign, status string, defaultWindow time.Duration) error
	SetCampaignStatus(ctx context.Context, id, status string, at time.Time) error
	RecordCampaignEvent(ctx context.Context, campaignID string, ev domain.CampaignEvent) error
	CampaignStats(ctx context.Context, id string, from, to time.Time, target int) (domain.CampaignStats, error)
	Leaders(ctx context.Context) (sales, marketing domain.PersonRef, err error)
	TeamPeople(ctx context.Context, teamID string) ([]domain.PersonRef, error)
	Campaign(ctx context.Context, id string) (domain.CampaignInfo, error)
}

// CampaignActivities are the side effects of CampaignWorkflow. They are a
// struct of their own so their method names never collide with the lead's.
type CampaignActivities struct {
	Store         CampaignStore
	Mailer        mail.Mailer
	Signer        *token.Signer
	PublicURL     string
	From          string
	LinkTTL       time.Duration
	DefaultWindow time.Duration // BATON_DEFAULT_ACCEPT_WINDOW, for a revised spec without one
}

// CampaignPlan is a campaign's spec as stored, with its SLA policy in words.
type CampaignPlan struct {
	Spec     domain.Campaign
	Status   string
	Revision int
	Policy   string
}

// LoadCampaignPlan reads the campaign spec the workflow runs on.
func (a *CampaignActivities) LoadCampaignPlan(ctx context.Context, id string) (CampaignPlan, error) {
	st, err := a.Store.CampaignSpec(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return CampaignPlan{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrCampaignNotFound, err)
	}
	if err != nil {
		return CampaignPlan{}, err
	}
	info, err := a.Store.Campaign(ctx, id)
	if err != nil {
		return CampaignPlan{}, err
	}
	return CampaignPlan{Spec: st.Spec, Status: st.Status, Revision: st.Revision, Policy: PolicyWords(info)}, nil
}

// PolicyWords describes a campaign's SLA policy in one line.
func PolicyWords(c domain.CampaignInfo) string {
	p := c.EffectivePolicy()
	name := p.Name
	if name == "" {
		name = "default"
	}
	s := fmt.Sprintf("%s: accept within %s", name, time.Duration(p.AcceptWithin))
	if p.FirstContactWithin > 0 {
		s += fmt.Sprintf(", first contact within %s", time.Duration(p.FirstContactWithin))
	}
	return s
}

// SaveCampaignSpec stores a revised plan (status review).
func (a *CampaignActivities) SaveCampaignSpec(ctx context.Context, c domain.Campaign) error {
	err := a.Store.UpsertCampaign(ctx, c, domain.CampaignReview, a.DefaultWindow)
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	return err
}

// SetCampaignStatusInput moves the stored campaign to a phase.
type SetCampaignStatusInput struct {
	CampaignID string
	Status     string
	At         time.Time
}

// SetCampaignStatus stores the campaign's phase; intake reads it.
func (a *CampaignActivities) SetCampaignStatus(ctx context.Context, in SetCampaignStatusInput) error {
	return a.Store.SetCampaignStatus(ctx, in.CampaignID, in.Status, in.At)
}

// RecordCampaignEventInput is one step of a campaign's life.
type RecordCampaignEventInput struct {
	CampaignID string
	Event      domain.CampaignEvent
}

// RecordCampaignEvent appends the event once per key.
func (a *CampaignActivities) RecordCampaignEvent(ctx context.Context, in RecordCampaignEventInput) error {
	return a.Store.RecordCampaignEvent(ctx, in.CampaignID, in.Event)
}

// CampaignNumbersInput asks for a period's numbers.
type CampaignNumbersInput struct {
	CampaignID string
	From, To   time.Time
	Target     int
}

// CampaignNumbers computes a period's numbers from the lead events.
func (a *CampaignActivities) CampaignNumbers(ctx context.Context, in CampaignNumbersInput) (domain.CampaignStats, error) {
	return a.Store.CampaignStats(ctx, in.CampaignID, in.From, in.To, in.Target)
}

// CampaignAudience is who campaign mail goes to.
type CampaignAudience struct {
	SalesLeader     domain.PersonRef
	MarketingLeader domain.PersonRef
	// BothTeams: the owner and the marketing leader, the sales leader, the
	// team's manager and reps; each once, in a stable order.
	BothTeams []domain.PersonRef
}

// LoadCampaignAudience looks up the leaders and the team.
func (a *CampaignActivities) LoadCampaignAudience(ctx context.Context, c domain.Campaign) (CampaignAudience, error) {
	var au CampaignAudience
	var err error
	au.SalesLeader, au.MarketingLeader, err = a.Store.Leaders(ctx)
	if err != nil {
		return au, err
	}
	team, err := a.Store.TeamPeople(ctx, c.Team)
	if err != nil {
		return au, err
	}
	owner := domain.PersonRef{ID: c.Owner.ID, Name: c.Owner.Name, Email: c.Owner.Email, TimeZone: c.Owner.TimeZone}
	seen := map[string]bool{}
	for _, p := range append([]domain.PersonRef{owner, au.MarketingLeader, au.SalesLeader}, team...) {
		if p.Email != "" && !seen[p.Email] {
			seen[p.Email] = true
			au.BothTeams = append(au.BothTeams, p)
		}
	}
	return au, nil
}

// CampaignMailInput is one campaign message to one person.
type CampaignMailInput struct {
	Notice domain.CampaignMessage
	// Seq tells apart messages of the same kind, round and week (reminder number).
	Seq int
}

// CampaignMailKey is the ledger key: campaign + kind + round/week + recipient.
func CampaignMailKey(n domain.CampaignMessage, seq int) string {
	step := fmt.Sprintf("r%d", n.Round)
	switch n.Kind {
	case mail.KindCampaignShortfall, mail.KindCampaignDigest:
		step = fmt.Sprintf("w%d", n.Week)
	case mail.KindCampaignRetro:
		step = "end"
	}
	if seq > 0 {
		step += fmt.Sprintf(":%d", seq)
	}
	return fmt.Sprintf("campaign:%s:%s:%s:%s", n.Campaign.ID, n.Kind, step, n.To.Email)
}

// Review link actions.
const (
	ActionCampaignApprove = "campaign-approve"
	ActionCampaignChanges = "campaign-changes"
)

// SendCampaignMail composes and delivers one message, never twice per key.
// Review requests and reminders carry the reviewer's one-click links.
func (a *CampaignActivities) SendCampaignMail(ctx context.Context, in CampaignMailInput) error {
	n := mail.CampaignNotice{CampaignMessage: in.Notice, Key: CampaignMailKey(in.Notice, in.Seq)}
	if n.Kind == mail.KindCampaignReview || n.Kind == mail.KindCampaignReminder {
		link := func(action string) string {
			return a.PublicURL + "/c/" + a.Signer.Sign(token.Claims{
				Lead: n.Campaign.ID, Actor: n.To.ID, Action: action, Attempt: n.Round,
				Expires: n.Deadline.Add(a.LinkTTL).Unix(),
			})
		}
		n.Links = []store.Link{{Label: "Approve the plan", URL: link(ActionCampaignApprove)},
			{Label: "Request changes", URL: link(ActionCampaignChanges)}}
	}
	sort.SliceStable(n.Comments, func(i, j int) bool { return n.Comments[i].At.Before(n.Comments[j].At) })
	m, err := mail.ComposeCampaign(n, a.From)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "ComposeFailed", err)
	}
	return a.Mailer.Deliver(ctx, m)
}
