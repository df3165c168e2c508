package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentilesAndStats(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := pct(xs, 0.5); got != 5 {
		t.Errorf("p50 = %v", got)
	}
	if got := pct(xs, 0.99); got != 10 {
		t.Errorf("p99 = %v", got)
	}
	if got := pct(nil, 0.5); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	s := stat([]float64{3, 1, 2})
	if s.Median != 2 || s.Min != 1 || s.Max != 3 || s.Runs[0] != 3 {
		t.Errorf("stat = %+v", s)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	if r, err := parseRates("50, 10,20"); err != nil || len(r) != 3 || r[0] != 10 || r[2] != 50 {
		t.Errorf("rates = %v, %v", r, err)
	}
	if _, err := parseRates("10,fast"); err == nil || !strings.Contains(err.Error(), "fast") {
		t.Errorf("bad rate accepted: %v", err)
	}
	if v, err := parseVariants("BATON_WORKER_POLLERS=auto; BATON_WORKER_POLLERS=8 BATON_WORKER_STICKY_TIMEOUT=30s"); err != nil || len(v) != 2 || len(v[1]) != 2 {
		t.Errorf("variants = %v, %v", v, err)
	}
	if _, err := parseVariants("DATABASE_URL=x"); err == nil {
		t.Error("a variant may only set BATON_WORKER_*")
	}
	o := opts{reps: 0, baselineN: 1, handoffN: 1, slaLeads: 1, kneeStart: 1, routingN: 1, concurrent: 1,
		slaSpread: time.Second, kneeSpread: time.Second, intakeFor: time.Second, intakeStep: time.Second, intakeRate: 1, intakeRates: "1", topology: "dev", herd: "2"}
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "-reps") {
		t.Errorf("validate = %v", err)
	}
	o.reps = 1
	if err := o.validate(); err != nil {
		t.Errorf("validate good = %v", err)
	}
	if !(opts{figures: "1, 3,knee"}).on("3") || (opts{figures: "1,3"}).on("knee") {
		t.Error("on() misreads -figures")
	}
}

func TestChildThatDiesIsReportedWithItsLog(t *testing.T) {
	died := make(chan *proc, 1)
	onChildDied = func(p *proc) { died <- p }
	defer func() { onChildDied = childDied }()
	dir := t.TempDir()
	p, err := startProc(dir, "worker", "/bin/sh", []string{"-c", `echo "listen tcp $BATON_METRICS_ADDR: address already in use"; exit 3`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-died:
		if got != p {
			t.Fatalf("reported %s", got.name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a child that exited was not noticed")
	}
	if err := p.alive(); err == nil || !strings.Contains(err.Error(), "worker.log") {
		t.Errorf("alive = %v", err)
	}
	tail := logTail(p.logPath, 5)
	if !strings.Contains(tail, "127.0.0.1:") || strings.Contains(tail, ":9091") {
		t.Errorf("the child was not given a free metrics port: %q", tail)
	}
	// A child the bench stops is not reported.
	q, err := startProc(dir, "gateway", "/bin/sleep", []string{"30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.stop()
	select {
	case <-died:
		t.Error("a stopped child was reported as dead")
	case <-time.After(200 * time.Millisecond):
	}
}
