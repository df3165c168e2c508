package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/token"
)

// The out-of-office page: a signed link (action "away", Lead = the rep, Actor
// = the rep or their manager) opens a form; the POST records the period.
// `starter directory away-link` prints such links.

const (
	awayCSRFCookie = "baton_away_csrf"
	localMinute    = "2006-01-02T15:04"
	// MaxAway bounds one out-of-office period; a longer one is a typo.
	MaxAway = 366 * 24 * time.Hour
)

// awayParties checks the token and who may act; on failure it writes the page.
func (s *Server) awayParties(w http.ResponseWriter, r *http.Request) (token.Claims, domain.PersonRef, domain.PersonRef, bool) {
	var rep, actor domain.PersonRef
	c, ok := s.verify(w, r, "away")
	if !ok {
		return c, rep, actor, false
	}
	may, err := s.Store.MayActFor(r.Context(), c.Actor, c.Lead)
	if err == nil && !may {
		s.message(w, http.StatusForbidden, "This link cannot be used",
			"Only the rep, their manager or the sales leader may set a rep's out-of-office. Nothing was changed.")
		return c, rep, actor, false
	}
	if err == nil {
		rep, err = s.Store.Person(r.Context(), c.Lead)
	}
	if err == nil {
		actor, err = s.Store.Person(r.Context(), c.Actor)
	}
	if err != nil {
		s.pageError(w, r, err)
		return c, rep, actor, false
	}
	return c, rep, actor, true
}

func (s *Server) awayPage(w http.ResponseWriter, r *http.Request) {
	_, rep, actor, ok := s.awayParties(w, r)
	if !ok {
		return
	}
	periods, err := s.Store.AwayPeriods(r.Context(), rep.ID, s.Now())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	loc := zone(rep.TimeZone)
	type row struct{ From, Until, Reason string }
	var rows []row
	for _, p := range periods {
		rows = append(rows, row{p.From.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), p.Until.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), p.Reason})
	}
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	csrf := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: awayCSRFCookie, Value: csrf, Path: "/away/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	now := s.Now().In(loc)
	s.render(w, http.StatusOK, "away.html", map[string]any{"Rep": rep, "Actor": actor, "CSRF": csrf, "Action": r.URL.Path,
		"Periods": rows, "From": now.Format(localMinute), "Until": now.Add(24 * time.Hour).Format(localMinute)})
}

func zone(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return time.UTC
	}
	return loc
}

// parsePeriod reads the form's from and until, wall-clock times in loc.
func parsePeriod(r *http.Request, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	from, err := time.ParseInLocation(localMinute, r.PostFormValue("from"), loc)
	if err != nil {
		return from, from, fmt.Errorf("from: %q is not a date and time such as 2026-12-20T09:00", r.PostFormValue("from"))
	}
	until, err := time.ParseInLocation(localMinute, r.PostFormValue("until"), loc)
	if err != nil {
		return from, until, fmt.Errorf("until: %q is not a date and time such as 2026-12-31T18:00", r.PostFormValue("until"))
	}
	switch {
	case !until.After(from):
		return from, until, errors.New("until must be after from")
	case !until.After(now):
		return from, until, errors.New("until is in the past")
	case until.Sub(from) > MaxAway:
		return from, until, errors.New("a period may be at most a year long")
	}
	return from, until, nil
}

func (s *Server) setAway(w http.ResponseWriter, r *http.Request) {
	_, rep, actor, ok := s.awayParties(w, r)
	if !ok {
		return
	}
	ck, err := r.Cookie(awayCSRFCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		s.message(w, http.StatusForbidden, "Please confirm again",
			"This form expired or was not sent from Baton's page. Nothing was changed. Open the link again.")
		return
	}
	loc := zone(rep.TimeZone)
	from, until, err := parsePeriod(r, loc, s.Now())
	if err != nil {
		s.message(w, http.StatusBadRequest, "Nothing was changed", err.Error()+". Go back and correct it.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > 200 {
		reason = reason[:200]
	}
	if actor.ID != rep.ID {
		reason = strings.TrimSpace(reason + " (set by " + actor.Name + ")")
	}
	res, err := intake.MarkAway(r.Context(), s.Temporal, s.Store, rep.ID, from, until, reason)
	if err != nil {
		s.Log.Error("set away", "rep", rep.ID, "actor", actor.ID, "error", err)
		s.message(w, http.StatusServiceUnavailable, "Could not record that right now", "Please try again in a minute.")
		return
	}
	text := fmt.Sprintf("%s is out of office from %s until %s. Routing skips them in that time.",
		rep.Name, from.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), until.In(loc).Format("Mon 2 Jan 2006 15:04 MST"))
	if res.Released > 0 {
		text += fmt.Sprintf(" %d leads they hold were told and follow their SLA policy.", res.Released)
	}
	s.message(w, http.StatusOK, "Out of office recorded", text)
}
