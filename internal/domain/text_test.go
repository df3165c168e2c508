package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestTextProblem(t *testing.T) {
	for _, ok := range []string{"", "Dana Lee", "Zoë Ångström", "株式会社", "O'Brien & Co <x>", "\uFFFD literal replacement char", "emoji 🚀"} {
		if p := TextProblem(ok); p != "" {
			t.Errorf("%q refused: %s", ok, p)
		}
	}
	for _, bad := range []string{"Dana\x00Lee", "a\tb", "a\nb", "a\rb", "\x1b[31mred", "del\x7f", "c1\u0085", "c1\u009b",
		"bidi\u202e", "\u2066iso", "lrm\u200e", "rlm\u200f", "alm\u061c", "pdi\u2069", "bad\xffutf8", "\xc3", "\xed\xa0\x80surrogate"} {
		if TextProblem(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Issue 15, finding 4: a NUL in a name is refused, naming the field.
func TestLeadRequestRefusesControlCharactersNamingTheField(t *testing.T) {
	for field, req := range map[string]LeadRequest{
		"name":         {Campaign: "webinar-q3", Email: "dana@acme.example", Name: "Dana\x00"},
		"company":      {Campaign: "webinar-q3", Email: "dana@acme.example", Company: "Acme\u202e"},
		"email":        {Campaign: "webinar-q3", Email: "dana@acme.example\r\nBcc: x@y"},
		"source":       {Campaign: "webinar-q3", Email: "dana@acme.example", Source: "form\x1b"},
		"industry":     {Campaign: "webinar-q3", Email: "dana@acme.example", Industry: "\xff"},
		"company_size": {Campaign: "webinar-q3", Email: "dana@acme.example", CompanySize: "\t10"},
		"campaign":     {Campaign: "webinar-q3\x00", Email: "dana@acme.example"},
	} {
		_, err := req.Normalize()
		var fe FieldErrors
		if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestDirectoryAndCampaignRefuseControlCharacters(t *testing.T) {
	dir := `sales_leader: {id: sam, name: "Sam\u0000", email: sam@example.com, time_zone: UTC}
marketing_leader: {id: mia, name: Mia, email: mia@example.com, time_zone: UTC}
teams:
  - id: emea
    name: EMEA
    manager: {id: max, name: Max, email: max@example.com, time_zone: UTC}
    reps:
      - {id: ana, name: "Ana\u202e", email: ana@example.com, time_zone: UTC}
`
	_, err := ParseDirectory([]byte(dir))
	if err == nil || !strings.Contains(err.Error(), "sales_leader.name") || !strings.Contains(err.Error(), "teams[0].reps[0].name") {
		t.Fatalf("directory: %v", err)
	}
	camp := `id: webinar-q3
name: "Webinar\r\nBcc: all"
owner: {id: mo, name: Mo, email: mo@example.com, time_zone: UTC}
team: emea
min_score: 10
accept_within: 1h
audience: "CFOs\u0000"
`
	_, err = ParseCampaign([]byte(camp))
	if err == nil || !strings.Contains(err.Error(), "name:") || !strings.Contains(err.Error(), "audience:") {
		t.Fatalf("campaign: %v", err)
	}
}
