package workflows

import "go.temporal.io/sdk/workflow"

// Worker Versioning (docs/releases.md). Every workflow is Pinned: a run
// stays on the build it started on, so a release never replays an open
// history on code it was not written by, and no GetVersion gate is needed
// for it. A run moves to the current build only where it continues as new,
// which starts a fresh history on that build's code.

// Each workflow type's versioning behaviour; internal/workerapp registers
// every workflow with its own (a versioned worker refuses a workflow
// registered without one). docs/releases.md argues each choice.
const (
	// A lead's run lasts its offer, contact and cadence (hours to weeks); a
	// long nurture or a recycled lead continues as new and so moves.
	LeadVersioning = workflow.VersioningBehaviorPinned
	// A campaign lives for months but wakes at least weekly for its check,
	// and continues as new there when a new build is current.
	CampaignVersioning = workflow.VersioningBehaviorPinned
	// An import drain runs minutes and continues as new every 200 batches.
	ImportDrainVersioning = workflow.VersioningBehaviorPinned
)

// continueAsNew continues as new on the deployment's current build
// (Upgrade-on-Continue-as-New): the next run starts AutoUpgrade on the
// target version and is pinned there after its first task. A server before
// 1.31 ignores the option and the next run stays pinned to this build.
func continueAsNew(ctx workflow.Context, wf any, args ...any) error {
	return workflow.NewContinueAsNewErrorWithOptions(ctx, workflow.ContinueAsNewErrorOptions{
		InitialVersioningBehavior: workflow.ContinueAsNewVersioningBehaviorAutoUpgrade,
	}, wf, args...)
}

// newBuildIsCurrent reports whether the deployment's current build is no
// longer the one this pinned run is on (false unversioned, and on servers
// before 1.31). A long wait checks it when it wakes and continues as new.
func newBuildIsCurrent(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetTargetWorkerDeploymentVersionChanged()
}
