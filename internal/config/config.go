// Package config loads every Baton setting from the environment with
// envconfig. Load reports every bad or missing variable in one error.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the one struct every binary loads. docs/configuration.md's
// table lists the same variables, defaults and meanings.
type Config struct {
	DatabaseURL string `envconfig:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/baton?sslmode=disable" desc:"PostgreSQL connection URL"`

	TemporalAddress     string `envconfig:"TEMPORAL_ADDRESS" default:"127.0.0.1:7233" desc:"Temporal frontend host:port"`
	TemporalNamespace   string `envconfig:"TEMPORAL_NAMESPACE" default:"default" desc:"Temporal namespace"`
	TemporalAPIKey      string `envconfig:"TEMPORAL_API_KEY" desc:"API key for Temporal Cloud (turns TLS on)"`
	TemporalTLS         bool   `envconfig:"TEMPORAL_TLS" default:"false" desc:"use TLS to reach Temporal"`
	TemporalTLSCert     string `envconfig:"TEMPORAL_TLS_CERT" desc:"client certificate file for mTLS"`
	TemporalTLSKey      string `envconfig:"TEMPORAL_TLS_KEY" desc:"client key file for mTLS"`
	TemporalTLSCA       string `envconfig:"TEMPORAL_TLS_CA" desc:"CA certificate file (PEM) that signed the Temporal frontend's certificate; empty: the system roots (turns TLS on)"`
	TemporalTLSName     string `envconfig:"TEMPORAL_TLS_SERVER_NAME" desc:"name expected in the Temporal frontend's certificate, when it differs from TEMPORAL_ADDRESS's host (turns TLS on)"`
	TemporalCompression string `envconfig:"TEMPORAL_COMPRESSION" default:"auto" desc:"gRPC compression of requests to Temporal: gzip, none, or auto (gzip with TEMPORAL_API_KEY, Temporal Cloud across the internet; none otherwise, where gzip only costs CPU on both ends)"`
	TaskQueue           string `envconfig:"BATON_TASK_QUEUE" default:"baton" desc:"Temporal task queue the worker polls"`

	// Worker Versioning (docs/releases.md): a worker with a build id serves
	// only the workflows pinned to its build and, once an operator makes
	// its build current, every new one.
	DeploymentName string `envconfig:"BATON_DEPLOYMENT_NAME" default:"baton" desc:"Worker Deployment the worker belongs to (letters, digits, - and _), when BATON_BUILD_ID is set"`
	BuildID        string `envconfig:"BATON_BUILD_ID" desc:"this release's build id (letters, digits, . - _ +), one per release; empty runs the worker unversioned (make run, tests)"`

	HTTPAddr   string        `envconfig:"BATON_HTTP_ADDR" default:":8080" desc:"address the gateway listens on (127.0.0.1:8080 in dev outbox mode unless set)"`
	PublicURL  string        `envconfig:"BATON_PUBLIC_URL" default:"http://localhost:8080" desc:"base URL put in emailed links"`
	SigningKey string        `envconfig:"BATON_SIGNING_KEY" desc:"secret (32+ bytes) that signs one-click links; required by worker and gateway"`
	LinkTTL    time.Duration `envconfig:"BATON_LINK_TTL" default:"72h" desc:"how long an emailed action link stays valid after its deadline"`

	WorkerPollers       string        `envconfig:"BATON_WORKER_POLLERS" default:"auto" desc:"workflow and activity task pollers: auto (scaled with the backlog; a Monday herd of 2,000 deadlines fires in 11 s instead of 72 with 8) or a fixed number, 2 to 64"`
	WorkerStickyCache   int           `envconfig:"BATON_WORKER_STICKY_CACHE" default:"1000" desc:"workflows the worker keeps in memory between tasks (sticky cache; about 100 KiB each); idle leads beyond it are evicted and replayed from history when their clock fires"`
	WorkerStickyTimeout time.Duration `envconfig:"BATON_WORKER_STICKY_TIMEOUT" default:"5s" desc:"how long a task waits for this worker's sticky queue before any worker may take it"`

	IntakeAck          string        `envconfig:"BATON_INTAKE_ACK" default:"start" desc:"when intake answers: start (Temporal holds it and its start said new or duplicate; no worker needed; a GET right after may answer pending), processed (the lead's workflow recorded it; says new or duplicate), or durable (Temporal holds it; says neither)"`
	IntakeReplayWindow time.Duration `envconfig:"BATON_INTAKE_REPLAY_WINDOW" default:"5m" desc:"how old a signed intake request may be; its signature is refused a second time within it"`
	SessionTTL         time.Duration `envconfig:"BATON_SESSION_TTL" default:"12h" desc:"how long a web sign-in session lasts"`
	MetricsToken       string        `envconfig:"BATON_METRICS_TOKEN" desc:"when set, the gateway's /metrics answers anyone with Authorization: Bearer <token>; when empty, only loopback peers"`
	MetricsAddr        string        `envconfig:"BATON_METRICS_ADDR" default:"127.0.0.1:9091" desc:"address the worker serves Prometheus /metrics on (the gateway serves it on BATON_HTTP_ADDR to loopback peers, or to anyone with BATON_METRICS_TOKEN); empty turns it off"`
	WorkerPprof        bool          `envconfig:"BATON_WORKER_PPROF" default:"false" desc:"also serve Go's /debug/pprof profiles (heap, CPU, goroutines) on BATON_METRICS_ADDR; keep that address loopback"`

	DefaultAcceptWindow time.Duration `envconfig:"BATON_DEFAULT_ACCEPT_WINDOW" default:"4h" desc:"acceptance window for campaigns that set none"`
	AwaySweep           time.Duration `envconfig:"BATON_AWAY_SWEEP" default:"15s" desc:"how often the worker tells a rep's held leads of an out-of-office period that has begun"`

	MailFrom        string `envconfig:"BATON_MAIL_FROM" default:"Baton <baton@localhost>" desc:"From address of every message"`
	SendGridAPIKey  string `envconfig:"SENDGRID_API_KEY" desc:"SendGrid API key; the worker and gateway need it unless BATON_DEV_OUTBOX is true"`
	DevOutbox       bool   `envconfig:"BATON_DEV_OUTBOX" default:"false" desc:"development only: mail goes to the local outbox (GET /outbox, loopback peers only) instead of SendGrid; the gateway listens on 127.0.0.1:8080 unless BATON_HTTP_ADDR is set"`
	SendGridBaseURL string `envconfig:"SENDGRID_BASE_URL" default:"https://api.sendgrid.com" desc:"SendGrid API base URL (EU accounts, tests)"`
	SendGridSandbox bool   `envconfig:"SENDGRID_SANDBOX" default:"false" desc:"ask SendGrid to validate but not deliver"`

	SendGridTemplateIDs      string        `envconfig:"SENDGRID_TEMPLATE_IDS" desc:"dynamic template id per message kind, e.g. offer=d-123,reminder=d-456"`
	SendGridTimeout          time.Duration `envconfig:"SENDGRID_TIMEOUT" default:"8s" desc:"timeout of one SendGrid API call (keep it below the activities' 10s)"`
	MailRate                 float64       `envconfig:"BATON_MAIL_RATE" default:"50" desc:"worker-wide cap on SendGrid sends per second (0: no cap)"`
	MailGrace                time.Duration `envconfig:"BATON_MAIL_GRACE" default:"10m" desc:"how long a send with an unknown outcome waits for a SendGrid event before one resend"`
	EscalationBatchWindow    time.Duration `envconfig:"BATON_ESCALATION_BATCH_WINDOW" default:"60s" desc:"escalation emails to one person within this window go out as one (the first at once, the rest when the window closes); 0 sends each alone"`
	SendGridWebhookPublicKey string        `envconfig:"SENDGRID_WEBHOOK_PUBLIC_KEY" desc:"base64 ECDSA public key of SendGrid's signed Event Webhook; empty turns the endpoint off"`
	SendGridWebhookTolerance time.Duration `envconfig:"SENDGRID_WEBHOOK_TOLERANCE" default:"10m" desc:"how old (or how far ahead) a signed event timestamp may be"`

	// Outbound webhooks and Slack (config/notify.go checks them).
	WebhookTimeout     time.Duration `envconfig:"BATON_WEBHOOK_TIMEOUT" default:"10s" desc:"timeout of one outbound webhook delivery attempt"`
	WebhookRetryFor    time.Duration `envconfig:"BATON_WEBHOOK_RETRY_FOR" default:"24h" desc:"how long a webhook delivery is retried with backoff before it is marked failed"`
	SlackBotToken      string        `envconfig:"SLACK_BOT_TOKEN" desc:"Slack bot token (xoxb-…); empty turns Slack off"`
	SlackSigningSecret string        `envconfig:"SLACK_SIGNING_SECRET" desc:"Slack app signing secret: verifies POST /api/v1/slack/interactions"`
	SlackAPIURL        string        `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base URL (a test server in tests)"`
	SlackRate          float64       `envconfig:"BATON_SLACK_RATE" default:"10" desc:"worker-wide cap on Slack messages per second (0: no cap); a message the cap cannot take in time goes by email"`
}

// Load reads the environment. Unlike envconfig.Process, which stops at the
// first bad variable, it processes each field on its own and joins every
// problem, then checks the values that parse but make no sense.
func Load() (Config, error) {
	var c Config
	var errs []error
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		// A one-field struct with the same tags: envconfig fills it alone.
		one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "F", Type: t.Field(i).Type, Tag: t.Field(i).Tag}}))
		if err := envconfig.Process("", one.Interface()); err != nil {
			errs = append(errs, cleanErr(err))
			continue
		}
		v.Field(i).Set(one.Elem().Field(0))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	// Dev outbox mode serves everyone's mail to loopback peers: it listens on
	// loopback unless told otherwise.
	if _, set := os.LookupEnv("BATON_HTTP_ADDR"); c.DevOutbox && !set {
		c.HTTPAddr = DevHTTPAddr
	}
	return c, c.check()
}

func cleanErr(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot parse %q as %s", pe.KeyName, pe.Value, pe.TypeName)
	}
	return err
}

func (c Config) check() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf(name+": "+format, args...))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "%q is not a postgres:// URL", c.DatabaseURL)
	}
	if c.TemporalAddress == "" {
		bad("TEMPORAL_ADDRESS", "must not be empty")
	}
	if c.BuildID != "" {
		if !deploymentNameRe.MatchString(c.DeploymentName) {
			bad("BATON_DEPLOYMENT_NAME", "%q is not 1 to 200 letters, digits, - and _ (a versioned worker, BATON_BUILD_ID=%q, needs one)", c.DeploymentName, c.BuildID)
		}
		if !buildIDRe.MatchString(c.BuildID) {
			bad("BATON_BUILD_ID", "%q is not 1 to 200 letters, digits, '.', '-', '_' and '+' starting with a letter or digit", c.BuildID)
		}
	} else if c.DeploymentName != "" && !deploymentNameRe.MatchString(c.DeploymentName) {
		bad("BATON_DEPLOYMENT_NAME", "%q is not 1 to 200 letters, digits, - and _", c.DeploymentName)
	}
	if c.TemporalCompression != "auto" && c.TemporalCompression != "gzip" && c.TemporalCompression != "none" {
		bad("TEMPORAL_COMPRESSION", "%q is not auto, gzip or none", c.TemporalCompression)
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		bad("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BATON_PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
	if c.SigningKey != "" && len(c.SigningKey) < 32 {
		bad("BATON_SIGNING_KEY", "is %d bytes; at least 32 are required", len(c.SigningKey))
	}
	if c.LinkTTL < time.Minute {
		bad("BATON_LINK_TTL", "%s is shorter than 1m", c.LinkTTL)
	}
	if n, err := strconv.Atoi(c.WorkerPollers); c.WorkerPollers != "auto" && (err != nil || n < 2 || n > 64) {
		bad("BATON_WORKER_POLLERS", "%q is not auto or a number from 2 to 64", c.WorkerPollers)
	}
	if c.WorkerStickyCache < 1 {
		// The SDK would take 0 as its own default, 10,000 workflows (about 1 GiB).
		bad("BATON_WORKER_STICKY_CACHE", "%d: at least 1 (0 is not \"no cache\": the SDK would keep 10,000)", c.WorkerStickyCache)
	}
	if c.WorkerStickyTimeout < time.Second {
		bad("BATON_WORKER_STICKY_TIMEOUT", "%s is shorter than 1s", c.WorkerStickyTimeout)
	}
	if c.IntakeAck != "processed" && c.IntakeAck != "durable" && c.IntakeAck != "start" {
		bad("BATON_INTAKE_ACK", "%q is not start, processed or durable", c.IntakeAck)
	}
	if c.IntakeReplayWindow < 10*time.Second || c.IntakeReplayWindow > time.Hour {
		bad("BATON_INTAKE_REPLAY_WINDOW", "%s is outside 10s..1h", c.IntakeReplayWindow)
	}
	if c.SessionTTL < time.Minute {
		bad("BATON_SESSION_TTL", "%s is shorter than 1m", c.SessionTTL)
	}
	if c.DefaultAcceptWindow < time.Second {
		bad("BATON_DEFAULT_ACCEPT_WINDOW", "%s is shorter than 1s", c.DefaultAcceptWindow)
	}
	if c.AwaySweep < time.Second {
		bad("BATON_AWAY_SWEEP", "%s is shorter than 1s", c.AwaySweep)
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("BATON_MAIL_FROM", "%q is not an address such as \"Baton <baton@example.com>\"", c.MailFrom)
	}
	if u, err := url.Parse(c.SendGridBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SENDGRID_BASE_URL", "%q is not an http(s) URL", c.SendGridBaseURL)
	}
	if _, err := c.TemplateIDs(); err != nil {
		bad("SENDGRID_TEMPLATE_IDS", "%v", err)
	}
	if c.SendGridTimeout < 100*time.Millisecond {
		bad("SENDGRID_TIMEOUT", "%s is shorter than 100ms", c.SendGridTimeout)
	}
	if c.MailRate < 0 {
		bad("BATON_MAIL_RATE", "%v is negative", c.MailRate)
	}
	if c.MailGrace < time.Second {
		bad("BATON_MAIL_GRACE", "%s is shorter than 1s", c.MailGrace)
	}
	if c.EscalationBatchWindow < 0 || c.EscalationBatchWindow > time.Hour {
		bad("BATON_ESCALATION_BATCH_WINDOW", "%s is not between 0 and 1h", c.EscalationBatchWindow)
	}
	if c.SendGridWebhookPublicKey != "" {
		if _, err := ParseECDSAPublicKey(c.SendGridWebhookPublicKey); err != nil {
			bad("SENDGRID_WEBHOOK_PUBLIC_KEY", "%v", err)
		}
	}
	if c.SendGridWebhookTolerance < time.Second {
		bad("SENDGRID_WEBHOOK_TOLERANCE", "%s is shorter than 1s", c.SendGridWebhookTolerance)
	}
	c.checkNotify(bad)
	return errors.Join(errs...)
}

// Temporal refuses '.' and ':' in a deployment name (they delimit versions);
// build ids stay to what a tag or a commit hash holds.
var (
	deploymentNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
	buildIDRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$`)
)

// Versioned reports whether the worker runs as a Worker Deployment Version
// (BATON_BUILD_ID set) rather than unversioned.
func (c Config) Versioned() bool { return c.BuildID != "" }

// RequireSigningKey is called by the binaries that mint or check links.
func (c Config) RequireSigningKey() error {
	if c.SigningKey == "" {
		return errors.New("BATON_SIGNING_KEY: is required by the worker and the gateway (32+ random bytes; `make run` generates one in .data/)")
	}
	return nil
}

// DevHTTPAddr is where the gateway listens in dev outbox mode when
// BATON_HTTP_ADDR is not set.
const DevHTTPAddr = "127.0.0.1:8080"

// Outbox reports whether mail goes to the local outbox instead of SendGrid:
// only in the dev outbox mode asked for with BATON_DEV_OUTBOX=true.
func (c Config) Outbox() bool { return c.DevOutbox }

// RequireMail is called by the worker and the gateway: they send mail
// either through SendGrid or, asked for explicitly, to the local outbox.
// Neither, or both, is a startup error.
func (c Config) RequireMail() error {
	switch {
	case c.SendGridAPIKey == "" && !c.DevOutbox:
		return errors.New("SENDGRID_API_KEY is not set and BATON_DEV_OUTBOX is not true: set SENDGRID_API_KEY to send mail, " +
			"or BATON_DEV_OUTBOX=true for the local development outbox (never on a reachable host; `make run` sets it)")
	case c.SendGridAPIKey != "" && c.DevOutbox:
		return errors.New("SENDGRID_API_KEY and BATON_DEV_OUTBOX=true are both set: choose SendGrid or the local development outbox, not both")
	}
	return nil
}

// Usage lists every variable with its default and meaning, for --help.
func Usage() string {
	var out string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		def := f.Tag.Get("default")
		if def == "" {
			def = "(empty)"
		}
		out += fmt.Sprintf("  %-28s %-45s %s\n", f.Tag.Get("envconfig"), def, f.Tag.Get("desc"))
	}
	return out
}
