package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
)

// The directory carries each person's Slack preference; what Baton learned
// by email lookup survives an import that does not name it, and importing
// the export changes nothing.
func TestDirectorySlackPreference(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	y := strings.Replace(emeaYAML, "        time_zone: Europe/Dublin\n",
		"        time_zone: Europe/Dublin\n        slack:\n          id: U0CY\n          kinds: [offer, escalation]\n", 1)
	y = strings.Replace(y, "        time_zone: Europe/Madrid\n", "        time_zone: Europe/Madrid\n        slack:\n          off: true\n", 1)
	importDir(t, s, y)
	cy, err := s.SlackPerson(ctx, "cy.walsh@example.com")
	if err != nil || cy.UserID != "U0CY" || cy.Off || strings.Join(cy.Kinds, ",") != "offer,escalation" {
		t.Errorf("cy = %+v %v", cy, err)
	}
	if bea, _ := s.SlackPerson(ctx, "bea.ortiz@example.com"); !bea.Off {
		t.Errorf("bea = %+v, want Slack off", bea)
	}
	if err := s.SetSlackUserID(ctx, "ana", "U0ANA"); err != nil { // learned by users.lookupByEmail
		t.Fatal(err)
	}
	if res := importDir(t, s, y); res.Updated != 0 {
		t.Errorf("re-import: %+v; the learned Slack id is not a change", res)
	}
	if ana, _ := s.SlackPerson(ctx, "ana.schmidt@example.com"); ana.UserID != "U0ANA" {
		t.Errorf("an import without slack: dropped the learned id: %+v", ana)
	}
	d, err := s.ExportDirectory(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.ImportDirectory(ctx, d, false); err != nil || res.Updated != 0 || res.Created != 0 {
		t.Errorf("importing the export: %+v %v", res, err)
	}

	bad := strings.Replace(emeaYAML, "        time_zone: Europe/Dublin\n",
		"        time_zone: Europe/Dublin\n        slack:\n          id: cy\n          kinds: [digest]\n", 1)
	_, err = domain.ParseDirectory([]byte(bad))
	if err == nil || !strings.Contains(err.Error(), `slack.id: "cy" is not a Slack user id`) || !strings.Contains(err.Error(), `slack.kinds[0]: "digest" is not a kind Slack carries`) {
		t.Errorf("bad slack fields: %v", err)
	}
}
