package notify_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// openStore gives a test a database with the example directory and
// campaign, and one lead (for the events a Slack fallback records).
func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	root, _ := testenv.RepoRoot()
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(root, "examples", p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir, err := domain.ParseDirectory(read("team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportDirectory(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	c, err := domain.ParseCampaign(read("campaign.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.SLAPolicy = ""
	if err := st.UpsertCampaign(ctx, c, "live", time.Hour); err != nil {
		t.Fatal(err)
	}
	l := domain.LeadSnapshot{ID: "lead-42", WorkflowID: "lead-lead-42", Email: "lea@example.org", Name: "Lea", CampaignID: "webinar-q3",
		State: domain.StateOffered, Version: 1, Attempt: 1}
	if err := st.Record(ctx, l, domain.Event{Key: "lead-42:captured", Seq: 1, Kind: "captured", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return st
}

type lockedBuffer = testenv.LockedBuffer

// startPrism serves Slack's Web API contract (testdata/contracts/slack,
// Slack's own OpenAPI, MIT) as a validating mock, like the SendGrid test.
// It fails (never skips) when Prism is missing.
func startPrism(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Without --errors: the contract's own success example for
	// chat.postMessage fails its own response schema (message.attachments
	// with "text"), which --errors turns into a 500. A request that breaks
	// the contract is still answered 422 and logged, and the test fails on
	// every request violation in the log (violations).
	url, logs := testenv.Prism(t, filepath.Join(root, "internal", "notify", "testdata", "contracts", "slack", "slack_web_openapi_v2.json"))
	return url + "/", logs
}

// quirkClient is the contract test's HTTP client. Slack's generated
// contract turns the documented "token" argument of chat.postMessage and
// chat.update into a required header literally named "token"; Slack's
// documentation asks for the token in the Authorization: Bearer header
// (which the contract's slackAuth scheme checks, and which Baton sends).
// Baton does not copy the secret into a second, non-standard header that
// proxies would not redact, so only this test adds it, from the Bearer
// header, for Prism to accept the request and validate everything else.
func quirkClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: tokenHeader{http.DefaultTransport}}
}

type tokenHeader struct{ next http.RoundTripper }

func (t tokenHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		r = r.Clone(r.Context())
		r.Header.Set("token", tok)
	}
	return t.next.RoundTrip(r)
}

// violations picks the validator errors about Baton's requests out of
// Prism's log (not those about the contract's own response examples).
func violations(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "✖") && !strings.Contains(l, "Violation: response") && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}
