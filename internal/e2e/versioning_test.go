package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/workerapp"
	"github.com/batonhq/baton/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// run is one run of a lead's workflow as the server describes it.
type run struct {
	RunID    string
	Behavior enumspb.VersioningBehavior
	Build    string // the build the run is pinned to
}

// describeRun waits until the latest run of a workflow other than notRun is
// pinned to a build (every Baton workflow is Pinned once its first task
// completes; a run continued as new starts AutoUpgrade until then), and
// returns it.
func describeRun(t *testing.T, s *Stack, workflowID, notRun string) run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := s.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		info := d.GetWorkflowExecutionInfo()
		vi := info.GetVersioningInfo()
		r := run{RunID: info.GetExecution().GetRunId(), Behavior: vi.GetBehavior(), Build: vi.GetDeploymentVersion().GetBuildId()}
		if r.RunID != notRun && r.Behavior == enumspb.VERSIONING_BEHAVIOR_PINNED && r.Build != "" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no run other than %q pinned to a build within 20s (last %+v)", workflowID, notRun, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// taskBuilds lists the build of every workflow task a run completed after
// the given instant, from its history; it waits up to 15s for the first.
func taskBuilds(t *testing.T, s *Stack, workflowID, runID string, after time.Time) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var builds []string
		it := s.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := e.GetWorkflowTaskCompletedEventAttributes(); a != nil && e.GetEventTime().AsTime().After(after) {
				builds = append(builds, a.GetDeploymentVersion().GetBuildId())
			}
		}
		if len(builds) > 0 || time.Now().After(deadline) {
			return builds
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allOn fails unless builds is non-empty and every entry is want.
func allOn(t *testing.T, what string, builds []string, want string) {
	t.Helper()
	if len(builds) == 0 {
		t.Fatalf("%s: no workflow task completed in the window", what)
	}
	for _, b := range builds {
		if b != want {
			t.Fatalf("%s: workflow tasks ran on builds %v, want all on %s", what, builds, want)
		}
	}
}

// upgradesOnContinueAsNew reports whether the server honours
// Upgrade-on-Continue-as-New (1.31 and later; the pinned CLI's dev server
// is 1.29, which keeps a pinned run's successor on its build).
func upgradesOnContinueAsNew(t *testing.T, s *Stack) (bool, string) {
	t.Helper()
	si, err := s.Temporal.WorkflowService().GetSystemInfo(context.Background(), &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v := si.GetServerVersion()
	m := regexp.MustCompile(`^v?(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("server version %q", v)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 1 || (major == 1 && minor >= 31), v
}

// waitRecorded waits until the lead's row exists in state (a lead started
// without intake has none until its workflow records it).
func waitRecorded(t *testing.T, s *Stack, id, state string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, _ := api(t, s, "GET", "/api/v1/leads/"+id, "")
		if resp.StatusCode == 200 {
			waitState(t, s, id, state, time.Until(deadline))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s not recorded within 15s (%d)", id, resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTwoBuildsSideBySide releases build B beside build A on the dev
// server, as docs/releases.md does it, with the real LeadWorkflow: leads
// started on A stay on A, new leads go to B, and a lead that continues as
// new moves to B.
func TestTwoBuildsSideBySide(t *testing.T) {
	s := startStackOpts(t, false)
	ctx := context.Background()
	upgrades, serverVersion := upgradesOnContinueAsNew(t, s)
	t.Logf("Temporal server %s; Upgrade-on-Continue-as-New: %v", serverVersion, upgrades)

	deployment := s.Temporal.WorkerDeploymentClient().GetHandle(s.Config.DeploymentName)
	startBuild := func(build string) {
		cfg := s.Config
		cfg.BuildID = build
		w, err := workerapp.New(cfg, s.Temporal, s.Store)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	// setCurrent is `temporal worker deployment set-current-version`; the
	// version exists once its worker has polled, so it is retried until then.
	setCurrent := func(build string) time.Time {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := deployment.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: build})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("set %s current: %v", build, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		d, err := deployment.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cur := d.Info.RoutingConfig.CurrentVersion; cur == nil || cur.BuildID != build {
			t.Fatalf("current version after setting %s: %+v", build, cur)
		}
		return time.Now()
	}
	touch := func(email string, score int) {
		t.Helper()
		code, res := submit(t, s, fmt.Sprintf(`{"campaign":"webinar-q3","email":%q,"name":"Versioned Lead","company":"Acme","score":%d}`, email, score))
		if code != 202 {
			t.Fatalf("submit %s: %d %v", email, code, res)
		}
	}
	wfID := func(email string) string { return workflows.LeadWorkflowID(domain.LeadID(email)) }

	// Build A is current; three leads start on it.
	startBuild("A")
	setCurrent("A")
	offered, nurturing, bounded := "offered@acme.example", "nurturing@acme.example", "bounded@acme.example"
	touch(offered, 70)   // qualifies: offered to a rep, its clocks running
	touch(nurturing, 10) // below the bar: nurturing, waiting for touches
	// The same, with a history bound of one touch per run: its next touch
	// continues it as new on any server (the test's knob, LeadInput's own).
	first := workflows.Touch{ID: "t-bounded-1", Campaign: "webinar-q3", Email: bounded, Name: "Bounded Lead", Score: 10, At: time.Now().UTC()}
	if _, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID(bounded), TaskQueue: s.Config.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		workflows.LeadWorkflow, workflows.LeadInput{LeadID: domain.LeadID(bounded), First: &first, MaxTouchesPerRun: 1}); err != nil {
		t.Fatal(err)
	}
	waitRecorded(t, s, domain.LeadID(offered), "Offered")
	waitRecorded(t, s, domain.LeadID(nurturing), "Nurturing")
	waitRecorded(t, s, domain.LeadID(bounded), "Nurturing")
	onA := map[string]run{}
	for _, email := range []string{offered, nurturing, bounded} {
		r := describeRun(t, s, wfID(email), "")
		if r.Behavior != enumspb.VERSIONING_BEHAVIOR_PINNED || r.Build != "A" {
			t.Fatalf("%s started as %+v, want pinned to A", email, r)
		}
		onA[email] = r
	}

	// Build B deploys beside A and becomes current.
	startBuild("B")
	bCurrent := setCurrent("B")

	// A new lead goes to B.
	fresh := "fresh@acme.example"
	touch(fresh, 70)
	waitRecorded(t, s, domain.LeadID(fresh), "Offered")
	if r := describeRun(t, s, wfID(fresh), ""); r.Behavior != enumspb.VERSIONING_BEHAVIOR_PINNED || r.Build != "B" {
		t.Fatalf("new lead after B became current: %+v, want pinned to B", r)
	} else {
		allOn(t, "new lead", taskBuilds(t, s, wfID(fresh), r.RunID, time.Time{}), "B")
	}

	// The offered lead stays on A: a touch and its clocks keep running there.
	touch(offered, 75)
	time.Sleep(window + time.Second) // its offer lapses and moves on, on A
	if r := describeRun(t, s, wfID(offered), ""); r != onA[offered] {
		t.Fatalf("offered lead after B became current: %+v, want still %+v", r, onA[offered])
	}
	allOn(t, "offered lead after B became current", taskBuilds(t, s, wfID(offered), onA[offered].RunID, bCurrent), "A")

	// The bounded lead's next touch continues it as new: the new run starts
	// on the current build, B (a 1.29 server keeps it pinned to A).
	touch(bounded, 20)
	moved := describeRun(t, s, wfID(bounded), onA[bounded].RunID)
	want := "B"
	if !upgrades {
		want = "A"
	}
	if moved.Behavior != enumspb.VERSIONING_BEHAVIOR_PINNED || moved.Build != want {
		t.Fatalf("bounded lead's next run: %+v, want pinned to %s (server %s)", moved, want, serverVersion)
	}
	allOn(t, "bounded lead's next run", taskBuilds(t, s, wfID(bounded), moved.RunID, time.Time{}), want)
	if v := getLead(t, s, domain.LeadID(bounded)); v.State != "Nurturing" {
		t.Fatalf("bounded lead after continuing as new: %s", v.State)
	}

	// The nurturing lead has no bound near: on a server that tells a pinned
	// run a new build is current, its next touch moves it to B all the same.
	touch(nurturing, 20)
	if upgrades {
		r := describeRun(t, s, wfID(nurturing), onA[nurturing].RunID)
		if r.Behavior != enumspb.VERSIONING_BEHAVIOR_PINNED || r.Build != "B" {
			t.Fatalf("nurturing lead after B became current: %+v, want a new run pinned to B", r)
		}
	} else {
		if r := describeRun(t, s, wfID(nurturing), ""); r != onA[nurturing] {
			t.Fatalf("nurturing lead on server %s: %+v, want still %+v", serverVersion, r, onA[nurturing])
		}
		allOn(t, "nurturing lead's touch", taskBuilds(t, s, wfID(nurturing), onA[nurturing].RunID, bCurrent), "A")
	}
}
