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
	if c.TemporalAddress != "127.0.0.1:7233" || c.LinkTTL != 72*time.Hour || c.HTTPAddr != ":8080" || !c.Outbox() {
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
	if err != nil || c.WorkerPollers != "8" || c.WorkerStickyCache != 10000 || c.WorkerStickyTimeout != 5*time.Second || c.IntakeAck != "processed" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	t.Setenv("BATON_WORKER_POLLERS", "auto")
	t.Setenv("BATON_INTAKE_ACK", "durable")
	if c, err := Load(); err != nil || c.WorkerPollers != "auto" || c.IntakeAck != "durable" {
		t.Fatalf("set: %+v %v", c, err)
	}
	t.Setenv("BATON_WORKER_POLLERS", "1")
	t.Setenv("BATON_WORKER_STICKY_TIMEOUT", "10ms")
	t.Setenv("BATON_INTAKE_ACK", "eventually")
	_, err = Load()
	for _, want := range []string{"BATON_WORKER_POLLERS", "BATON_WORKER_STICKY_TIMEOUT", "BATON_INTAKE_ACK"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
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
