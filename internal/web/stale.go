package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

// A link explains itself on the GET, before any tap: when the lead has
// moved on since the email was sent, the page says what happened instead of
// showing a form the workflow would refuse. The workflow's validators stay
// the authority; this only reads the record the same way.

func on(t *time.Time, tz string) string {
	if t == nil {
		return ""
	}
	return " on " + inZone(*t, tz)
}

func when(t *time.Time, tz string) string {
	if t == nil {
		return "earlier"
	}
	return inZone(*t, tz)
}

// staleText is why an action cannot apply to the lead as recorded now, or
// "" when it still can.
func staleText(lead store.LeadView, c token.Claims, tz string, now time.Time) string {
	holder, mine := "nobody", false
	if lead.Owner != nil {
		holder, mine = lead.Owner.Name, lead.Owner.ID == c.Actor
	}
	open := lead.State == "Offered" || lead.State == "Escalated"
	owned := lead.State == "Accepted" || lead.State == "Contacted"
	switch c.Action {
	case "accept", "reject":
		switch {
		case owned && mine:
			return "You accepted this lead" + on(lead.AcceptedAt, tz) + ". It is " + lead.State + " now."
		case owned:
			return fmt.Sprintf("%s accepted this lead%s. It is %s now; nothing is left for you to do.", holder, on(lead.AcceptedAt, tz), lead.State)
		case !open:
			return "This lead is " + lead.State + " now; it cannot be accepted or declined."
		case !mine || lead.Attempt != c.Attempt:
			return fmt.Sprintf("This lead was reassigned to %s at %s, after your acceptance window closed.", holder, when(lead.OfferedAt, tz))
		}
	case "reassign", "takeover":
		if !open && lead.State != "Unroutable" {
			if owned {
				return fmt.Sprintf("%s accepted this lead%s. It can no longer be reassigned from this email.", holder, on(lead.AcceptedAt, tz))
			}
			return "This lead is " + lead.State + " now; it can no longer be reassigned."
		}
	case "extend":
		for _, e := range lead.Events {
			if e.Kind == "extended" {
				return "This lead's deadline was already extended once, on " + inZone(e.At, tz) + "."
			}
		}
		if !(lead.State == "Offered" || lead.State == "Accepted" && lead.ContactedAt == nil && lead.Escalation == 0) {
			return "This lead has no running deadline to extend (it is " + lead.State + ")."
		}
	case "hand", "hand-self", "extend-contact", "nudge":
		if c.Action == "nudge" && lead.State == "Escalated" {
			if lead.Attempt != c.Attempt {
				return fmt.Sprintf("This lead went to %s%s; there is nobody to nudge from this email.", holder, on(lead.OfferedAt, tz))
			}
			return ""
		}
		if c.Action == "nudge" && lead.State == "Accepted" && lead.Attempt == c.Attempt && !hasEvent(lead, "handed") &&
			lead.ContactBy != nil && now.Before(*lead.ContactBy) && !hasEvent(lead, "extended") {
			// An escalated offer's nudge link, after the rep accepted.
			return fmt.Sprintf("%s accepted this lead%s; first contact is due by %s. Nothing to nudge.", holder, on(lead.AcceptedAt, tz), inZone(*lead.ContactBy, tz))
		}
		if why := missedStale(lead, c, tz, now, holder); why != "" {
			return why
		}
		if c.Action == "extend-contact" {
			for _, e := range lead.Events {
				if e.Kind == "extended" {
					return "This lead's deadline was already extended once, on " + inZone(e.At, tz) + "."
				}
			}
		}
	case "contact", "convert", "recycle", "disqualify":
		if !owned {
			return "This lead is " + lead.State + " now; there is nothing to log or close."
		}
		if !mine {
			return holder + " holds this lead now."
		}
	}
	return ""
}

func hasEvent(lead store.LeadView, kind string) bool {
	for _, e := range lead.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// missedStale is why an action on a missed first contact no longer
// applies: contacted, closed, handed on since, or not (or no longer) overdue.
func missedStale(lead store.LeadView, c token.Claims, tz string, now time.Time, holder string) string {
	switch {
	case lead.State == "Contacted":
		return fmt.Sprintf("%s logged a first contact%s. Nothing is overdue.", holder, on(lead.ContactedAt, tz))
	case lead.State != "Accepted":
		return "This lead is " + lead.State + " now; there is no missed first contact to act on."
	case lead.Attempt != c.Attempt:
		for i := len(lead.Events) - 1; i >= 0; i-- {
			if e := lead.Events[i]; e.Kind == "handed" {
				return fmt.Sprintf("This lead was handed to %s on %s.", holder, inZone(e.At, tz))
			}
		}
		return "This lead is held by " + holder + " now."
	case lead.ContactBy != nil && now.Before(*lead.ContactBy):
		for i := len(lead.Events) - 1; i >= 0; i-- {
			if e := lead.Events[i]; e.Kind == "extended" {
				return fmt.Sprintf("This lead's first-contact deadline was extended on %s, to %s; it has not passed.", inZone(e.At, tz), inZone(*lead.ContactBy, tz))
			}
		}
		return fmt.Sprintf("%s's first-contact deadline is %s; it has not passed.", holder, inZone(*lead.ContactBy, tz))
	}
	return ""
}

// staleLinks are the ways on from a stale link: the lead and the inbox.
func (s *Server) staleLinks(c token.Claims) []inboxAction {
	view := token.Claims{Lead: c.Lead, Actor: c.Actor, Action: "view", Expires: s.Now().Add(viewTTL).Unix()}
	return []inboxAction{{"Open the lead", "/leads/" + url.PathEscape(c.Lead) + "?t=" + url.QueryEscape(s.Signer.Sign(view))},
		{"Your inbox", "/inbox"}}
}

// messageLinks is a message page with links onward.
func (s *Server) messageLinks(w http.ResponseWriter, status int, title, text string, links []inboxAction) {
	s.render(w, status, "message.html", map[string]any{"Title": title, "Text": text, "Status": status, "Links": links})
}

// Choice is one option of a select.
type Choice struct{ Value, Label string }

// extendChoices are the extensions the policy allows: a quarter, a half and
// the whole of the deadline's window (the workflow refuses more than the
// window), in business time.
func extendChoices(window time.Duration) []Choice {
	if window <= 0 {
		return nil
	}
	var out []Choice
	seen := map[time.Duration]bool{}
	for _, f := range []float64{0.25, 0.5, 1} {
		d := time.Duration(float64(window) * f)
		if d >= time.Minute {
			d = d.Truncate(time.Minute)
		} else {
			d = d.Truncate(time.Second)
		}
		if d < time.Second || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, Choice{d.String(), domain.HumanDuration(d) + " of business time"})
	}
	return out
}

// window is the business-time window of the deadline the lead runs on now,
// from its SLA policy (or, for a policy no longer stored, the span from the
// offer or acceptance to the deadline).
func (s *Server) window(ctx context.Context, lead store.LeadView) time.Duration {
	contact := lead.State == "Accepted"
	if ps, err := s.Store.Policies(ctx); err == nil {
		for _, p := range ps {
			if p.Name == lead.Policy {
				if contact {
					return time.Duration(p.Policy.FirstContactWithin)
				}
				return time.Duration(p.Policy.AcceptWithin)
			}
		}
	}
	switch {
	case contact && lead.ContactBy != nil && lead.AcceptedAt != nil:
		return lead.ContactBy.Sub(*lead.AcceptedAt)
	case lead.AcceptBy != nil && lead.OfferedAt != nil:
		return lead.AcceptBy.Sub(*lead.OfferedAt)
	}
	return 0
}

// teamReps are the people a manager may hand a lead to: the campaign team's
// active reps, but the one holding it and the manager (who takes over).
func (s *Server) teamReps(ctx context.Context, lead store.LeadView, manager string) []domain.PersonRef {
	cs, err := s.Store.CampaignSpec(ctx, lead.Campaign)
	if err != nil {
		return nil
	}
	people, err := s.Store.TeamPeople(ctx, cs.Spec.Team)
	if err != nil {
		return nil
	}
	var out []domain.PersonRef
	for _, p := range people {
		if p.ID == manager || lead.Owner != nil && lead.Owner.ID == p.ID {
			continue
		}
		out = append(out, p)
	}
	return out
}
