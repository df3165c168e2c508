package web

import (
	"context"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// TestOneNumberPerMetricOnEverySurface computes the five shared metrics of
// one campaign from the same lead events through every surface (the
// starter CLI, the campaign page, the weekly digest and the retrospective)
// and asserts they print the same value and count, and the value the
// definitions give by hand.
func TestOneNumberPerMetricOnEverySurface(t *testing.T) {
	f := seed(t)
	ctx := context.Background()
	now := time.Now().UTC()
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	stamp := func(t time.Time) string { return t.Format(time.RFC3339) }
	rec := func(email string, evs ...domain.Event) {
		t.Helper()
		id := domain.LeadID(email)
		l := domain.LeadSnapshot{ID: id, WorkflowID: "lead/" + id, Email: email, CampaignID: "webinar-q3", State: domain.StateAccepted, Touches: 1}
		for i, ev := range evs {
			l.Version = int64(i + 1)
			ev.Key, ev.Seq = id+":"+ev.Key, l.Version
			if err := f.st.Record(ctx, l, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	// On top of the fixture's Priya (offered, undecided) and Olu (lapsed at
	// Cy, declined by Ana, accepted by Bea):
	t0 := 10 * time.Hour
	rec("kim@initech.example", // accepted in 10 min, contacted 30 min later, converted
		domain.Event{Key: "mql", Kind: "mql", Actor: "system", At: at(t0)},
		domain.Event{Key: "offered:1", Kind: "offered", Actor: "system", Data: map[string]string{"rep": "ana", "accept_by": stamp(at(t0 - time.Hour))}, At: at(t0)},
		domain.Event{Key: "accepted:1", Kind: "accepted", Actor: "rep:ana", Data: map[string]string{"accept_by": stamp(at(t0 - time.Hour))}, At: at(t0 - 10*time.Minute)},
		domain.Event{Key: "contact:1", Kind: "contacted", Actor: "rep:ana", At: at(t0 - 40*time.Minute)},
		domain.Event{Key: "converted", Kind: "converted", Actor: "rep:ana", At: at(t0 - 2*time.Hour)})
	rec("lee@initech.example", // declined only: rejected
		domain.Event{Key: "mql", Kind: "mql", Actor: "system", At: at(t0)},
		domain.Event{Key: "offered:1", Kind: "offered", Actor: "system", Data: map[string]string{"rep": "bea", "accept_by": stamp(at(t0 - time.Hour))}, At: at(t0)},
		domain.Event{Key: "rejected:1", Kind: "rejected", Actor: "rep:bea", Reason: "bad-fit", Data: map[string]string{"note": "a student"}, At: at(t0 - 5*time.Minute)})
	rec("max@initech.example", // accepted in 20 min, first contact breached, contacted 3 h after acceptance
		domain.Event{Key: "mql", Kind: "mql", Actor: "system", At: at(t0)},
		domain.Event{Key: "offered:1", Kind: "offered", Actor: "system", Data: map[string]string{"rep": "ana", "accept_by": stamp(at(t0 - time.Hour))}, At: at(t0)},
		domain.Event{Key: "accepted:1", Kind: "accepted", Actor: "rep:ana", Data: map[string]string{"accept_by": stamp(at(t0 - time.Hour))}, At: at(t0 - 20*time.Minute)},
		domain.Event{Key: "contact-breached", Kind: "breached", Actor: "system", Data: map[string]string{"phase": "contact", "rep": "ana"}, At: at(t0 - 2*time.Hour)},
		domain.Event{Key: "contact:1", Kind: "contacted", Actor: "rep:ana", At: at(t0 - 200*time.Minute)})
	want := map[string]string{
		domain.MetricAcceptance:         "75% (3 of 4 decided leads)",
		domain.MetricSLA:                "67% (4 of 6 deadlines)",
		domain.MetricTimeToAccept:       "median 10m, p90 20m (over 2 accepted leads)",
		domain.MetricTimeToFirstContact: "median 30m, p90 3h (over 2 contacted leads)",
		domain.MetricConversion:         "20% (1 of 5 MQLs)",
	}
	surfaces := map[string]map[string]string{}

	// The campaign page, as the campaign's marketer sees it.
	mo := f.signIn(t, "mo.fischer@example.com")
	_, page := get(t, mo, f.url+"/campaigns/webinar-q3")
	row := regexp.MustCompile(`<tr data-metric="([a-z-]+)"><th scope="row">[^<]+</th><td class="value">([^<]+)</td><td>([^<]+)</td></tr>`)
	surfaces["page"] = map[string]string{}
	for _, m := range row.FindAllStringSubmatch(page, -1) {
		surfaces["page"][m[1]] = html.UnescapeString(m[2] + " (" + m[3] + ")")
	}

	// The digest and the retrospective, composed from the numbers the
	// workflow's activity reads (Store.CampaignStats over the same period).
	cs, err := f.st.CampaignSpec(ctx, "webinar-q3")
	if err != nil {
		t.Fatal(err)
	}
	from, to := store.ToDate(cs, now.Add(time.Second))
	st, err := f.st.CampaignStats(ctx, "webinar-q3", from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, d := range domain.MetricDefs {
		byName[d.Name] = d.Key
	}
	parseText := func(text string) map[string]string {
		out := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			name, val, ok := strings.Cut(strings.TrimSpace(line), ":")
			if key, known := byName[name]; ok && known {
				out[key] = strings.TrimSpace(val)
			}
		}
		return out
	}
	for _, kind := range []string{mail.KindCampaignDigest, mail.KindCampaignRetro} {
		n := mail.CampaignNotice{CampaignMessage: domain.CampaignMessage{Kind: kind, To: domain.PersonRef{Name: "Mo", Email: "mo.fischer@example.com"}, Campaign: cs.Spec,
			Week: 1, Period: st, ToDate: st}}
		m, err := mail.ComposeCampaign(n, "baton@example.com")
		if err != nil {
			t.Fatal(err)
		}
		surfaces[kind] = parseText(m.Text)
	}

	// The starter CLI: `starter campaign status`, built and run against the same database.
	root, _ := testenv.RepoRoot()
	bin := filepath.Join(t.TempDir(), "starter")
	build := exec.Command("go", "build", "-o", bin, "./starter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build starter: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "campaign", "status", "webinar-q3")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+f.dbURL, "TEMPORAL_ADDRESS=127.0.0.1:1",
		"BATON_SIGNING_KEY="+strings.Repeat("handler-test-key", 3))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("starter campaign status: %v\n%s", err, out)
	}
	surfaces["cli"] = parseText(string(out))

	t.Logf("surfaces: %v", surfaces)
	for name, got := range surfaces {
		for key, w := range want {
			if got[key] != w {
				t.Errorf("%s: %s = %q, want %q", name, key, got[key], w)
			}
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s\ncli:\n%s", page, out)
	}
}
