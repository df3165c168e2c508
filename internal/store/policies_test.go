package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/testenv"
)

func TestPoliciesImportVersionAndCampaignLink(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	root, _ := testenv.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "examples", "policies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := domain.ParsePolicies(data)
	if err != nil {
		t.Fatalf("examples/policies.yaml: %v", err)
	}
	if res, err := s.ImportPolicies(ctx, ps, true); err != nil || res.Created != 2 || queryInt(t, s, `select count(*) from sla_policies`) != 0 {
		t.Fatalf("dry run: %v %v", res, err)
	}
	if res, err := s.ImportPolicies(ctx, ps, false); err != nil || res.Created != 2 {
		t.Fatalf("import: %v %v", res, err)
	}
	if res, _ := s.ImportPolicies(ctx, ps, false); res.Unchanged != 2 {
		t.Fatalf("second import: %v", res)
	}
	ps[0].AcceptWithin = domain.Duration(3 * time.Hour)
	if res, _ := s.ImportPolicies(ctx, ps, false); res.Updated != 1 {
		t.Fatalf("changed import: %v", res)
	}
	if v := queryInt(t, s, `select version from sla_policies where name = 'office-hours'`); v != 2 {
		t.Fatalf("version %d, want 2", v)
	}

	importDir(t, s, emeaYAML)
	c := parseCampaign(t, campaignYAML)
	c.SLAPolicy = "no-such-policy"
	var fe domain.FieldErrors
	if err := s.UpsertCampaign(ctx, c, "live", time.Hour); !errors.As(err, &fe) || fe[0].Field != "sla_policy" {
		t.Fatalf("unknown policy: %v", err)
	}
	c.SLAPolicy = "office-hours"
	if err := s.UpsertCampaign(ctx, c, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	info, err := s.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := info.EffectivePolicy()
	if p.Name != "office-hours" || time.Duration(p.AcceptWithin) != 3*time.Hour || len(p.BusinessHours.Hours["mon"]) != 2 {
		t.Fatalf("campaign policy: %+v", p)
	}
	if _, err := p.CalendarFor("Europe/Berlin"); err != nil {
		t.Fatalf("calendar: %v", err)
	}
}
