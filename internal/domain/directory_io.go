package domain

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseDirectoryFile parses a directory in YAML or CSV (by the file name's
// extension) and names the line of every bad field.
func ParseDirectoryFile(name string, data []byte) (Directory, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return ParseDirectoryCSV(data)
	}
	d, err := ParseDirectory(data)
	var fe FieldErrors
	if err != nil && errors.As(err, &fe) {
		var root yaml.Node
		if yaml.Unmarshal(data, &root) == nil {
			for i := range fe {
				if line := yamlLine(&root, fe[i].Field); line > 0 {
					fe[i].Field = fmt.Sprintf("line %d: %s", line, fe[i].Field)
				}
			}
		}
		sortByLine(fe)
		return d, fe
	}
	return d, err
}

// yamlLine finds the line of a field path such as "teams[0].reps[1].email",
// or of its nearest existing parent.
func yamlLine(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range strings.Split(path, ".") {
		key, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			key = seg[:i]
			idx, _ = strconv.Atoi(seg[i+1 : len(seg)-1])
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				line = n.Content[i].Line
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// CSVHeader is the directory's CSV columns. One row per team, person or
// territory rule; kind is one of team, manager, rep, sales_leader,
// marketing_leader, territory, default_team.
var CSVHeader = []string{"kind", "team", "id", "name", "email", "time_zone", "weight", "cap", "working_hours", "active", "away", "match"}

// ParseDirectoryCSV reads the CSV form of a directory. Errors name the line.
func ParseDirectoryCSV(data []byte) (Directory, error) {
	var d Directory
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var fe FieldErrors
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return d, errors.New("the file is empty")
	} else if err != nil {
		return d, fmt.Errorf("parse: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(CSVHeader, h) {
			fe.Add("line 1: header", "unknown column %q; columns are %s", h, strings.Join(CSVHeader, ","))
		}
		col[h] = i
	}
	for _, need := range []string{"kind", "id"} {
		if _, ok := col[need]; !ok {
			fe.Add("line 1: header", "column %q is required", need)
		}
	}
	if len(fe) > 0 {
		return d, fe
	}
	teams := map[string]int{} // id -> index in d.Teams
	team := func(id string) *Team {
		i, ok := teams[id]
		if !ok {
			i = len(d.Teams)
			teams[id] = i
			d.Teams = append(d.Teams, Team{ID: id})
		}
		return &d.Teams[i]
	}
	// lines maps a Validate path prefix to its CSV line.
	lines := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d, fmt.Errorf("parse: %w", err) // a csv.ParseError names the line
		}
		line, _ := r.FieldPos(0)
		get := func(c string) string {
			if i, ok := col[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		at := func(field string) string { return fmt.Sprintf("line %d: %s", line, field) }
		p := Person{ID: get("id"), Name: get("name"), Email: get("email"), TimeZone: get("time_zone")}
		if v := get("weight"); v != "" {
			if p.Weight, err = strconv.Atoi(v); err != nil {
				fe.Add(at("weight"), "%q is not a whole number", v)
			}
		}
		if v := get("cap"); v != "" {
			if p.Cap, err = strconv.Atoi(v); err != nil {
				fe.Add(at("cap"), "%q is not a whole number", v)
			}
		}
		if v := get("active"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				fe.Add(at("active"), "%q is not true or false", v)
			}
			p.Active = &b
		}
		if v := get("working_hours"); v != "" {
			wh, err := parseKV(v)
			if err != nil {
				fe.Add(at("working_hours"), "%s", err)
			}
			p.WorkingHours = wh
		}
		if v := get("away"); v != "" {
			for _, part := range strings.Split(v, ";") {
				f := strings.SplitN(strings.TrimSpace(part), "/", 3)
				if len(f) < 2 {
					fe.Add(at("away"), "%q is not FROM/UNTIL[/REASON] with RFC 3339 instants", part)
					continue
				}
				from, err1 := time.Parse(time.RFC3339, f[0])
				until, err2 := time.Parse(time.RFC3339, f[1])
				if err1 != nil || err2 != nil {
					fe.Add(at("away"), "%q is not FROM/UNTIL[/REASON] with RFC 3339 instants", part)
					continue
				}
				per := Period{From: from, Until: until}
				if len(f) == 3 {
					per.Reason = f[2]
				}
				p.Away = append(p.Away, per)
			}
		}
		teamID := get("team")
		switch kind := get("kind"); kind {
		case "sales_leader":
			d.SalesLeader = p
			lines["sales_leader"] = line
		case "marketing_leader":
			d.MarketingLeader = p
			lines["marketing_leader"] = line
		case "team":
			t := team(p.ID)
			t.Name = p.Name
			lines[fmt.Sprintf("teams[%d]", teams[p.ID])] = line
		case "manager", "rep":
			if teamID == "" {
				fe.Add(at("team"), "a %s needs a team", kind)
				continue
			}
			t := team(teamID)
			if kind == "manager" {
				t.Manager = p
				lines[fmt.Sprintf("teams[%d].manager", teams[teamID])] = line
			} else {
				t.Reps = append(t.Reps, p)
				lines[fmt.Sprintf("teams[%d].reps[%d]", teams[teamID], len(t.Reps)-1)] = line
			}
			if _, ok := lines[fmt.Sprintf("teams[%d]", teams[teamID])]; !ok {
				lines[fmt.Sprintf("teams[%d]", teams[teamID])] = line
			}
		case "territory":
			if d.Territories == nil {
				d.Territories = &Territories{}
			}
			rule := TerritoryRule{Name: p.ID, Team: teamID}
			m, err := parseKV(get("match"))
			if err != nil {
				fe.Add(at("match"), "%s", err)
			}
			for k, v := range m {
				switch k {
				case "country":
					rule.Country = v
				case "region":
					rule.Region = v
				case "industry":
					rule.Industry = v
				case "company_size":
					rule.CompanySize = v
				case "campaign":
					rule.Campaign = v
				default:
					fe.Add(at("match"), "%q is not a lead field (country, region, industry, company_size, campaign)", k)
				}
			}
			d.Territories.Rules = append(d.Territories.Rules, rule)
			lines[fmt.Sprintf("territories.rules[%d]", len(d.Territories.Rules)-1)] = line
		case "default_team":
			if d.Territories == nil {
				d.Territories = &Territories{}
			}
			d.Territories.DefaultTeam = teamID
			lines["territories.default_team"] = line
		default:
			fe.Add(at("kind"), "%q is not one of team, manager, rep, sales_leader, marketing_leader, territory, default_team", kind)
		}
	}
	if err := d.Validate(); err != nil {
		var ve FieldErrors
		if !errors.As(err, &ve) {
			return d, err
		}
		for _, e := range ve {
			best, line := "", 0
			for prefix, l := range lines {
				if (e.Field == prefix || strings.HasPrefix(e.Field, prefix+".")) && len(prefix) > len(best) {
					best, line = prefix, l
				}
			}
			if line > 0 {
				e.Field = fmt.Sprintf("line %d: %s", line, e.Field)
			}
			fe = append(fe, e)
		}
	}
	if len(fe) == 0 {
		return d, nil
	}
	sortByLine(fe)
	return d, fe
}

// sortByLine orders "line N: field" errors by N, then field.
func sortByLine(fe FieldErrors) {
	num := func(s string) int {
		var n int
		fmt.Sscanf(s, "line %d:", &n)
		return n
	}
	slices.SortStableFunc(fe, func(a, b FieldError) int {
		if d := num(a.Field) - num(b.Field); d != 0 {
			return d
		}
		return strings.Compare(a.Field, b.Field)
	})
}

// parseKV parses "mon=09:00-12:00,13:00-17:00;tue=09:00-17:00".
func parseKV(s string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return m, fmt.Errorf("%q is not KEY=VALUE[,VALUE]", part)
		}
		key := strings.TrimSpace(k)
		if _, seen := m[key]; !seen {
			m[key] = nil // a key with no values still counts (and is validated)
		}
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				m[key] = append(m[key], x)
			}
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func formatKV(m map[string][]string, order []string) string {
	var parts []string
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(m[k], ","))
	}
	return strings.Join(parts, ";")
}

var weekOrder = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// WriteDirectoryCSV writes the CSV form ParseDirectoryCSV reads.
func WriteDirectoryCSV(w io.Writer, d Directory) error {
	cw := csv.NewWriter(w)
	row := func(kind, team string, p Person, match string) {
		var weight, cp, active, away string
		if p.Weight != 0 {
			weight = strconv.Itoa(p.Weight)
		}
		if p.Cap != 0 {
			cp = strconv.Itoa(p.Cap)
		}
		if p.Active != nil {
			active = strconv.FormatBool(*p.Active)
		}
		var aw []string
		for _, a := range p.Away {
			s := a.From.Format(time.RFC3339) + "/" + a.Until.Format(time.RFC3339)
			if a.Reason != "" {
				s += "/" + a.Reason
			}
			aw = append(aw, s)
		}
		away = strings.Join(aw, ";")
		_ = cw.Write([]string{kind, team, p.ID, p.Name, p.Email, p.TimeZone, weight, cp, formatKV(p.WorkingHours, weekOrder), active, away, match})
	}
	_ = cw.Write(CSVHeader)
	row("sales_leader", "", d.SalesLeader, "")
	if d.MarketingLeader.ID != "" {
		row("marketing_leader", "", d.MarketingLeader, "")
	}
	for _, t := range d.Teams {
		row("team", "", Person{ID: t.ID, Name: t.Name}, "")
		row("manager", t.ID, t.Manager, "")
		for _, r := range t.Reps {
			row("rep", t.ID, r, "")
		}
	}
	if t := d.Territories; t != nil {
		for _, r := range t.Rules {
			m := map[string][]string{}
			for k, v := range map[string][]string{"country": r.Country, "region": r.Region, "industry": r.Industry,
				"company_size": r.CompanySize, "campaign": r.Campaign} {
				if len(v) > 0 {
					m[k] = v
				}
			}
			row("territory", r.Team, Person{ID: r.Name}, formatKV(m, []string{"country", "region", "industry", "company_size", "campaign"}))
		}
		if t.DefaultTeam != "" {
			row("default_team", t.DefaultTeam, Person{}, "")
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDirectoryYAML writes the YAML form ParseDirectory reads.
func WriteDirectoryYAML(w io.Writer, d Directory) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return err
	}
	return enc.Close()
}
