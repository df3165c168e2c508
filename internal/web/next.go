package web

import (
	"context"
	"github.com/batonhq/baton/internal/domain"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// Next is what a result page offers after an action: the clock the lead
// waits on now, in the reader's zone, with a countdown, and the actions and
// links that lead on. No result page is a dead end.
type Next struct {
	Lead                      store.LeadView
	DeadlineLabel, DeadlineAt string
	DeadlineISO, Countdown    string
	Overdue                   bool
	NoDeadline                string
	Zone                      string
	MailTo                    string
	Tel                       template.URL // the lead's tel: link, for the holder
	Actions                   []inboxAction
	LeadURL                   string
	InboxURL                  string
}

// viewTTL is how long a lead-page link on a result page works.
const viewTTL = 24 * time.Hour

// next builds the next steps for the actor of a claim on a lead, after an
// action succeeded; nil when the lead cannot be read.
func (s *Server) next(ctx context.Context, c token.Claims) *Next {
	lead, err := s.Store.Lead(ctx, c.Lead)
	if err != nil {
		return nil
	}
	tz, email := "", ""
	if p, err := s.Store.Person(ctx, c.Actor); err == nil {
		tz, email = p.TimeZone, p.Email
	}
	n := &Next{Lead: lead, Zone: zoneName(tz), InboxURL: "/inbox"}
	view := token.Claims{Lead: lead.ID, Actor: c.Actor, Action: "view", Expires: s.Now().Add(viewTTL).Unix()}
	n.LeadURL = "/leads/" + url.PathEscape(lead.ID) + "?t=" + url.QueryEscape(s.Signer.Sign(view))
	mine := lead.Owner != nil && lead.Owner.ID == c.Actor
	var due *time.Time
	switch lead.State {
	case "Offered", "Escalated":
		due, n.DeadlineLabel = lead.AcceptBy, "Accept by"
	case "Accepted":
		if lead.ContactedAt == nil {
			due, n.DeadlineLabel = lead.ContactBy, "First contact by"
		}
	}
	if due == nil && lead.State == "Accepted" && lead.ContactedAt == nil {
		n.NoDeadline = "No first-contact deadline: this campaign's SLA policy sets none. Contact them soon all the same."
	}
	if due != nil {
		n.DeadlineAt, n.DeadlineISO = inZone(*due, tz), due.UTC().Format(time.RFC3339)
		n.Countdown, n.Overdue = Countdown(s.Now(), *due), due.Before(s.Now())
	}
	if mine && (lead.State == "Accepted" || lead.State == "Contacted") {
		n.MailTo = "mailto:" + lead.Email
		n.Tel = template.URL(domain.TelURL(lead.Phone)) // only "+" and digits
		claim := token.Claims{Lead: lead.ID, Actor: c.Actor, Attempt: lead.Attempt}
		for _, a := range []struct{ action, label string }{{"contact", "Log contact"}, {"convert", "Convert"},
			{"recycle", "Recycle"}, {"disqualify", "Disqualify"}} {
			claim.Action = a.action
			n.Actions = append(n.Actions, inboxAction{a.label, s.link(claim)})
		}
	} else if email != "" {
		// A manager: the actions left on the lead as it is now (a nudge
		// sent, the lead still overdue: hand it on, take it over, extend).
		if v, err := s.Store.ViewerByEmail(ctx, email); err == nil {
			il := store.InboxLead{ID: lead.ID, State: lead.State, Attempt: lead.Attempt, AcceptBy: lead.AcceptBy, ContactBy: lead.ContactBy,
				ContactedAt: lead.ContactedAt}
			if lead.Owner != nil {
				il.OwnerID = lead.Owner.ID
			}
			n.Actions = s.rowActions(v, il)
		}
	}
	return n
}

// done renders a successful action's page with its next steps.
func (s *Server) done(w http.ResponseWriter, r *http.Request, c token.Claims, title, text string) {
	s.render(w, http.StatusOK, "message.html", map[string]any{"Title": title, "Text": text, "Status": http.StatusOK,
		"Next": s.next(r.Context(), c)})
}
