package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/workflows"
	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// launchCampaign stores a plan as a draft and starts its workflow, as
// `starter campaign launch` does.
func launchCampaign(t *testing.T, s *Stack, c domain.Campaign) {
	t.Helper()
	ctx := context.Background()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.UpsertCampaign(ctx, c, "draft", s.Config.DefaultAcceptWindow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.CampaignWorkflowID(c.ID),
		TaskQueue: s.Config.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL},
		workflows.CampaignWorkflow, workflows.CampaignInput{CampaignID: c.ID}); err != nil {
		t.Fatal(err)
	}
}

// TestReviewerRequestsChangesInBrowser is a reviewer's path on a phone: open
// the review request's link, see the plan, write a comment, confirm.
func TestReviewerRequestsChangesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	s := startStack(t)
	c := domain.Campaign{ID: "browser-review", Name: "Browser Review", Owner: domain.Person{Name: "Mo Fischer", Email: "mo.fischer@example.com"},
		Team: "emea", MinScore: 40}
	c.Reviewers = []domain.Person{{ID: "ana", Name: "Ana Schmidt", Email: "ana.schmidt@example.com", TimeZone: "Europe/Berlin"}}
	c.Review.Deadline = domain.Duration(10 * time.Minute)
	c.Audience = "Procurement leads at companies with a very-long-unbreakable-name-that-should-wrap-on-a-phone-screen"
	launchCampaign(t, s, c)
	req := waitMail(t, s, "ana.schmidt@example.com", "campaign-review", 10*time.Second)
	link := linkNamed(t, req, "Request changes")

	ctx := browser(t, chromium)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(link))
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("open the link: %v %v", resp, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#comment"))); err != nil {
		t.Fatalf("no comment box: %v", err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Browser Review") || !strings.Contains(body, "Ana Schmidt") || !strings.Contains(body, "revision 1") {
		t.Fatalf("confirm page:\n%s", body)
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > phoneWidth {
		t.Errorf("confirm page is %dpx wide on a %dpx screen (%v)", w, phoneWidth, err)
	}
	if v, _ := s.Store.CampaignEvents(context.Background(), c.ID); len(v) != 2 { // drafted, review-requested
		t.Fatalf("opening the link changed the campaign: %+v", v)
	}
	// The comment box is required; write the change request and confirm.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#comment"), "Name the DACH case study")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#campaign-changes"))); err != nil {
		t.Fatalf("click: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#message"))); err != nil {
		t.Fatalf("no result page: %v", err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || heading != "Changes requested" {
		t.Fatalf("heading %q %v", heading, err)
	}
	waitMail(t, s, "mo.fischer@example.com", "campaign-changes", 5*time.Second)
	evs, _ := s.Store.CampaignEvents(context.Background(), c.ID)
	if last := evs[len(evs)-1]; last.Kind != "changes-requested" || last.Reason != "Name the DACH case study" || last.Actor != "reviewer:ana" {
		t.Errorf("last event %+v", last)
	}
}
