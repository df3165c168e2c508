// Package workerapp wires the worker: activities with their dependencies,
// registered on a Temporal worker. worker/main.go and the integration tests
// both use it, so the tests run exactly what ships.
package workerapp

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/internal/webhook"
	"github.com/batonhq/baton/workflows"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Mailer picks the local outbox in dev outbox mode (BATON_DEV_OUTBOX), else
// SendGrid; config.RequireMail has checked that exactly one is set up. It
// has no rate cap of its own: the worker's one Notifier holds the cap.
func Mailer(c config.Config, st *store.Store) mail.Mailer {
	if c.Outbox() {
		return mail.Outbox{Store: st}
	}
	ids, _ := c.TemplateIDs() // validated by config.Load
	return mail.SendGrid{Store: st, APIKey: c.SendGridAPIKey, BaseURL: c.SendGridBaseURL, Sandbox: c.SendGridSandbox,
		TemplateIDs: ids, Grace: c.MailGrace, Timeout: c.SendGridTimeout}
}

// Notifier is an email-only notifier for the gateway's sign-in mail. The
// worker's (workerNotifier) is the one every lead and campaign message goes
// through, so BATON_MAIL_RATE caps the worker's email as a whole. The local
// outbox has no cap (it sends nothing).
func Notifier(c config.Config, st *store.Store) *notify.Notifier {
	o := notify.Options{}
	if !c.Outbox() {
		o.EmailRate = c.MailRate
	}
	return notify.New(Mailer(c, st), o)
}

// workerNotifier is the worker's notifier: email, and Slack when
// SLACK_BOT_TOKEN is set.
func workerNotifier(c config.Config, st *store.Store, signer *token.Signer) *notify.Notifier {
	o := notify.Options{}
	if !c.Outbox() {
		o.EmailRate = c.MailRate
	}
	if c.Slack() {
		o.SlackRate = c.SlackRate
		o.Slack = &notify.SlackChannel{Client: notify.NewSlackClient(c.SlackBotToken, c.SlackAPIURL, nil), Store: st,
			Signer: signer, PublicURL: c.PublicURL, Log: slog.Default()}
	}
	if c.EscalationBatchWindow > 0 {
		o.Batch = &notify.Batching{Store: st, Window: c.EscalationBatchWindow, From: c.MailFrom, Log: slog.Default()}
	}
	return notify.New(Mailer(c, st), o)
}

// Activities builds the lead's and the campaign's activities over one
// notifier.
func Activities(c config.Config, st *store.Store, signer *token.Signer) (*activities.Activities, *activities.CampaignActivities) {
	return activitiesOver(c, st, signer, workerNotifier(c, st, signer))
}

func activitiesOver(c config.Config, st *store.Store, signer *token.Signer, n *notify.Notifier) (*activities.Activities, *activities.CampaignActivities) {
	return &activities.Activities{
			Store: st, Mailer: n, Signer: signer,
			PublicURL: c.PublicURL, From: c.MailFrom, LinkTTL: c.LinkTTL,
		}, &activities.CampaignActivities{Store: st, Mailer: n, Signer: signer,
			PublicURL: c.PublicURL, From: c.MailFrom, LinkTTL: c.LinkTTL, DefaultWindow: c.DefaultAcceptWindow}
}

// Options are the worker settings Baton runs with (docs/benchmarks.md, Tuning); `make
// bench` gives its engine-baseline worker the same ones. The sticky cache
// size is process-wide, so it is set here, before any worker exists.
func Options(c config.Config) worker.Options {
	if c.WorkerStickyCache > 0 {
		worker.SetStickyWorkflowCacheSize(c.WorkerStickyCache)
	}
	o := worker.Options{StickyScheduleToStartTimeout: c.WorkerStickyTimeout, DeploymentOptions: Deployment(c)}
	if n, err := strconv.Atoi(c.WorkerPollers); err == nil {
		o.MaxConcurrentWorkflowTaskPollers, o.MaxConcurrentActivityTaskPollers = n, n
		return o
	}
	// Autoscaling follows the backlog (docs/engine.md saw it help bursts against
	// the SDK's 2 pollers); `make bench-tune` found 8 fixed pollers better
	// in steady state here, so that is the default (docs/benchmarks.md, Tuning).
	o.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	o.ActivityTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	return o
}

// Deployment makes the worker a Worker Deployment Version when
// BATON_BUILD_ID is set (docs/releases.md); unset, the worker is unversioned
// and takes every task of its queue, as `make run` and the tests want.
// Each workflow's behaviour is set where it is registered (New); there is no
// default, so a workflow registered without one fails a versioned start.
func Deployment(c config.Config) worker.DeploymentOptions {
	if !c.Versioned() {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning: true,
		Version:       worker.WorkerDeploymentVersion{DeploymentName: c.DeploymentName, BuildID: c.BuildID},
	}
}

// New builds a worker with every workflow and activity registered.
func New(c config.Config, cl client.Client, st *store.Store) (worker.Worker, error) {
	if err := c.RequireSigningKey(); err != nil {
		return nil, err
	}
	if err := c.RequireMail(); err != nil {
		return nil, err
	}
	signer, err := token.NewSigner([]byte(c.SigningKey))
	if err != nil {
		return nil, fmt.Errorf("BATON_SIGNING_KEY: %w", err)
	}
	w := worker.New(cl, c.TaskQueue, Options(c))
	w.RegisterWorkflowWithOptions(workflows.LeadWorkflow, workflow.RegisterOptions{VersioningBehavior: workflows.LeadVersioning})
	n := workerNotifier(c, st, signer)
	lead, campaign := activitiesOver(c, st, signer, n)
	w.RegisterActivity(lead)
	w.RegisterWorkflowWithOptions(workflows.CampaignWorkflow, workflow.RegisterOptions{VersioningBehavior: workflows.CampaignVersioning})
	w.RegisterActivity(campaign)
	// CSV imports: the drain that starts staged leads at a bounded rate.
	w.RegisterWorkflowWithOptions(workflows.ImportDrainWorkflow, workflow.RegisterOptions{VersioningBehavior: workflows.ImportDrainVersioning})
	w.RegisterActivityWithOptions((&intake.Service{Temporal: cl, Store: st, TaskQueue: c.TaskQueue}).DrainBatch,
		activity.RegisterOptions{Name: workflows.ActivityDrainImportBatch})
	return &withBatches{Worker: w, n: n}, nil
}

// withBatches is the worker with its escalation-batch dispatcher
// (notify.RunBatches), which runs while the worker runs, so every way of
// running a worker (the main, the tests) sends the batches.
type withBatches struct {
	worker.Worker
	n    *notify.Notifier
	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

func (w *withBatches) startBatches() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan struct{})
	go func() { defer close(w.done); w.n.RunBatches(ctx) }()
}

func (w *withBatches) stopBatches() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop != nil {
		w.stop()
		<-w.done
		w.stop = nil
	}
}

// Start starts the worker and the batch dispatcher.
func (w *withBatches) Start() error {
	if err := w.Worker.Start(); err != nil {
		return err
	}
	w.startBatches()
	return nil
}

// Run runs the worker and the batch dispatcher until interrupted.
func (w *withBatches) Run(interruptCh <-chan interface{}) error {
	w.startBatches()
	defer w.stopBatches()
	return w.Worker.Run(interruptCh)
}

// Stop stops both.
func (w *withBatches) Stop() {
	w.stopBatches()
	w.Worker.Stop()
}

// Dispatcher drains the outbound webhook outbox (internal/webhook); the
// worker runs it beside the Temporal worker. reg may be nil (no metrics).
func Dispatcher(c config.Config, st *store.Store, reg prometheus.Registerer, log *slog.Logger) *webhook.Dispatcher {
	d := &webhook.Dispatcher{Store: st, Timeout: c.WebhookTimeout, RetryFor: c.WebhookRetryFor, Log: log}
	if reg != nil {
		d.Metrics = webhook.NewMetrics(reg)
	}
	return d
}

// SlackApp is the gateway's Slack side (interactions), nil when Slack is
// not set up (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET).
func SlackApp(c config.Config) *web.SlackApp {
	if !c.Slack() {
		return nil
	}
	return &web.SlackApp{SigningSecret: c.SlackSigningSecret,
		Channel: &notify.SlackChannel{Client: notify.NewSlackClient(c.SlackBotToken, c.SlackAPIURL, nil), PublicURL: c.PublicURL}}
}
