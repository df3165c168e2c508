package domain

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/bizclock"
)

// MaxWeight bounds a rep's weight; a larger one is a typo.
const MaxWeight = 100

// Period is an out-of-office period, [From, Until).
type Period struct {
	From   time.Time `yaml:"from" json:"from"`
	Until  time.Time `yaml:"until" json:"until"`
	Reason string    `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// Covers reports whether t is inside the period.
func (p Period) Covers(t time.Time) bool { return !t.Before(p.From) && t.Before(p.Until) }

// RepState is everything the choice of a rep looks at, as read from the
// database under the team's rotation lock.
type RepState struct {
	ID     string
	Weight int
	Cap    int // open leads at most; 0 means no cap
	Open   int // open leads now
	Active bool
	Away   []Period
	// Hours is the rep's working time; nil means always on shift.
	Hours *bizclock.Calendar
	// Credit is the rep's standing in the weighted rotation (smooth
	// weighted round robin): each pick adds every available rep's weight,
	// the largest credit goes next and pays the available weights back.
	Credit int64
}

// Skip reasons, in the order they are checked.
const (
	SkipInactive = "inactive"
	SkipAway     = "away"
	SkipOffShift = "off shift"
	SkipAtCap    = "at cap"
	SkipHad      = "already had this lead"
)

// Skipped is a rep routing passed over, and why.
type Skipped struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"` // e.g. "until 2026-11-27T18:00:00Z", "3/3 open"
}

// Ranked is an eligible rep in the order routing would pick them.
type Ranked struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
	Credit int64  `json:"credit"` // after this pick's increment
	Open   int    `json:"open"`
	Cap    int    `json:"cap"`
}

// Choice is the outcome of ChooseRep: who, in what order, who was skipped,
// and the rotation state to store.
type Choice struct {
	Rep      string // "" when nobody is eligible
	Eligible []Ranked
	Skipped  []Skipped
	// Credits holds the new credit of every available rep; empty when
	// nobody was picked (the rotation does not move).
	Credits map[string]int64
}

// availability says why a rep cannot take any lead now, or "".
func availability(r RepState, now time.Time) (string, string) {
	if !r.Active {
		return SkipInactive, ""
	}
	for _, p := range r.Away {
		if p.Covers(now) {
			return SkipAway, "until " + p.Until.UTC().Format(time.RFC3339)
		}
	}
	if r.Hours != nil && !r.Hours.IsOpen(now) {
		d := "working hours in " + r.Hours.Location().String()
		if next, err := r.Hours.NextOpen(now); err == nil {
			d = "back " + next.UTC().Format(time.RFC3339)
		}
		return SkipOffShift, d
	}
	if r.Cap > 0 && r.Open >= r.Cap {
		return SkipAtCap, fmt.Sprintf("%d/%d open", r.Open, r.Cap)
	}
	return "", ""
}

// ChooseRep is smooth weighted round robin. Every rep available now
// (active, not away, on shift, under their cap) gains their weight in credit;
// the available rep with the most credit (ties: id) who has not had the lead
// gets it and pays back the sum of the available weights. Over any run of
// picks each rep's count stays within one of its weighted share. A rep who is
// unavailable gains nothing, so one coming back from leave, or who joins,
// gets their share from now on and no catch-up burst.
func ChooseRep(now time.Time, reps []RepState, had map[string]bool) Choice {
	c := Choice{Credits: map[string]int64{}}
	var avail []Ranked
	var total int64
	for _, r := range reps {
		if why, detail := availability(r, now); why != "" {
			c.Skipped = append(c.Skipped, Skipped{ID: r.ID, Reason: why, Detail: detail})
			continue
		}
		w := r.Weight
		if w < 1 {
			w = 1
		}
		total += int64(w)
		avail = append(avail, Ranked{ID: r.ID, Weight: w, Credit: r.Credit + int64(w), Open: r.Open, Cap: r.Cap})
	}
	sort.Slice(avail, func(i, j int) bool {
		if avail[i].Credit != avail[j].Credit {
			return avail[i].Credit > avail[j].Credit
		}
		return avail[i].ID < avail[j].ID
	})
	for _, a := range avail {
		if had[a.ID] {
			c.Skipped = append(c.Skipped, Skipped{ID: a.ID, Reason: SkipHad})
			continue
		}
		c.Eligible = append(c.Eligible, a)
	}
	sort.SliceStable(c.Skipped, func(i, j int) bool { return c.Skipped[i].ID < c.Skipped[j].ID })
	if len(c.Eligible) == 0 {
		return c
	}
	c.Rep = c.Eligible[0].ID
	for _, a := range avail {
		c.Credits[a.ID] = a.Credit
	}
	c.Credits[c.Rep] -= total
	return c
}

// LeadFields are the lead's fields territory rules look at.
type LeadFields struct {
	Country     string `json:"country,omitempty"`
	Region      string `json:"region,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	Campaign    string `json:"campaign,omitempty"`
}

// TerritoryRule sends leads matching every listed field to a team. A field
// that is not listed matches anything; a listed field matches when the lead's
// value equals one of the values, ignoring case. company_size values may be
// ranges of employees: "1-50", "51-200", "1000+".
type TerritoryRule struct {
	Name        string   `yaml:"name" json:"name"`
	Team        string   `yaml:"team" json:"team"`
	Country     []string `yaml:"country,omitempty" json:"country,omitempty"`
	Region      []string `yaml:"region,omitempty" json:"region,omitempty"`
	Industry    []string `yaml:"industry,omitempty" json:"industry,omitempty"`
	CompanySize []string `yaml:"company_size,omitempty" json:"company_size,omitempty"`
	Campaign    []string `yaml:"campaign,omitempty" json:"campaign,omitempty"`
}

// Territories are ordered rules; the first match picks the team. Without a
// match the lead goes to DefaultTeam, or, when that is empty, to its
// campaign's team.
type Territories struct {
	DefaultTeam string          `yaml:"default_team,omitempty" json:"default_team,omitempty"`
	Rules       []TerritoryRule `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// TerritoryMatch is the team a lead goes to and why.
type TerritoryMatch struct {
	Team string
	Rule string // the rule's name, or "default team" / "campaign team"
}

// Route picks the team for a lead.
func (t Territories) Route(f LeadFields, campaignTeam string) TerritoryMatch {
	for _, r := range t.Rules {
		if r.Matches(f) {
			return TerritoryMatch{Team: r.Team, Rule: r.Name}
		}
	}
	if t.DefaultTeam != "" {
		return TerritoryMatch{Team: t.DefaultTeam, Rule: "default team"}
	}
	return TerritoryMatch{Team: campaignTeam, Rule: "campaign team"}
}

// Matches reports whether every listed field of the rule matches.
func (r TerritoryRule) Matches(f LeadFields) bool {
	return anyEqual(r.Country, f.Country) && anyEqual(r.Region, f.Region) && anyEqual(r.Industry, f.Industry) &&
		anyEqual(r.Campaign, f.Campaign) && anySize(r.CompanySize, f.CompanySize)
}

func anyEqual(vals []string, v string) bool {
	if len(vals) == 0 {
		return true
	}
	for _, x := range vals {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}

func anySize(vals []string, v string) bool {
	if len(vals) == 0 {
		return true
	}
	n, numErr := strconv.Atoi(strings.TrimSpace(v))
	for _, x := range vals {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(v)) {
			return true
		}
		if lo, hi, ok := sizeRange(x); ok && numErr == nil && n >= lo && n <= hi {
			return true
		}
	}
	return false
}

// sizeRange parses "1-50" or "1000+".
func sizeRange(s string) (lo, hi int, ok bool) {
	s = strings.TrimSpace(s)
	if a, found := strings.CutSuffix(s, "+"); found {
		n, err := strconv.Atoi(a)
		return n, int(^uint(0) >> 1), err == nil && n >= 0
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	return l, h, err1 == nil && err2 == nil && l >= 0 && l <= h
}

// Validate checks the rules against the teams that exist.
func (t Territories) Validate(fe *FieldErrors, teams map[string]bool) {
	if t.DefaultTeam != "" && !teams[t.DefaultTeam] {
		fe.Add("territories.default_team", "team %q is not in the directory", t.DefaultTeam)
	}
	names := map[string]bool{}
	for i, r := range t.Rules {
		path := fmt.Sprintf("territories.rules[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			fe.Add(path+".name", "is required")
		} else if names[r.Name] {
			fe.Add(path+".name", "rule %q appears twice", r.Name)
		}
		names[r.Name] = true
		if !teams[r.Team] {
			fe.Add(path+".team", "team %q is not in the directory", r.Team)
		}
		if len(r.Country)+len(r.Region)+len(r.Industry)+len(r.CompanySize)+len(r.Campaign) == 0 {
			fe.Add(path, "a rule needs at least one of country, region, industry, company_size, campaign")
		}
		for j, s := range r.CompanySize {
			if _, _, ok := sizeRange(s); !ok && strings.ContainsAny(s, "+-") {
				fe.Add(fmt.Sprintf("%s.company_size[%d]", path, j), "%q is not a range such as 1-50 or 1000+", s)
			}
		}
	}
}
