package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.LinkTTL != 72*time.Hour || c.HTTPAddr != ":8080" || c.Outbox() || c.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	t.Setenv("BATON_LINK_TTL", "soon")
	t.Setenv("SENDGRID_SANDBOX", "maybe")
	t.Setenv("DATABASE_URL", "mysql://x")
	_, err := Load()
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"BATON_LINK_TTL", "SENDGRID_SANDBOX"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// Parse errors are reported first; once fixed, semantic ones appear, all together.
	t.Setenv("BATON_LINK_TTL", "1s")
	t.Setenv("SENDGRID_SANDBOX", "true")
	t.Setenv("BATON_SIGNING_KEY", "short")
	_, err = Load()
	for _, want := range []string{"DATABASE_URL", "BATON_LINK_TTL", "BATON_SIGNING_KEY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	u := Usage()
	for _, v := range []string{"DATABASE_URL", "TEMPORAL_API_KEY", "SENDGRID_BASE_URL", "BATON_SIGNING_KEY"} {
		if !strings.Contains(u, v) {
			t.Errorf("usage lacks %s", v)
		}
	}
}

func TestWorkerAndIntakeSettings(t *testing.T) {
	c, err := Load()
	if err != nil || c.WorkerPollers != "auto" || c.WorkerStickyCache != 1000 || c.WorkerStickyTimeout != 5*time.Second || c.IntakeAck != "start" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	t.Setenv("BATON_WORKER_POLLERS", "8")
	t.Setenv("BATON_INTAKE_ACK", "durable")
	if c, err := Load(); err != nil || c.WorkerPollers != "8" || c.IntakeAck != "durable" {
		t.Fatalf("set: %+v %v", c, err)
	}
	t.Setenv("BATON_INTAKE_ACK", "processed") // still selectable: the answer once the workflow recorded the lead
	if c, err := Load(); err != nil || c.IntakeAck != "processed" {
		t.Fatalf("set processed: %+v %v", c, err)
	}
	t.Setenv("BATON_WORKER_POLLERS", "1")
	t.Setenv("BATON_WORKER_STICKY_TIMEOUT", "10ms")
	t.Setenv("BATON_INTAKE_ACK", "eventually")
	t.Setenv("BATON_ESCALATION_BATCH_WINDOW", "2h")
	t.Setenv("BATON_WORKER_STICKY_CACHE", "0")
	_, err = Load()
	for _, want := range []string{"BATON_WORKER_POLLERS", "BATON_WORKER_STICKY_TIMEOUT", "BATON_INTAKE_ACK", "BATON_ESCALATION_BATCH_WINDOW", "BATON_WORKER_STICKY_CACHE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// The local outbox is a mode asked for by name: without a SendGrid key and
// without it, the worker and gateway refuse to start (issue 15, finding 1).
func TestMailNeedsSendGridOrTheExplicitDevOutbox(t *testing.T) {
	t.Setenv("SENDGRID_API_KEY", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Outbox() {
		t.Fatal("no SendGrid key turned the outbox on by itself")
	}
	err = c.RequireMail()
	if err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") || !strings.Contains(err.Error(), "BATON_DEV_OUTBOX") {
		t.Fatalf("neither set: %v", err)
	}
	if c.HTTPAddr != ":8080" {
		t.Fatalf("HTTP address %q", c.HTTPAddr)
	}

	t.Setenv("BATON_DEV_OUTBOX", "true")
	c, err = Load()
	if err != nil || !c.Outbox() || c.RequireMail() != nil {
		t.Fatalf("dev outbox: %+v %v %v", c, err, c.RequireMail())
	}
	if c.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("dev outbox listens on %q, want loopback", c.HTTPAddr)
	}
	t.Setenv("BATON_HTTP_ADDR", ":9000") // told otherwise
	if c, _ = Load(); c.HTTPAddr != ":9000" {
		t.Fatalf("explicit address ignored: %q", c.HTTPAddr)
	}

	t.Setenv("SENDGRID_API_KEY", "SG.x")
	c, _ = Load()
	if err := c.RequireMail(); err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") || !strings.Contains(err.Error(), "BATON_DEV_OUTBOX") {
		t.Fatalf("both set: %v", err)
	}
	t.Setenv("BATON_DEV_OUTBOX", "false")
	c, _ = Load()
	if c.Outbox() || c.RequireMail() != nil {
		t.Fatalf("SendGrid: outbox %v, %v", c.Outbox(), c.RequireMail())
	}
}

func TestWorkerVersioningSettings(t *testing.T) {
	c, err := Load()
	if err != nil || c.DeploymentName != "baton" || c.BuildID != "" || c.Versioned() {
		t.Fatalf("defaults: unversioned worker of deployment baton wanted, got %q %q %v", c.DeploymentName, c.BuildID, err)
	}
	t.Setenv("BATON_BUILD_ID", "2026.11.27-3f9c2ab")
	if c, err := Load(); err != nil || !c.Versioned() || c.BuildID != "2026.11.27-3f9c2ab" {
		t.Fatalf("versioned: %q %v", c.BuildID, err)
	}
	for _, tc := range []struct{ name, build, want string }{
		{"baton", "has space", "BATON_BUILD_ID"},
		{"baton", ".leading-dot", "BATON_BUILD_ID"},
		{"baton", strings.Repeat("x", 201), "BATON_BUILD_ID"},
		{"baton.prod", "v1", "BATON_DEPLOYMENT_NAME"}, // '.' delimits versions on the server
		{"baton:prod", "v1", "BATON_DEPLOYMENT_NAME"},
		{"", "v1", "BATON_DEPLOYMENT_NAME"},
		{"bad name", "", "BATON_DEPLOYMENT_NAME"}, // a typo shows before the release turns versioning on
	} {
		t.Setenv("BATON_DEPLOYMENT_NAME", tc.name)
		t.Setenv("BATON_BUILD_ID", tc.build)
		if _, err := Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("name %q build %q: error %v does not name %s", tc.name, tc.build, err, tc.want)
		}
	}
}
