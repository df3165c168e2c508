package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/testenv"
)

// workerProc runs the real worker binary so the test can SIGKILL it.
type workerProc struct {
	t    *testing.T
	bin  string
	env  []string
	cmd  *exec.Cmd
	logs *os.File
}

func buildWorker(t *testing.T, s *Stack) *workerProc {
	t.Helper()
	root, _ := testenv.RepoRoot()
	bin := filepath.Join(t.TempDir(), "worker")
	build := exec.Command("go", "build", "-o", bin, "./worker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	logs, _ := os.Create(filepath.Join(t.TempDir(), "worker.log"))
	env := append(os.Environ(),
		"DATABASE_URL="+s.Config.DatabaseURL, "TEMPORAL_ADDRESS="+s.Config.TemporalAddress,
		"BATON_SIGNING_KEY="+s.Config.SigningKey, "BATON_TASK_QUEUE="+s.Config.TaskQueue, "BATON_PUBLIC_URL="+s.URL,
		"BATON_METRICS_ADDR=127.0.0.1:0") // a free port: tests may run side by side
	p := &workerProc{t: t, bin: bin, env: env, logs: logs}
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *workerProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

// kill is a crash: SIGKILL, no graceful stop.
func (p *workerProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill() //nolint:errcheck
		p.cmd.Wait()         //nolint:errcheck
		p.cmd = nil
	}
}

// countOutbox counts messages of a kind whose ledger key starts with the lead
// id, sent alone or as a section of a batch (docs/email.md, Batching).
func countOutbox(t *testing.T, s *Stack, lead, kind string) int {
	var n int
	if err := s.Store.Pool.QueryRow(context.Background(),
		`select (select count(*) from outbox o join email_ledger e on e.key = o.ledger_key where e.key like $1 || ':%' and e.kind = $2)
			+ (select count(*) from mail_batch_items i join outbox o on o.ledger_key = i.batch_key join email_ledger e on e.key = i.batch_key
				where i.key like $1 || ':%' and e.kind = $2)`,
		lead, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNothingLostWhenTheWorkerIsDownOrKilled(t *testing.T) {
	// Step 1 is the processed answer's own fallback: no worker answers within
	// its wait, so it says pending (the start answer, the default, needs no
	// worker: TestStartIntakeSaysNewOrDuplicateWithoutAWorker).
	t.Setenv("BATON_INTAKE_ACK", "processed")
	s := startStackOpts(t, false)
	w := buildWorker(t, s)

	// 1. No worker at all: the lead is accepted and kept, and handled once a worker starts.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"olga@initech.example","name":"Olga N","score":90}`)
	if code != 202 || res["pending"] != true {
		t.Fatalf("submit with no worker: %d %v", code, res)
	}
	lead := res["id"].(string)
	w.start()
	offer := waitMail(t, s, "ana.schmidt@example.com", "offer", 20*time.Second)
	if !strings.Contains(offer.Subject, "Olga N") {
		t.Fatalf("offer: %+v", offer)
	}

	// 2. Crash during the acceptance window, stay down past the deadline:
	// the timer fires when a worker is back, and nothing is sent twice.
	w.kill()
	time.Sleep(window + time.Second)
	w.start()
	waitMail(t, s, "bea.ortiz@example.com", "offer", 20*time.Second)
	waitMail(t, s, "max.becker@example.com", "escalation", window+20*time.Second)
	if n := countOutbox(t, s, lead, "offer"); n != 2 {
		t.Fatalf("%d offers for %s, want 2", n, lead)
	}
	if n := countOutbox(t, s, lead, "reassigned"); n != 1 {
		t.Fatalf("%d reassigned notices, want 1", n)
	}
	v := getLead(t, s, lead)
	if v.State != "Escalated" {
		t.Fatalf("state %s", v.State)
	}

	// 3. Kill the worker at random moments while several leads go through
	// offer, reassignment and escalation.
	const n = 4
	var ids []string
	for i := 0; i < n; i++ {
		code, res := submit(t, s, fmt.Sprintf(`{"campaign":"webinar-q3","email":"chaos%d@example.org","score":80}`, i))
		if code != 202 {
			t.Fatalf("submit %d: %d %v", i, code, res)
		}
		ids = append(ids, res["id"].(string))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(150 * time.Second)
	for {
		done := 0
		for _, id := range ids {
			if v := getLead(t, s, id); v.State == "Escalated" {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d leads escalated within 150s of random worker kills", done, n)
		}
		time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond) // up long enough to start and work
		w.kill()
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		w.start()
	}
	for _, id := range ids {
		// The state is recorded before the mail goes out (notices run beside
		// the clock): a notice whose worker was killed mid-send is retried
		// only after its 30s start-to-close timeout. Give every expected
		// message that long, not just the escalation (an offer still in its
		// retry was counted as missing once).
		for wait := time.Now().Add(45 * time.Second); time.Now().Before(wait) && (countOutbox(t, s, id, "escalation") == 0 ||
			countOutbox(t, s, id, "offer") < 2 || countOutbox(t, s, id, "reassigned") < 1); {
			time.Sleep(200 * time.Millisecond)
		}
		// Escalation climbs to the sales leader one window later, so there may be one or two.
		if o, r, e := countOutbox(t, s, id, "offer"), countOutbox(t, s, id, "reassigned"), countOutbox(t, s, id, "escalation"); o != 2 || r != 1 || e < 1 || e > 2 {
			t.Fatalf("lead %s: %d offers, %d reassigned, %d escalations; want 2, 1, 1 or 2", id, o, r, e)
		}
		v := getLead(t, s, id)
		var kinds []string
		for _, e := range v.Events {
			kinds = append(kinds, e.Kind)
		}
		if got := strings.Join(kinds, ","); got != "captured,mql,offered,lapsed,offered,lapsed,escalated" &&
			got != "captured,mql,offered,lapsed,offered,lapsed,escalated,escalated" {
			t.Fatalf("lead %s events: %s", id, got)
		}
	}
}
