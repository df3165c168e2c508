package domain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // every worker computes the same deadline, whatever the host has

	"github.com/batonhq/baton/internal/bizclock"
	"go.yaml.in/yaml/v3"
)

// Person is anyone Baton mails: a rep, a manager or a leader.
type Person struct {
	ID       string `yaml:"id" json:"id"`
	Name     string `yaml:"name" json:"name"`
	Email    string `yaml:"email" json:"email"`
	TimeZone string `yaml:"time_zone" json:"time_zone"`
	Active   *bool  `yaml:"active,omitempty" json:"active,omitempty"`
	// Routing, for reps: share of the rotation (default 1), open leads at
	// most (0: no cap), working hours by weekday in TimeZone (none: always
	// on shift) and out-of-office periods.
	Weight       int                 `yaml:"weight,omitempty" json:"weight,omitempty"`
	Cap          int                 `yaml:"cap,omitempty" json:"cap,omitempty"`
	WorkingHours map[string][]string `yaml:"working_hours,omitempty" json:"working_hours,omitempty"`
	Away         []Period            `yaml:"away,omitempty" json:"away,omitempty"`
	// Slack: the person's Slack user id (empty: found by email), whether
	// they take Baton's messages there, and which kinds. Absent: Slack by
	// email lookup, every kind Slack carries (docs/slack.md).
	Slack *SlackPref `yaml:"slack,omitempty" json:"slack,omitempty"`
}

// SlackPref is a person's Slack preference.
type SlackPref struct {
	ID    string   `yaml:"id,omitempty" json:"id,omitempty"`       // U… or W…
	Off   bool     `yaml:"off,omitempty" json:"off,omitempty"`     // email only
	Kinds []string `yaml:"kinds,omitempty" json:"kinds,omitempty"` // of SlackKinds; empty: all
}

// EffectiveWeight defaults to 1.
func (p Person) EffectiveWeight() int {
	if p.Weight < 1 {
		return 1
	}
	return p.Weight
}

// Hours is the person's working-hours calendar, or nil when always on shift.
func (p Person) Hours() (*bizclock.Calendar, error) {
	if len(p.WorkingHours) == 0 {
		return nil, nil
	}
	return bizclock.New(bizclock.Spec{TimeZone: p.TimeZone, Hours: p.WorkingHours})
}

// IsActive defaults to true when not given.
func (p Person) IsActive() bool { return p.Active == nil || *p.Active }

// Team is a manager and the reps routing picks from.
type Team struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Manager Person   `yaml:"manager"`
	Reps    []Person `yaml:"reps"`
}

// Directory is the sales organisation as imported from YAML.
type Directory struct {
	SalesLeader     Person       `yaml:"sales_leader"`
	MarketingLeader Person       `yaml:"marketing_leader"`
	Teams           []Team       `yaml:"teams"`
	Territories     *Territories `yaml:"territories,omitempty"`
}

// ParseDirectory decodes and validates a directory file. Unknown fields are
// errors, so a typo never silently drops data.
func ParseDirectory(data []byte) (Directory, error) {
	var d Directory
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return d, parseErr(err)
	}
	return d, d.Validate()
}

// Validate checks every field and returns all problems at once.
func (d *Directory) Validate() error {
	var fe FieldErrors
	if fe.CheckTextTree("", d); len(fe) > 0 {
		return fe.Err()
	}
	emails := map[string]string{}
	ids := map[string]string{}
	check := func(path string, p *Person, required bool) {
		if !required && p.ID == "" && p.Email == "" && p.Name == "" {
			return
		}
		if !ValidSlug(p.ID) {
			fe.Add(path+".id", "%q is not an id (lower-case letters, digits and dashes)", p.ID)
		} else if prev, dup := ids[p.ID]; dup {
			fe.Add(path+".id", "%q is already used by %s", p.ID, prev)
		} else {
			ids[p.ID] = path
		}
		if strings.TrimSpace(p.Name) == "" {
			fe.Add(path+".name", "is required")
		}
		if e, err := NormalizeEmail(p.Email); err != nil {
			fe.Add(path+".email", "%s", err.Error())
		} else {
			p.Email = e
			if prev, dup := emails[e]; dup {
				fe.Add(path+".email", "%q is already used by %s", e, prev)
			}
			emails[e] = path
		}
		if p.TimeZone == "" {
			p.TimeZone = "UTC"
		}
		// "Local" loads, but means each host's own zone: workers would disagree.
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			fe.Add(path+".time_zone", "%q is not an IANA time zone such as Europe/Berlin", p.TimeZone)
		} else if _, err := p.Hours(); err != nil {
			var ce bizclock.FieldErrors
			if errors.As(err, &ce) {
				for _, e := range ce {
					if e.Field == "time_zone" {
						continue
					}
					fe.Add(path+".working_"+e.Field, "%s", e.Detail)
				}
			} else {
				fe.Add(path+".working_hours", "%s", err.Error())
			}
		}
		if p.Weight < 0 || p.Weight > MaxWeight {
			fe.Add(path+".weight", "%d is outside 1..%d", p.Weight, MaxWeight)
		}
		if p.Cap < 0 {
			fe.Add(path+".cap", "must not be negative (0 means no cap)")
		}
		if sp := p.Slack; sp != nil {
			if sp.ID != "" && !slackIDRe.MatchString(sp.ID) {
				fe.Add(path+".slack.id", "%q is not a Slack user id such as U0123ABCD", sp.ID)
			}
			for i, k := range sp.Kinds {
				if !slices.Contains(SlackKinds, k) {
					fe.Add(fmt.Sprintf("%s.slack.kinds[%d]", path, i), "%q is not a kind Slack carries (%s)", k, strings.Join(SlackKinds, ", "))
				}
			}
		}
		for i, a := range p.Away {
			if a.From.IsZero() || a.Until.IsZero() {
				fe.Add(fmt.Sprintf("%s.away[%d]", path, i), "from and until are required (RFC 3339 instants)")
			} else if !a.Until.After(a.From) {
				fe.Add(fmt.Sprintf("%s.away[%d].until", path, i), "must be after from")
			}
		}
	}
	check("sales_leader", &d.SalesLeader, true)
	check("marketing_leader", &d.MarketingLeader, false)
	if len(d.Teams) == 0 {
		fe.Add("teams", "at least one team is required")
	}
	teamIDs := map[string]bool{}
	for i := range d.Teams {
		t := &d.Teams[i]
		path := fmt.Sprintf("teams[%d]", i)
		if !ValidSlug(t.ID) {
			fe.Add(path+".id", "%q is not an id (lower-case letters, digits and dashes)", t.ID)
		} else if teamIDs[t.ID] {
			fe.Add(path+".id", "team %q appears twice", t.ID)
		}
		teamIDs[t.ID] = true
		if strings.TrimSpace(t.Name) == "" {
			t.Name = t.ID
		}
		check(path+".manager", &t.Manager, true)
		if len(t.Reps) == 0 {
			fe.Add(path+".reps", "a team needs at least one rep")
		}
		for j := range t.Reps {
			check(fmt.Sprintf("%s.reps[%d]", path, j), &t.Reps[j], true)
		}
	}
	if d.Territories != nil {
		d.Territories.Validate(&fe, teamIDs)
	}
	return fe.Err()
}

// Campaign is the minimal campaign spec: enough to route and time a lead.
type Campaign struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Owner        Person   `yaml:"owner"`
	Team         string   `yaml:"team"`
	MinScore     int      `yaml:"min_score"`
	AcceptWithin Duration `yaml:"accept_within"`
	// SLAPolicy names an imported policy; without one the lead gets
	// accept_within around the clock, one reassignment, then escalation.
	SLAPolicy string `yaml:"sla_policy,omitempty"`
	// RequiredFields are lead fields (name, company, country) a lead must
	// have, besides min_score, to be qualified. Written once, shown to both teams.
	RequiredFields []string `yaml:"required_fields,omitempty"`
	// Collateral is what sales should use at each stage of the lead.
	Collateral []Collateral `yaml:"collateral,omitempty"`
	// The campaign lifecycle (campaign.go): sales sign-off, dates,
	// marketing's commitments and what happens to leads after the end.
	CampaignPlan `yaml:",inline"`
}

// Collateral is one piece of marketing material mapped to a sales stage.
type Collateral struct {
	Name  string `yaml:"name" json:"name"`
	URL   string `yaml:"url" json:"url"`
	Stage string `yaml:"stage" json:"stage"` // offered, accepted, contacted, ...
}

// Duration is a time.Duration written as "4h" or "90s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 4h or 90s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// ParseCampaign decodes and validates a campaign spec.
func ParseCampaign(data []byte) (Campaign, error) {
	var c Campaign
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, parseErr(err)
	}
	return c, c.Validate()
}

// QualifyFields are the lead fields a qualification rule may require.
var QualifyFields = []string{"name", "company", "country"}

// CollateralStages are the sales stages collateral is mapped to.
var CollateralStages = []string{"offered", "accepted", "contacted", "follow-up"}

// MaxAcceptWindow caps the acceptance window; a longer one is a typo.
const MaxAcceptWindow = 30 * 24 * time.Hour

// Validate names every bad field.
func (c *Campaign) Validate() error {
	var fe FieldErrors
	if fe.CheckTextTree("", c); len(fe) > 0 {
		return fe.Err()
	}
	if !ValidSlug(c.ID) {
		fe.Add("id", "%q is not an id (lower-case letters, digits and dashes)", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		fe.Add("name", "is required")
	}
	if e, err := NormalizeEmail(c.Owner.Email); err != nil {
		fe.Add("owner.email", "%s", err.Error())
	} else {
		c.Owner.Email = e
	}
	if strings.TrimSpace(c.Owner.Name) == "" {
		fe.Add("owner.name", "is required")
	}
	if !ValidSlug(c.Team) {
		fe.Add("team", "%q is not a team id", c.Team)
	}
	if c.SLAPolicy != "" && !ValidSlug(c.SLAPolicy) {
		fe.Add("sla_policy", "%q is not a policy name", c.SLAPolicy)
	}
	if c.MinScore < 0 || c.MinScore > MaxScore {
		fe.Add("min_score", "%d is outside 0..%d", c.MinScore, MaxScore)
	}
	for i, f := range c.RequiredFields {
		if !slices.Contains(QualifyFields, f) {
			fe.Add(fmt.Sprintf("required_fields[%d]", i), "%q is not one of %s", f, strings.Join(QualifyFields, ", "))
		}
	}
	for i, col := range c.Collateral {
		if strings.TrimSpace(col.Name) == "" {
			fe.Add(fmt.Sprintf("collateral[%d].name", i), "is required")
		}
		if u, err := url.Parse(col.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fe.Add(fmt.Sprintf("collateral[%d].url", i), "%q is not an http(s) URL", col.URL)
		}
		if !slices.Contains(CollateralStages, col.Stage) {
			fe.Add(fmt.Sprintf("collateral[%d].stage", i), "%q is not one of %s", col.Stage, strings.Join(CollateralStages, ", "))
		}
	}
	c.validatePlan(&fe)
	w := time.Duration(c.AcceptWithin)
	switch {
	case w < 0:
		fe.Add("accept_within", "must not be negative")
	case w > 0 && w < time.Second:
		fe.Add("accept_within", "must be at least 1s")
	case w > MaxAcceptWindow:
		fe.Add("accept_within", "must be at most %s", MaxAcceptWindow)
	}
	return fe.Err()
}

// ErrNotFound is returned by lookups of ids that do not exist.
var ErrNotFound = errors.New("not found")

func parseErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty")
	}
	return fmt.Errorf("parse: %w", err)
}
