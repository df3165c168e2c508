package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/workflows"
)

// routes adds the signed-in pages, sign-in and operations to the mux.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /signin", s.signinForm)
	mux.HandleFunc("POST /signin", s.signinRequest)
	mux.HandleFunc("GET /signin/{token}", s.signinConfirm)
	mux.HandleFunc("POST /signin/{token}", s.signinComplete)
	mux.HandleFunc("POST /signout", s.signout)
	mux.HandleFunc("GET /inbox", s.inboxPage)
	mux.HandleFunc("GET /campaigns", s.campaignsPage)
	mux.HandleFunc("GET /campaigns/{id}", s.campaignPage)
	mux.HandleFunc("GET /scoreboard", s.scoreboardPage)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("/metrics", s.metricsAuth(s.Metrics.Handler()))
	}
}

// The one-click actions the inbox adds to the emailed ones.
func init() {
	actions["disqualify"] = struct{ Title, Button, Done, DoneText string }{"Disqualify", "Disqualify lead", "Lead disqualified",
		"It is closed with your reason; marketing sees the reason on the campaign page."}
	actions["contact"] = struct{ Title, Button, Done, DoneText string }{"Log a contact with", "Log contact", "Contact logged",
		"The first-contact clock stops at your first logged contact."}
	actions["convert"] = struct{ Title, Button, Done, DoneText string }{"Convert", "Convert lead", "Lead converted",
		"It counts as converted for the campaign; marketing sees it on the campaign page."}
	actions["recycle"] = struct{ Title, Button, Done, DoneText string }{"Recycle", "Recycle to nurture", "Lead recycled",
		"It goes back to marketing's nurture with your reason."}
}

// inboxLinkTTL is how long an action link minted on the inbox page works.
const inboxLinkTTL = time.Hour

func moreUpdates(c token.Claims, r *http.Request) (string, any, error) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	note := strings.TrimSpace(r.PostFormValue("note"))
	switch c.Action {
	case "disqualify":
		if !domain.ValidReason(reason, domain.DisqualifyReasons) {
			return "", nil, errors.New("choose why the lead is disqualified")
		}
		if p := domain.TextProblem(note); p != "" {
			return "", nil, errors.New("the note " + p)
		}
		return workflows.UpdateClose, workflows.CloseInput{RepID: c.Actor, Outcome: workflows.OutcomeDisqualified, Reason: reason, Note: note}, nil
	case "convert":
		return workflows.UpdateClose, workflows.CloseInput{RepID: c.Actor, Outcome: workflows.OutcomeConverted, Reference: r.PostFormValue("reference")}, nil
	case "recycle":
		if !domain.ValidReason(reason, domain.RecycleReasons) {
			return "", nil, errors.New("choose why the lead is recycled")
		}
		return workflows.UpdateClose, workflows.CloseInput{RepID: c.Actor, Outcome: workflows.OutcomeRecycled, Reason: reason}, nil
	case "contact":
		return workflows.UpdateContact, workflows.ContactInput{RepID: c.Actor, Channel: r.PostFormValue("channel"), Note: note}, nil
	}
	return "", nil, errors.New("unknown action")
}

// usedText explains a link that was used already, with where the lead is now.
func (s *Server) usedText(ctx context.Context, c token.Claims, u *store.TokenUse) string {
	text := "This link was already used"
	if u != nil && u.UsedAt != nil {
		text += " on " + u.UsedAt.UTC().Format("Mon 2 Jan 15:04 MST")
	} else {
		text = "This link is being used right now"
	}
	text += ". Each link in Baton's emails works once. Nothing was changed."
	if lead, err := s.Store.Lead(ctx, c.Lead); err == nil {
		text += " The lead is " + lead.State + " now"
		if lead.Owner != nil {
			who := lead.Owner.Name
			if lead.Owner.ID == c.Actor {
				who = "you"
			}
			text += ", held by " + who
			var handed *time.Time // a manager handed it on after a missed first contact
			for _, e := range lead.Events {
				if e.Kind == "handed" {
					handed = &e.At
				}
			}
			if handed != nil && lead.State == "Accepted" {
				text += " since " + handed.UTC().Format("Mon 2 Jan 15:04 MST")
			} else if lead.AcceptedAt != nil {
				text += " since " + lead.AcceptedAt.UTC().Format("Mon 2 Jan 15:04 MST")
			} else if lead.OfferedAt != nil {
				text += " since " + lead.OfferedAt.UTC().Format("Mon 2 Jan 15:04 MST")
			}
		}
		text += "."
	}
	return text
}

// notUsed refuses a link that has been used, with a 403 page.
func (s *Server) notUsed(w http.ResponseWriter, r *http.Request, c token.Claims) bool {
	u, err := s.Store.TokenUsed(r.Context(), c.UseKey())
	if err != nil {
		s.pageError(w, r, err)
		return false
	}
	if u != nil {
		s.messageLinks(w, http.StatusForbidden, "This link cannot be used", s.usedText(r.Context(), c, u), s.staleLinks(c))
		return false
	}
	return true
}

// claim reserves the link for this request's Update (see store.ClaimToken).
func (s *Server) claim(w http.ResponseWriter, r *http.Request, c token.Claims) bool {
	err := s.Store.ClaimToken(r.Context(), c.UseKey(), c.Lead, c.Actor, c.Action)
	if errors.Is(err, store.ErrTokenUsed) {
		u, _ := s.Store.TokenUsed(r.Context(), c.UseKey())
		s.messageLinks(w, http.StatusForbidden, "This link cannot be used", s.usedText(r.Context(), c, u), s.staleLinks(c))
		return false
	}
	if err != nil {
		s.pageError(w, r, err)
		return false
	}
	return true
}

// settle records the link as used when its Update succeeded, and releases the
// claim otherwise: a link is spent only by doing what it says. A stale or
// invalid action changed nothing, so the same link explains itself again.
func (s *Server) settle(r *http.Request, c token.Claims, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hash := c.UseKey()
	log := s.Log.With("lead", c.Lead, "workflow_id", workflows.LeadWorkflowID(c.Lead), "actor", c.Actor, "action", c.Action)
	if err == nil {
		if uerr := s.Store.UseToken(ctx, hash, c.Action); uerr != nil {
			log.Error("record link use", "error", uerr)
		}
		log.Info("one-click action done")
		return
	}
	if rerr := s.Store.ReleaseToken(ctx, hash); rerr != nil {
		log.Error("release link", "error", rerr)
	}
	log.Info("one-click action refused", "error", err)
}

// leadOrTimeline serves /leads/{id}: with ?t= the emailed view link (no
// session needed), else the signed-in timeline.
func (s *Server) leadOrTimeline(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("t") {
		s.leadPage(w, r)
		return
	}
	v, ok := s.requireViewer(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	// A lead the viewer may not see answers exactly like one that does not exist.
	visible := false
	var pending *store.LeadView
	if domain.ValidLeadID(id) {
		var err error
		if visible, err = s.Store.CanSeeLead(r.Context(), v, id); err != nil {
			s.pageError(w, r, err)
			return
		}
		if !visible {
			// Just posted, not in PostgreSQL yet: nobody holds it, so it is
			// visible as its campaign is (leadScope of an unowned lead). A
			// lead that has a row was refused by leadScope and stays refused,
			// whatever its campaign's visibility.
			if p, ok := s.unstoredPending(r.Context(), id); ok {
				if visible, err = s.Store.CanSeeCampaign(r.Context(), v, p.Campaign); err != nil {
					s.pageError(w, r, err)
					return
				}
				pending = &p
			}
		}
	}
	if !visible {
		s.Log.Info("lead not shown", "lead", id, "viewer", v.Email, "role", v.Role)
		s.messageLinks(w, http.StatusNotFound, "Not found", "There is no such lead among those you can see. A lead you declined or let lapse belongs to its new holder now; your manager can see it.",
			[]inboxAction{{"Your inbox", "/inbox"}})
		return
	}
	lead, err := s.Store.Lead(r.Context(), id)
	if pending != nil && errors.Is(err, domain.ErrNotFound) {
		lead, err = *pending, nil
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	data := s.leadData(r.Context(), v, lead)
	data["Viewer"], data["CSRF"] = v, s.signoutToken(r)
	s.render(w, http.StatusOK, "timeline.html", data)
}

// leadData is what the lead pages show a viewer: the record, its deadline
// in the viewer's zone with a countdown, the actions the viewer may take, and
// the history with readable event names.
func (s *Server) leadData(ctx context.Context, v store.Viewer, lead store.LeadView) map[string]any {
	names := s.actorNames(ctx, lead.Events)
	type row struct{ When, What, Who, Why string }
	rows := make([]row, len(lead.Events))
	for i, e := range lead.Events {
		rows[i] = row{When: inZone(e.At, v.TimeZone), What: domain.EventLabel(e.Kind), Who: names[e.Actor], Why: eventWhy(e)}
	}
	il := store.InboxLead{ID: lead.ID, State: lead.State, Attempt: lead.Attempt, AcceptBy: lead.AcceptBy, ContactBy: lead.ContactBy,
		ContactedAt: lead.ContactedAt}
	if lead.Owner != nil {
		il.OwnerID = lead.Owner.ID
	}
	data := map[string]any{"Lead": lead, "Rows": rows, "Zone": zoneName(v.TimeZone), "Actions": s.rowActions(v, il)}
	holder := lead.Owner != nil && lead.Owner.ID == v.PersonID
	if holder && (lead.State == "Accepted" || lead.State == "Contacted") {
		data["MailTo"] = "mailto:" + lead.Email
		data["Tel"] = template.URL(domain.TelURL(lead.Phone)) // only "+" and digits
	}
	// The phone is for whoever works the lead: its holder and the team's
	// manager (a manager sees only their team's leads). Leaders and
	// marketers see the lead, not the number.
	if lead.Phone != "" && (holder || v.Role == store.RoleManager) {
		data["Phone"], data["PhoneTel"] = lead.Phone, template.URL(domain.TelURL(lead.Phone))
	}
	if d := il.Deadline(); d != nil {
		label := "Accept by"
		if lead.State == "Accepted" {
			label = "First contact by"
		}
		data["DeadlineLabel"], data["DeadlineAt"], data["DeadlineISO"] = label, inZone(*d, v.TimeZone), d.UTC().Format(time.RFC3339)
		data["Countdown"], data["Overdue"] = Countdown(s.Now(), *d), d.Before(s.Now())
	}
	return data
}

// eventWhy is an event's reason in words, with the rep's note.
func eventWhy(e store.EventView) string {
	why := e.Reason
	switch e.Kind {
	case "rejected", "disqualified", "recycled":
		why = domain.ReasonLabel(e.Reason)
	}
	if n := e.Data["note"]; n != "" {
		why = strings.TrimSpace(why + " — " + n)
	}
	return why
}

// actorNames turns "rep:ana" into "Ana Schmidt (rep)".
func (s *Server) actorNames(ctx context.Context, evs []store.EventView) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		if _, done := out[e.Actor]; done {
			continue
		}
		kind, id, ok := strings.Cut(e.Actor, ":")
		out[e.Actor] = e.Actor
		if ok && (kind == "rep" || kind == "manager") {
			if p, err := s.Store.Person(ctx, id); err == nil {
				out[e.Actor] = p.Name + " (" + kind + ")"
			}
		}
	}
	return out
}

func loadZone(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		return loc
	}
	return time.UTC
}

func zoneName(tz string) string { return loadZone(tz).String() }

func inZone(t time.Time, tz string) string { return t.In(loadZone(tz)).Format("Mon 2 Jan 15:04 MST") }

// Countdown says how long until a deadline, or how long since it passed.
func Countdown(now, deadline time.Time) string {
	d := deadline.Sub(now)
	over := d < 0 // decided before rounding: ten seconds late is overdue
	if over {
		d = -d
	}
	d = d.Round(time.Minute)
	var txt string
	switch days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute); {
	case days > 0:
		txt = fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		txt = fmt.Sprintf("%dh %02dm", h, m)
	default:
		txt = fmt.Sprintf("%dm", m)
	}
	if over {
		return "overdue by " + txt
	}
	return "in " + txt
}

type inboxAction struct{ Label, URL string }

// MissedFirstContact reports whether an accepted lead's first-contact
// deadline passed with no contact logged: what a manager may hand on,
// extend or nudge about (issue 16).
func MissedFirstContact(state string, contactBy, contactedAt *time.Time, now time.Time) bool {
	return state == "Accepted" && contactedAt == nil && contactBy != nil && !now.Before(*contactBy)
}

type inboxRow struct {
	store.InboxLead
	DeadlineLabel, DeadlineAt, DeadlineISO, Countdown string
	Overdue                                           bool
	Actions                                           []inboxAction
	// GroupHead starts a rep's group in a manager's queue (their name).
	GroupHead string
}

func (s *Server) link(c token.Claims) string {
	c.Expires = s.Now().Add(inboxLinkTTL).Unix()
	return "/a/" + s.Signer.Sign(c)
}

// rowActions are the one-click links a viewer may use on a lead: they go
// through the same confirm page, CSRF check and single use as emailed links.
func (s *Server) rowActions(v store.Viewer, l store.InboxLead) []inboxAction {
	if v.PersonID == "" {
		return nil
	}
	c := token.Claims{Lead: l.ID, Actor: v.PersonID, Attempt: l.Attempt}
	var out []inboxAction
	add := func(action, label string) {
		c.Action = action
		out = append(out, inboxAction{label, s.link(c)})
	}
	mine := l.OwnerID == v.PersonID
	switch {
	case mine && (l.State == "Offered" || l.State == "Escalated"):
		add("accept", "Accept")
		add("reject", "Decline")
	case mine && (l.State == "Accepted" || l.State == "Contacted"):
		add("contact", "Log contact")
		add("convert", "Convert")
		add("recycle", "Recycle")
		add("disqualify", "Disqualify")
	case v.Role == store.RoleManager && (l.State == "Offered" || l.State == "Escalated"):
		add("reassign", "Hand to a rep")
		add("takeover", "Take over")
		if l.State == "Offered" {
			add("extend", "Extend")
		}
		if l.State == "Escalated" && l.OwnerID != "" {
			add("nudge", "Nudge the rep")
		}
	case v.Role == store.RoleManager && MissedFirstContact(l.State, l.ContactBy, l.ContactedAt, s.Now()):
		add("hand", "Hand to a rep")
		add("hand-self", "Take over")
		add("extend-contact", "Extend")
		add("nudge", "Nudge the rep")
	}
	return out
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.requireViewer(w, r)
	if !ok {
		return
	}
	leads, err := s.Store.OpenLeads(r.Context(), v, 200)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	now := s.Now()
	rows := make([]inboxRow, len(leads))
	for i, l := range leads {
		row := inboxRow{InboxLead: l, Actions: s.rowActions(v, l)}
		if d := l.Deadline(); d != nil {
			row.DeadlineLabel = "Accept by"
			if l.State == "Accepted" {
				row.DeadlineLabel = "First contact by"
			}
			row.DeadlineAt, row.DeadlineISO = inZone(*d, v.TimeZone), d.UTC().Format(time.RFC3339)
			row.Countdown, row.Overdue = Countdown(now, *d), d.Before(now)
		}
		rows[i] = row
	}
	q := r.URL.Query()
	repFilter, queueFilter := q.Get("rep"), q.Get("queue")
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Rows": rows, "Zone": zoneName(v.TimeZone),
		"Queues": Queues(rows, repFilter, queueFilter, v.Role != store.RoleRep), "RepFilter": repFilter, "QueueFilter": queueFilter,
		"QueueNames": queueNames, "Marketer": v.Role == store.RoleMarketer}
	if v.Role != store.RoleRep {
		data["Groups"] = ByOwner(rows)
	}
	if v.Role == store.RoleRep {
		recs, err := s.Store.RepRecords(r.Context(), v, now.AddDate(0, 0, -30), now)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if len(recs) == 1 {
			data["Record"] = recs[0]
		}
	}
	s.render(w, http.StatusOK, "inbox.html", data)
}

// The inbox is a work queue: what can still be won first, then what is late.
var queueNames = []struct{ ID, Title string }{
	{"accept", "Accept now"}, {"contact", "Contact now"}, {"overdue", "Overdue"}, {"follow-up", "In follow-up"}, {"other", "Waiting for a rep"}}

// queueOf is the queue a lead belongs in.
func queueOf(r inboxRow) string {
	switch {
	case r.Overdue:
		return "overdue"
	case r.State == "Offered" || r.State == "Escalated":
		return "accept"
	case r.State == "Accepted" && r.ContactedAt == nil:
		return "contact"
	case r.State == "Accepted" || r.State == "Contacted":
		return "follow-up"
	}
	return "other"
}

// Queue is one section of the inbox with its leads.
type Queue struct {
	ID, Title string
	Rows      []inboxRow
}

// Queues sorts rows into the work queues, in order (winnable first; within
// a queue, the nearest deadline first as OpenLeads lists them), keeping only
// a rep's leads and one queue when filters are set. Empty queues stay, so
// the counts show zero.
func Queues(rows []inboxRow, rep, only string, byRep bool) []Queue {
	var out []Queue
	for _, qn := range queueNames {
		if only != "" && qn.ID != only {
			continue
		}
		q := Queue{ID: qn.ID, Title: qn.Title}
		for _, r := range rows {
			if queueOf(r) == qn.ID && (rep == "" || r.OwnerID == rep) {
				q.Rows = append(q.Rows, r)
			}
		}
		if byRep {
			// Grouped by who holds the lead, nearest deadline first within each.
			sort.SliceStable(q.Rows, func(i, j int) bool { return q.Rows[i].OwnerName < q.Rows[j].OwnerName })
			for i := range q.Rows {
				if i == 0 || q.Rows[i].OwnerID != q.Rows[i-1].OwnerID {
					q.Rows[i].GroupHead = q.Rows[i].OwnerName
					if q.Rows[i].GroupHead == "" {
						q.Rows[i].GroupHead = "Nobody"
					}
				}
			}
		}
		if len(q.Rows) > 0 || qn.ID == "accept" || qn.ID == "contact" || qn.ID == "overdue" {
			out = append(out, q)
		}
	}
	return out
}

// OwnerGroup is one rep's open leads with the count in each queue.
type OwnerGroup struct {
	ID, Name string
	Counts   map[string]int
	Total    int
}

// ByOwner groups rows by who holds them, by name, with counts per queue.
func ByOwner(rows []inboxRow) []OwnerGroup {
	idx := map[string]int{}
	var out []OwnerGroup
	for _, r := range rows {
		i, ok := idx[r.OwnerID]
		if !ok {
			i = len(out)
			idx[r.OwnerID] = i
			name := r.OwnerName
			if name == "" {
				name = "Nobody"
			}
			out = append(out, OwnerGroup{ID: r.OwnerID, Name: name, Counts: map[string]int{}})
		}
		out[i].Counts[queueOf(r)]++
		out[i].Total++
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// pctBar is a percentage bar: green at or above the target, red below.
func pctBar(label string, met, missed int, target float64) (Bar, bool) {
	p, ok := Percent(met, missed)
	if !ok {
		return Bar{Label: label, Display: "—"}, false
	}
	b := Bar{Label: label, Value: p, Display: fmt.Sprintf("%.0f%%", p), Class: "good"}
	switch {
	case target <= 0:
		b.Class = "" // nothing was promised: neither good nor bad
	case p < target:
		b.Class = "bad"
	}
	return b, true
}

// slaTarget is the compliance the scoreboard colours green.
const slaTarget = 90

// TeamSLA sums rep records by team, in the order the teams first appear.
// Deadlines and misses add up; durations do not, so a team shows none.
func TeamSLA(reps []store.RepSLA) []store.RepSLA {
	var out []store.RepSLA
	idx := map[string]int{}
	for _, r := range reps {
		i, ok := idx[r.TeamID]
		if !ok {
			i = len(out)
			idx[r.TeamID] = i
			name := r.TeamName
			if name == "" {
				name = "No team"
			}
			out = append(out, store.RepSLA{TeamID: r.TeamID, TeamName: name, Name: name})
		}
		t := &out[i]
		t.SLA.N += r.SLA.N
		t.SLA.Of += r.SLA.Of
		t.Offers += r.Offers
		t.Accepted += r.Accepted
		t.MissedAccept = append(t.MissedAccept, r.MissedAccept...)
		t.MissedContact = append(t.MissedContact, r.MissedContact...)
	}
	return out
}

// MarketerSLA is the marketing side summed by campaign owner: leads handed
// to sales, how many sales accepted of those it decided on, and the
// commitments met.
type MarketerSLA struct {
	Name, Email                 string
	Campaigns, MQL              int
	Acceptance                  domain.Ratio // leads
	Commitments, CommitmentsMet int
	CommitmentText              string
}

// AcceptancePct is the marketer's acceptance in words.
func (m MarketerSLA) AcceptancePct() string {
	if !m.Acceptance.Known() {
		return "no decided leads yet"
	}
	return fmt.Sprintf("%s (%d of %s)", m.Acceptance.Pct(), m.Acceptance.N, domain.Plural(m.Acceptance.Of, "decided lead", "decided leads"))
}

// ByMarketer sums campaigns by owner email, in the order owners first appear.
func ByMarketer(ms []marketingView) []MarketerSLA {
	var out []MarketerSLA
	idx := map[string]int{}
	for _, m := range ms {
		key := strings.ToLower(m.OwnerEmail)
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, MarketerSLA{Name: m.OwnerName, Email: m.OwnerEmail})
		}
		o := &out[i]
		o.Campaigns++
		o.MQL += m.Stats.MQLs
		o.Acceptance.N += m.Stats.Metrics.Acceptance.N
		o.Acceptance.Of += m.Stats.Metrics.Acceptance.Of
		if m.Commit.MQLsPerWeek > 0 {
			o.Commitments++
			if m.VolumeMet {
				o.CommitmentsMet++
			}
		}
		if m.Commit.MinAcceptance > 0 {
			o.Commitments++
			if m.QualityMet {
				o.CommitmentsMet++
			}
		}
	}
	for i := range out {
		out[i].CommitmentText = "none in the specs"
		if out[i].Commitments > 0 {
			out[i].CommitmentText = fmt.Sprintf("%d of %d met", out[i].CommitmentsMet, out[i].Commitments)
		}
	}
	return out
}

// marketingView is a campaign's shared numbers to date (domain metrics) and
// marketing's commitments against them.
type marketingView struct {
	store.CampaignStat
	Stats                   domain.CampaignStats
	Lines                   []domain.MetricLine
	Commit                  store.Commitments
	Live                    bool
	VolumeMet, QualityMet   bool
	VolumeText, QualityText string
}

// Judging says how commitments are judged on the pages.
const Judging = "MQL volume is judged pro rata: the weekly commitment times the share of a period the campaign has been live. Lead quality is judged on the leads sales decided on so far. The weekly digest judges each complete period on its own."

func (s *Server) marketing(ctx context.Context, c store.CampaignStat) (marketingView, error) {
	m := marketingView{CampaignStat: c, Commit: store.ParseCommitments(c.Spec)}
	now := s.Now()
	cs, st, err := s.Store.CampaignToDate(ctx, c.ID, now)
	if err != nil {
		return m, err
	}
	m.Stats, m.Lines, m.Live = st, st.Metrics.Lines(), cs.LiveAt != nil
	m.VolumeText, m.QualityText = "no commitment in the campaign spec", "no commitment in the campaign spec"
	if m.Commit.MQLsPerWeek > 0 {
		if cs.LiveAt == nil {
			m.VolumeText = "not judged: the campaign has not gone live"
			m.VolumeMet = true
		} else {
			_, to := store.ToDate(cs, now)
			vol := domain.Volume{MQLs: st.MQLs, PerPeriod: cs.Spec.Commitments.MQLsPerWeek, Period: cs.Spec.CheckEvery(), Live: to.Sub(*cs.LiveAt)}
			m.VolumeMet, m.VolumeText = vol.Met(), vol.String()
		}
	}
	if m.Commit.MinAcceptance > 0 {
		a := st.Metrics.Acceptance
		m.QualityMet = !a.Known() || a.Rate() >= m.Commit.MinAcceptance
		if a.Known() {
			m.QualityText = fmt.Sprintf("%s of decided leads accepted (%d of %d), %s committed", a.Pct(), a.N, a.Of, domain.Pct(m.Commit.MinAcceptance))
		} else {
			m.QualityText = fmt.Sprintf("not judged yet: sales has decided on no lead (%s committed)", domain.Pct(m.Commit.MinAcceptance))
		}
	}
	return m, nil
}

func (s *Server) marketingViews(ctx context.Context, stats []store.CampaignStat) ([]marketingView, error) {
	views := make([]marketingView, len(stats))
	for i, c := range stats {
		var err error
		if views[i], err = s.marketing(ctx, c); err != nil {
			return nil, err
		}
	}
	return views, nil
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.requireViewer(w, r)
	if !ok {
		return
	}
	stats, err := s.Store.CampaignFunnels(r.Context(), v, "")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	views, err := s.marketingViews(r.Context(), stats)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "campaigns.html", map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Campaigns": views,
		"Cohort": domain.CohortRule})
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.requireViewer(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	var stats []store.CampaignStat
	var err error
	if domain.ValidSlug(id) {
		stats, err = s.Store.CampaignFunnels(r.Context(), v, id)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	if len(stats) != 1 {
		s.message(w, http.StatusNotFound, "Not found", "There is no such campaign.")
		return
	}
	m, err := s.marketing(r.Context(), stats[0])
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	st := m.Stats
	funnel := []Bar{{Label: "Captured", Value: float64(st.Captured)}, {Label: "MQL", Value: float64(st.MQLs)},
		{Label: "Accepted", Value: float64(st.Accepted)}, {Label: "Contacted", Value: float64(st.Contacted)},
		{Label: "Converted", Value: float64(st.Converted)}}
	var reasonBars []Bar
	for _, rc := range st.Declines {
		reasonBars = append(reasonBars, Bar{Label: domain.ReasonLabel(rc.Name), Value: float64(rc.N), Class: "bad"})
	}
	names := s.actorNames(r.Context(), declineActors(st.Notes))
	type declined struct {
		domain.RepNote
		Rep, Reason string
	}
	var decl, disq []declined
	for _, n := range st.Notes {
		d := declined{n, names["rep:"+n.Rep], domain.ReasonLabel(n.Reason)}
		if n.Kind == "disqualified" {
			disq = append(disq, d)
		} else {
			decl = append(decl, d)
		}
	}
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "C": m, "Funnel": funnel, "Defs": domain.MetricDefs,
		"Cohort": domain.CohortRule, "Judging": Judging, "Declined": decl, "DisqualifiedNotes": disq,
		"FunnelChart": HBars("funnel", "Leads at each step (count of leads: MQLs to date and what became of them)", "", funnel, 0, 0)}
	if len(reasonBars) > 0 {
		data["ReasonsChart"] = HBars("reasons", "Declines by reason (count of declines)", "", reasonBars, 0, 0)
	}
	var sla []Bar
	if b, ok := pctBar("SLA compliance", st.Metrics.SLA.N, st.Metrics.SLA.Of-st.Metrics.SLA.N, slaTarget); ok {
		sla = append(sla, b)
	}
	if len(sla) > 0 {
		data["SLAChart"] = HBars("sla", fmt.Sprintf("SLA compliance, %% of deadlines kept (target %d%%)", slaTarget), "%", sla, 100, slaTarget)
	}
	s.render(w, http.StatusOK, "campaign.html", data)
}

// declineActors turns decline notes into events for actorNames.
func declineActors(ns []domain.RepNote) []store.EventView {
	out := make([]store.EventView, len(ns))
	for i, n := range ns {
		out[i].Actor = "rep:" + n.Rep
	}
	return out
}

// scoreboardDays is how many days the breaches chart covers.
const scoreboardDays = 14

func (s *Server) scoreboardPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.requireViewer(w, r)
	if !ok {
		return
	}
	now := s.Now()
	since := now.AddDate(0, 0, -30)
	reps, err := s.Store.RepRecords(r.Context(), v, since, now)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	stats, err := s.Store.CampaignFunnels(r.Context(), v, "")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	days, err := s.Store.Daily(r.Context(), v, now.AddDate(0, 0, -(scoreboardDays-1)), now)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	teams := TeamSLA(reps)
	var teamBars, repBars, missBars, causeBars, volBars, accBars []Bar
	type line struct {
		store.RepSLA
		Pct string
	}
	var teamRows, repRows []line
	for _, t := range teams {
		b, _ := pctBar(t.TeamName, t.Met(), t.Missed(), slaTarget)
		teamBars = append(teamBars, b)
		teamRows = append(teamRows, line{t, t.SLA.Pct()})
	}
	for _, rp := range reps {
		b, _ := pctBar(rp.Name, rp.Met(), rp.Missed(), slaTarget)
		repBars = append(repBars, b)
		repRows = append(repRows, line{rp, rp.SLA.Pct()})
		for _, c := range rp.Causes {
			causeBars = append(causeBars, Bar{Label: rp.Name + ": " + c.Label, Value: float64(len(c.Leads)), Class: "bad"})
		}
		if n := len(rp.MissedAccept) + len(rp.MissedContact); n > 0 {
			missBars = append(missBars, Bar{Label: rp.Name + ": acceptances", Value: float64(len(rp.MissedAccept)), Class: "bad"},
				Bar{Label: rp.Name + ": first contacts", Value: float64(len(rp.MissedContact)), Class: "bad"})
		}
	}
	mkt, err := s.marketingViews(r.Context(), stats)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, m := range mkt {
		if m.Commit.MQLsPerWeek > 0 && m.Live {
			b := Bar{Label: m.Name, Value: float64(m.Stats.MQLs), Class: "good"}
			if !m.VolumeMet {
				b.Class = "bad"
			}
			volBars = append(volBars, b)
		}
		if a := m.Stats.Metrics.Acceptance; a.Known() {
			b, _ := pctBar(m.Name, a.N, a.Of-a.N, 100*m.Commit.MinAcceptance)
			accBars = append(accBars, b)
		}
	}
	labels := make([]string, len(days))
	breaches := Series{Name: "Sales deadlines missed", Color: colorBad}
	escalations := Series{Name: "Escalations", Color: colorBar}
	mktMisses := Series{Name: "Marketing commitments missed", Color: colorMarketing}
	for i, d := range days {
		labels[i] = d.Day.UTC().Format("2 Jan")
		breaches.Values = append(breaches.Values, float64(d.Breaches))
		escalations.Values = append(escalations.Values, float64(d.Escalations))
		mktMisses.Values = append(mktMisses.Values, float64(d.MarketingBreaches))
	}
	sort.SliceStable(mkt, func(i, j int) bool { return mkt[i].ID < mkt[j].ID })
	marketers := ByMarketer(mkt)
	var marketerBars []Bar
	for _, m := range marketers {
		if b, ok := pctBar(m.Name, m.Acceptance.N, m.Acceptance.Of-m.Acceptance.N, 0); ok {
			marketerBars = append(marketerBars, b)
		}
	}
	by := "team"
	if v.Role == store.RoleRep {
		by = "me"
	}
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Teams": teamRows, "Reps": repRows, "Marketing": mkt, "Marketers": marketers, "Days": days,
		"Since": inZone(since, v.TimeZone), "Defs": domain.MetricDefs, "Cohort": domain.CohortRule, "Judging": Judging, "By": by,
		"OverTime": Columns("over-time", fmt.Sprintf("Sales deadlines missed per day, last %d days (UTC)", scoreboardDays), "missed", labels, breaches),
		"EscTime":  Columns("esc-time", fmt.Sprintf("Escalations per day, last %d days (UTC)", scoreboardDays), "escalations", labels, escalations),
		"MktTime":  Columns("mkt-time", fmt.Sprintf("Marketing commitments missed per day, last %d days (UTC)", scoreboardDays), "missed", labels, mktMisses)}
	if len(teamBars) > 0 && v.Role != store.RoleRep {
		data["TeamChart"] = HBars("by-team", fmt.Sprintf("SLA compliance by team, %% of deadlines kept (target %d%%)", slaTarget), "%", teamBars, 100, slaTarget)
	}
	if len(repBars) > 0 {
		data["RepChart"] = HBars("by-rep", fmt.Sprintf("SLA compliance by rep, %% of deadlines kept (target %d%%)", slaTarget), "%", repBars, 100, slaTarget)
	}
	if len(missBars) > 0 {
		data["MissChart"] = HBars("misses", "Deadlines missed by rep: acceptances vs first contacts (count of deadlines)", "", missBars, 0, 0)
	}
	if len(causeBars) > 0 {
		data["CauseChart"] = HBars("causes", "Causes recorded by rep: off shift, at cap, away, declines by reason (count of leads)", "", causeBars, 0, 0)
	}
	if len(marketerBars) > 0 {
		data["MarketerChart"] = HBars("by-marketer", "Acceptance by marketer, % of decided leads", "%", marketerBars, 100, 0)
	}
	if len(volBars) > 0 {
		data["VolumeChart"] = HBars("volume", "MQLs to date by campaign (count of leads; red below the pro-rata commitment)", "", volBars, 0, 0)
	}
	if len(accBars) > 0 {
		data["AcceptChart"] = HBars("by-campaign", "Acceptance by campaign, % of decided leads", "%", accBars, 100, 0)
	}
	s.render(w, http.StatusOK, "scoreboard.html", data)
}
