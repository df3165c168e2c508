package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

//go:embed templates/*
var templateFS embed.FS

var funcs = map[string]any{
	// local formats an instant in a person's own time zone.
	"local": func(t time.Time, tz string) string {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" {
			loc = time.UTC
		}
		return t.In(loc).Format("Mon 2 Jan 15:04 MST")
	},
	// short is an instant in a person's zone, without the year or zone.
	"short": func(t time.Time, tz string) string {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" {
			loc = time.UTC
		}
		return t.In(loc).Format("Mon 2 Jan 15:04")
	},
	"join": strings.Join,
	// tel is the lead's tel: link (html/template allows no tel: URL of its
	// own making; domain.TelURL lets only "+" and digits through).
	"tel":    func(phone string) htmltemplate.URL { return htmltemplate.URL(domain.TelURL(phone)) },
	"reason": domain.ReasonLabel,
	"orDash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
}

var (
	textT = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt"))
	htmlT = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
)

// Kinds of message (domain names them).
const (
	KindOffer       = domain.KindOffer
	KindReassigned  = domain.KindReassigned
	KindEscalation  = domain.KindEscalation
	KindReminder    = domain.KindReminder
	KindLeader      = domain.KindLeader
	KindUnreachable = domain.KindUnreachable
	KindHanded      = domain.KindHanded
	KindNudge       = domain.KindNudge
)

// LeadKinds are the message kinds about one lead.
var LeadKinds = []string{KindOffer, KindReminder, KindReassigned, KindEscalation, KindLeader, KindUnreachable, KindHanded, KindNudge}

// Notice is everything a template may show.
type Notice struct {
	Kind     string
	Key      string // ledger key: lead + kind + attempt
	To       domain.PersonRef
	Lead     domain.LeadSnapshot
	Campaign domain.CampaignInfo
	Rep      domain.PersonRef // the rep the notice is about
	NextRep  domain.PersonRef // for a reassigned-away notice
	Deadline time.Time
	Links    []store.Link
	LeadURL  string
	Phase    string // "accept" or "contact"; "" means accept
	Level    int    // escalation level (1 manager, 2 sales leader), or reminder number
	// Timeline is the lead's engagement so far (offer), oldest first.
	Timeline []store.TimelineItem
	// Reason says why a lead moved (reassigned, rep-unreachable, handed), or
	// a manager's words (nudge).
	Reason string
	// From is the manager a handed or nudge message comes from.
	From domain.PersonRef
}

// Qualified explains why the lead qualified: the score against the bar and
// the required fields the rule names.
func (n Notice) Qualified() string {
	why := fmt.Sprintf("Score %d", n.Lead.Score)
	if n.Campaign.MinScore > 0 {
		why += fmt.Sprintf(" meets the campaign's bar of %d", n.Campaign.MinScore)
	}
	if len(n.Campaign.RequiredFields) > 0 {
		why += ", and the rule's required fields (" + strings.Join(n.Campaign.RequiredFields, ", ") + ") are given"
	}
	return why
}

// Collateral is the campaign's material for the lead's stage: what to use
// before accepting (offer, reminder) or once working it.
func (n Notice) Collateral() []domain.Collateral {
	stage := "offered"
	if n.Contact() {
		stage = "accepted"
	}
	var out []domain.Collateral
	for _, c := range n.Campaign.Collateral {
		if c.Stage == stage {
			out = append(out, c)
		}
	}
	return out
}

// Contact reports whether the notice is about a contact clock: the first
// contact or a cadence touch.
func (n Notice) Contact() bool { return n.Phase == "contact" || strings.HasPrefix(n.Phase, "cadence") }

// Routing reports whether the notice is about a lead nobody can take.
func (n Notice) Routing() bool { return n.Phase == "routing" }

// Cadence reports whether the notice is about a follow-up touch.
func (n Notice) Cadence() bool { return strings.HasPrefix(n.Phase, "cadence") }

// Who returns "Dana Lee, Acme" or the email when there is no name.
func (n Notice) Who() string {
	who := n.Lead.Name
	if who == "" {
		who = n.Lead.Email
	}
	if n.Lead.Company != "" {
		who += ", " + n.Lead.Company
	}
	return who
}

// Subject is short and specific: what to do, by when, about whom.
func (n Notice) Subject() string {
	loc, err := time.LoadLocation(n.To.TimeZone)
	if err != nil || n.To.TimeZone == "" {
		loc = time.UTC
	}
	by := n.Deadline.In(loc).Format("Mon 15:04")
	switch n.Kind {
	case KindOffer:
		return "Accept by " + by + " — " + n.Who() + " (" + n.Campaign.Name + ")"
	case KindReassigned:
		return "Reassigned to " + n.NextRep.Name + " — " + n.Who() + " (" + n.Campaign.Name + ")"
	case KindEscalation:
		if n.Phase == "routing" {
			return "Escalation: nobody in the team can take " + n.Who()
		}
		if n.Cadence() {
			return "Escalation: " + n.Rep.Name + " missed a follow-up deadline — " + n.Who()
		}
		if n.Contact() {
			return "Escalation: " + n.Rep.Name + " missed the first-contact SLA — " + n.Who()
		}
		return "Escalation: " + n.Rep.Name + " missed the acceptance SLA — " + n.Who()
	case KindUnreachable:
		return "Unreachable: " + n.Rep.Name + " did not get the offer — " + n.Who()
	case KindLeader:
		return fmt.Sprintf("Leadership alert: %s missed %d SLA deadlines — %s", n.Rep.Name, n.Level, n.Who())
	case KindHanded:
		return "Handed to you: contact by " + by + " — " + n.Who() + " (" + n.Campaign.Name + ")"
	case KindNudge:
		if n.Contact() {
			return n.From.Name + " asks: log your first contact — " + n.Who()
		}
		return n.From.Name + " asks: accept it now — " + n.Who()
	case KindReminder:
		if n.Contact() {
			return "Reminder: contact by " + by + " — " + n.Who()
		}
		return "Reminder: accept by " + by + " — " + n.Who() + " (" + n.Campaign.Name + ")"
	}
	return "Baton — " + n.Who()
}

// Compose renders a notice into a message with text and HTML bodies.
func Compose(n Notice, from, replyTo string) (store.Message, error) {
	var txt, html bytes.Buffer
	if err := textT.ExecuteTemplate(&txt, n.Kind+".txt", n); err != nil {
		return store.Message{}, err
	}
	if err := htmlT.ExecuteTemplate(&html, n.Kind+".html", n); err != nil {
		return store.Message{}, err
	}
	m := store.Message{
		Key: n.Key, Kind: n.Kind, To: n.To.Email, ToName: HeaderText(n.To.Name), From: from, ReplyTo: HeaderText(replyTo),
		Subject: HeaderText(n.Subject()), Text: strings.TrimSpace(txt.String()) + "\n", HTML: html.String(), Links: n.Links,
	}
	if Batches(n.Kind) {
		var pt, ph bytes.Buffer
		if err := textT.ExecuteTemplate(&pt, n.Kind+"-part", n); err != nil {
			return store.Message{}, err
		}
		if err := htmlT.ExecuteTemplate(&ph, n.Kind+"-part", n); err != nil {
			return store.Message{}, err
		}
		// The part carries its own heading (the single message's subject),
		// so erasing the lead takes the whole section out of a sent batch.
		m.Part = &store.Part{Text: "--- " + m.Subject + "\n\n" + strings.TrimSpace(pt.String()),
			HTML: `<h2 style="font-size:16px;margin:4px 0">` + htmltemplate.HTMLEscapeString(m.Subject) + "</h2>\n" + ph.String()}
	}
	return m, nil
}

// Batches reports whether messages of a kind are batched per recipient
// (docs/email.md, Batching): escalations.
func Batches(kind string) bool { return kind == KindEscalation }

// batchView is what the batch templates show.
type batchView struct {
	ToName string
	Items  []batchItem
}

type batchItem struct {
	Text string
	HTML htmltemplate.HTML // rendered and escaped by the kind's own part template
}

// ComposeBatch renders a batch: one email to its recipient with each queued
// message's section, its own action links included, in arrival order. The
// subject names no lead, so erasing one leaves nothing personal in the
// ledger.
func ComposeBatch(b store.Batch, from string) (store.Message, error) {
	v := batchView{ToName: b.ToName}
	var links []store.Link
	for _, it := range b.Items {
		v.Items = append(v.Items, batchItem{Text: it.Part.Text, HTML: htmltemplate.HTML(it.Part.HTML)}) // Compose rendered and escaped it
		links = append(links, it.Links...)
	}
	var txt, html bytes.Buffer
	if err := textT.ExecuteTemplate(&txt, b.Kind+"-batch.txt", v); err != nil {
		return store.Message{}, err
	}
	if err := htmlT.ExecuteTemplate(&html, b.Kind+"-batch.html", v); err != nil {
		return store.Message{}, err
	}
	subject := fmt.Sprintf("%d escalations need you", len(b.Items))
	if len(b.Items) == 1 {
		subject = "1 more escalation needs you"
	}
	return store.Message{
		Key: b.Key, Kind: b.Kind, To: b.Recipient, ToName: HeaderText(b.ToName), From: from,
		Subject: subject, Text: strings.TrimSpace(txt.String()) + "\n", HTML: html.String(), Links: links, Step: "batch",
	}, nil
}
