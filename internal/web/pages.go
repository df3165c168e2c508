package web

import (
	"context"
	"errors"
	"fmt"
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
		return workflows.UpdateClose, workflows.CloseInput{RepID: c.Actor, Outcome: workflows.OutcomeDisqualified, Reason: reason}, nil
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
			if lead.AcceptedAt != nil {
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
		s.message(w, http.StatusForbidden, "This link cannot be used", s.usedText(r.Context(), c, u))
		return false
	}
	return true
}

// claim reserves the link for this request's Update (see store.ClaimToken).
func (s *Server) claim(w http.ResponseWriter, r *http.Request, c token.Claims) bool {
	err := s.Store.ClaimToken(r.Context(), c.UseKey(), c.Lead, c.Actor, c.Action)
	if errors.Is(err, store.ErrTokenUsed) {
		u, _ := s.Store.TokenUsed(r.Context(), c.UseKey())
		s.message(w, http.StatusForbidden, "This link cannot be used", s.usedText(r.Context(), c, u))
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
	if domain.ValidLeadID(id) {
		var err error
		if visible, err = s.Store.CanSeeLead(r.Context(), v, id); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	if !visible {
		s.Log.Info("lead not shown", "lead", id, "viewer", v.Email, "role", v.Role)
		s.message(w, http.StatusNotFound, "Not found", "There is no such lead.")
		return
	}
	lead, err := s.Store.Lead(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	names := s.actorNames(r.Context(), lead.Events)
	type row struct{ When, What, Who, Why string }
	rows := make([]row, len(lead.Events))
	for i, e := range lead.Events {
		why := e.Reason
		if n := e.Data["note"]; n != "" {
			why = strings.TrimSpace(why + " — " + n)
		}
		rows[i] = row{When: inZone(e.At, v.TimeZone), What: e.Kind, Who: names[e.Actor], Why: why}
	}
	s.render(w, http.StatusOK, "timeline.html", map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Lead": lead, "Rows": rows,
		"Zone": zoneName(v.TimeZone)})
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

type inboxRow struct {
	store.InboxLead
	DeadlineLabel, DeadlineAt, DeadlineISO, Countdown string
	Overdue                                           bool
	Actions                                           []inboxAction
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
		add("disqualify", "Disqualify")
	case v.Role == store.RoleManager && (l.State == "Offered" || l.State == "Escalated"):
		add("reassign", "Send to next rep")
		add("takeover", "Take over")
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
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Rows": rows, "Zone": zoneName(v.TimeZone)}
	if v.Role == store.RoleRep {
		recs, err := s.Store.RepRecords(r.Context(), v, now.AddDate(0, 0, -30))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if len(recs) == 1 {
			rec := recs[0]
			pct, any := Percent(rec.Met(), rec.Missed())
			data["Record"] = rec
			data["RecordPct"] = pctText(pct, any)
		}
	}
	s.render(w, http.StatusOK, "inbox.html", data)
}

func pctText(p float64, ok bool) string {
	if !ok {
		return "no deadlines yet"
	}
	return fmt.Sprintf("%.0f%%", p)
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
		t.Accepted += r.Accepted
		t.Lapsed += r.Lapsed
		t.Rejected += r.Rejected
		t.FirstContacts += r.FirstContacts
		t.Breaches += r.Breaches
	}
	return out
}

// MarketerSLA is the marketing side summed by campaign owner: leads handed
// to sales, how many sales accepted, and the commitments met.
type MarketerSLA struct {
	Name, Email                   string
	Campaigns, MQL                int
	Accepted, Declined            int // declined: rejected or lapsed offers
	Commitments, CommitmentsMet   int
	AcceptancePct, CommitmentText string
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
		o.MQL += m.MQL
		o.Accepted += m.Accepted
		o.Declined += m.Rejected + m.Lapsed
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
		out[i].AcceptancePct = "no offers yet"
		if p, ok := Percent(out[i].Accepted, out[i].Declined); ok {
			out[i].AcceptancePct = fmt.Sprintf("%.0f%%", p)
		}
		out[i].CommitmentText = "none in the specs"
		if out[i].Commitments > 0 {
			out[i].CommitmentText = fmt.Sprintf("%d of %d met", out[i].CommitmentsMet, out[i].Commitments)
		}
	}
	return out
}

// marketingView is a campaign's marketing side: commitments against actuals.
type marketingView struct {
	store.CampaignStat
	Commit                                 store.Commitments
	Weeks, ExpectedMQL                     float64
	Acceptance                             float64
	HasAcceptance, VolumeMet, QualityMet   bool
	VolumeText, QualityText, AcceptSLAText string
	ContactSLAText                         string
}

func (s *Server) marketing(c store.CampaignStat) marketingView {
	m := marketingView{CampaignStat: c, Commit: store.ParseCommitments(c.Spec)}
	m.Weeks = s.Now().Sub(c.CreatedAt).Hours() / (24 * 7)
	if m.Weeks < 1 {
		m.Weeks = 1 // a commitment per week is judged on a week at least
	}
	m.Acceptance, m.HasAcceptance = Percent(c.Accepted, c.Rejected+c.Lapsed)
	m.VolumeText, m.QualityText = "no commitment in the campaign spec", "no commitment in the campaign spec"
	if m.Commit.MQLsPerWeek > 0 {
		m.ExpectedMQL = m.Commit.MQLsPerWeek * m.Weeks
		m.VolumeMet = float64(c.MQL) >= m.ExpectedMQL
		m.VolumeText = fmt.Sprintf("%d MQLs of %.0f committed (%.0f a week over %.1f weeks)", c.MQL, m.ExpectedMQL, m.Commit.MQLsPerWeek, m.Weeks)
	}
	if m.Commit.MinAcceptance > 0 {
		m.QualityMet = m.HasAcceptance && m.Acceptance >= 100*m.Commit.MinAcceptance
		m.QualityText = fmt.Sprintf("%s accepted, %.0f%% committed", pctText(m.Acceptance, m.HasAcceptance), 100*m.Commit.MinAcceptance)
	}
	m.AcceptSLAText = pctText(Percent(c.Accepted, c.Lapsed))
	m.ContactSLAText = pctText(Percent(c.Contacted, c.Breaches))
	return m
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
	views := make([]marketingView, len(stats))
	for i, c := range stats {
		views[i] = s.marketing(c)
	}
	s.render(w, http.StatusOK, "campaigns.html", map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Campaigns": views})
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
	m := s.marketing(stats[0])
	c := m.CampaignStat
	funnel := []Bar{{Label: "Captured", Value: float64(c.Captured)}, {Label: "MQL", Value: float64(c.MQL)},
		{Label: "Accepted", Value: float64(c.Accepted)}, {Label: "Contacted", Value: float64(c.Contacted)},
		{Label: "Converted", Value: float64(c.Converted)}}
	rejected, err := s.Store.Reasons(r.Context(), id, "rejected")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	disq, err := s.Store.Reasons(r.Context(), id, "disqualified")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var reasonBars []Bar
	for _, rc := range rejected {
		reasonBars = append(reasonBars, Bar{Label: rc.Reason, Value: float64(rc.Count), Class: "bad"})
	}
	var sla []Bar
	if b, ok := pctBar("Accepted in time", c.Accepted, c.Lapsed, slaTarget); ok {
		sla = append(sla, b)
	}
	if b, ok := pctBar("Contacted in time", c.Contacted, c.Breaches, slaTarget); ok {
		sla = append(sla, b)
	}
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "C": m, "Funnel": funnel,
		"FunnelChart": HBars("funnel", "Funnel of "+c.Name+": captured, MQL, accepted, contacted, converted", funnel, 0),
		"Rejected":    rejected, "Disqualified": disq}
	if len(reasonBars) > 0 {
		data["ReasonsChart"] = HBars("reasons", "Why sales declined leads of "+c.Name, reasonBars, 0)
	}
	if len(sla) > 0 {
		data["SLAChart"] = HBars("sla", "SLA compliance on leads of "+c.Name, sla, 100)
	}
	s.render(w, http.StatusOK, "campaign.html", data)
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
	reps, err := s.Store.RepRecords(r.Context(), v, since)
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
	var teamBars, repBars, mktBars []Bar
	type line struct {
		store.RepSLA
		Pct string
	}
	var teamRows, repRows []line
	for _, t := range teams {
		b, _ := pctBar(t.TeamName, t.Met(), t.Missed(), slaTarget)
		teamBars = append(teamBars, b)
		teamRows = append(teamRows, line{t, pctText(Percent(t.Met(), t.Missed()))})
	}
	for _, rp := range reps {
		b, _ := pctBar(rp.Name, rp.Met(), rp.Missed(), slaTarget)
		repBars = append(repBars, b)
		repRows = append(repRows, line{rp, pctText(Percent(rp.Met(), rp.Missed()))})
	}
	var mkt []marketingView
	for _, c := range stats {
		m := s.marketing(c)
		mkt = append(mkt, m)
		if m.Commit.MQLsPerWeek > 0 {
			att := 100 * float64(c.MQL) / m.ExpectedMQL
			b := Bar{Label: c.Name, Value: att, Display: fmt.Sprintf("%.0f%%", att), Class: "good"}
			if !m.VolumeMet {
				b.Class = "bad"
			}
			mktBars = append(mktBars, b)
		} else if m.HasAcceptance {
			b, _ := pctBar(truncate(c.Name, 10)+" accepted", c.Accepted, c.Rejected+c.Lapsed, 100*m.Commit.MinAcceptance)
			mktBars = append(mktBars, b)
		}
	}
	labels := make([]string, len(days))
	breaches := Series{Name: "Sales breaches", Color: colorBad}
	escalations := Series{Name: "Escalations", Color: colorBar}
	mktMisses := Series{Name: "Marketing breaches", Color: colorMarketing}
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
		if b, ok := pctBar(m.Name, m.Accepted, m.Declined, 0); ok {
			marketerBars = append(marketerBars, b)
		}
	}
	data := map[string]any{"Viewer": v, "CSRF": s.signoutToken(r), "Teams": teamRows, "Reps": repRows, "Marketing": mkt, "Marketers": marketers, "Days": days,
		"Since": inZone(since, v.TimeZone),
		"OverTime": Columns("over-time", fmt.Sprintf("Breaches (both sides) and escalations per day, last %d days (UTC)", scoreboardDays),
			labels, []Series{breaches, escalations, mktMisses})}
	if len(teamBars) > 0 {
		data["TeamChart"] = HBars("by-team", "Sales SLA compliance by team, last 30 days", teamBars, 100)
	}
	if len(repBars) > 0 {
		data["RepChart"] = HBars("by-rep", "Sales SLA compliance by rep, last 30 days", repBars, 100)
	}
	if len(marketerBars) > 0 {
		data["MarketerChart"] = HBars("by-marketer", "Share of each marketer's offered leads that sales accepted", marketerBars, 100)
	}
	if len(mktBars) > 0 {
		data["MarketingChart"] = HBars("by-campaign", "Marketing commitments met by campaign (MQL volume, or acceptance)", mktBars, 0)
	}
	s.render(w, http.StatusOK, "scoreboard.html", data)
}
