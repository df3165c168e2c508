// Package chaos is the fault suite of issue 13 (`make chaos`): it starts a
// whole Baton stack of its own (a private PostgreSQL, Temporal, workers,
// gateways, on the cluster topology HAProxy in front), drives scripted leads
// through it while it kills parts of it at random (seeded), and then checks
// what PostgreSQL holds against what every 2xx promised.
package chaos

import (
	"context"
	"fmt"
	"github.com/batonhq/baton/internal/testenv"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one supervised process: started again by restart after a kill.
type proc struct {
	name string
	argv []string
	env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  io.Writer
	down bool // killed on purpose: the supervisor leaves it down
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck // exit is expected under faults
	p.cmd, p.done = cmd, done
	return nil
}

// kill sends SIGKILL to the process (kill -9) and waits for it to go.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
	<-done
}

// stop asks politely, then kills.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stack is Baton on one machine, with every part killable.
type Stack struct {
	Topology    string // cluster or dev
	Root, Dir   string
	Bin         string // worker, gateway, starter
	PGPort      int
	TemporalAdr string
	GatewayURL  string // what clients use: HAProxy (cluster) or the gateway (dev)
	DatabaseURL string
	APIKey      string
	Log         io.Writer

	pgBin    string
	temporal *proc
	workers  []*proc
	gateways []*proc
	lb       *proc
	baseEnv  []string
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func pgBinDir() (string, error) {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin; make pg installs them)")
	}
	return filepath.Dir(m[len(m)-1]), nil
}

// asPostgres runs a PostgreSQL server tool; as root, as the postgres user
// (initdb and postgres refuse root).
func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (s *Stack) run(ctx context.Context, name string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(os.Environ(), s.baseEnv...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Start brings everything up in Dir (a fresh directory).
func (s *Stack) Start(ctx context.Context) error {
	if s.Log == nil {
		s.Log = io.Discard
	}
	if s.Bin == "" {
		s.Bin = filepath.Join(s.Root, ".bin")
	}
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	s.pgBin = bin
	s.PGPort = freePort()
	pgdata := filepath.Join(s.Dir, "pg")
	if err := os.MkdirAll(pgdata, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		exec.Command("chown", "-R", "postgres:postgres", s.Dir).Run() //nolint:errcheck
		os.Chmod(s.Dir, 0o755)                                        //nolint:errcheck
	}
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := s.StartPG(); err != nil {
		return err
	}
	s.DatabaseURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/baton?sslmode=disable", s.PGPort)
	if _, err := s.run(ctx, "psql", nil, "-h", "127.0.0.1", "-p", strconv.Itoa(s.PGPort), "-U", "postgres", "-qc", "create database baton"); err != nil {
		return err
	}

	base, err := testenv.ClusterPort()
	if err != nil {
		return err
	}
	s.TemporalAdr = fmt.Sprintf("127.0.0.1:%d", base)
	cli := os.Getenv("BATON_TEMPORAL_CLI")
	if cli == "" {
		cli = filepath.Join(s.Root, ".tools/bin/temporal")
	}
	switch s.Topology {
	case "cluster":
		ct := filepath.Join(s.Root, ".tools/cluster")
		pg := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(s.PGPort), "-u", "postgres"}
		for _, db := range [][2]string{{"temporal", "postgresql/v12/temporal"}, {"temporal_visibility", "postgresql/v12/visibility"}} {
			for _, args := range [][]string{{"--db", db[0], "create-database"}, {"--db", db[0], "setup-schema", "-v", "0.0"}, {"--db", db[0], "update-schema", "--schema-name", db[1]}} {
				if _, err := s.run(ctx, filepath.Join(ct, "temporal-sql-tool"), nil, append(pg, args...)...); err != nil {
					return err
				}
			}
		}
		s.temporal = &proc{name: "temporal", log: prefix(s.Log, "temporal"), argv: []string{filepath.Join(ct, "temporal-server"),
			"--root", s.Root, "--config", "deploy/cluster/temporal", "--env", "cluster", "--allow-no-auth", "start"},
			env: []string{"BATON_CLUSTER_PORT=" + strconv.Itoa(base), "BATON_CLUSTER_PG_PORT=" + strconv.Itoa(s.PGPort),
				"BATON_CLUSTER_DB=temporal", "BATON_CLUSTER_VISIBILITY_DB=temporal_visibility", "BATON_CLUSTER_LOG_LEVEL=error",
				"BATON_CLUSTER_DYNAMIC_CONFIG=" + filepath.Join(s.Root, "deploy/cluster/temporal/dynamicconfig.yaml")}}
	default:
		s.temporal = &proc{name: "temporal", log: prefix(s.Log, "temporal"), argv: []string{cli, "server", "start-dev",
			"--ip", "127.0.0.1", "--port", strconv.Itoa(base), "--headless", "--db-filename", filepath.Join(s.Dir, "temporal.db"),
			"--log-level", "error", "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
			"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1", "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"}}
	}
	if err := s.temporal.start(); err != nil {
		return err
	}
	if err := s.waitTemporal(ctx, cli, 90*time.Second); err != nil {
		return err
	}
	if s.Topology == "cluster" {
		if _, err := s.retry(ctx, 60*time.Second, cli, "operator", "namespace", "create", "--address", s.TemporalAdr, "-n", "default", "--retention", "24h"); err != nil {
			return err
		}
	}
	for _, sa := range []string{"BatonCampaign=Keyword", "BatonLeadState=Keyword", "BatonOwnerRep=Keyword", "BatonSLADueAt=Datetime", "BatonEscalationLevel=Int"} {
		name, typ, _ := strings.Cut(sa, "=")
		if _, err := s.retry(ctx, 60*time.Second, cli, "operator", "search-attribute", "create", "--address", s.TemporalAdr, "-n", "default", "--name", name, "--type", typ); err != nil {
			return err
		}
	}

	key := make([]byte, 24)
	for i := range key {
		key[i] = 'a' + byte((i*7+s.PGPort)%26)
	}
	s.baseEnv = []string{"DATABASE_URL=" + s.DatabaseURL, "TEMPORAL_ADDRESS=" + s.TemporalAdr, "TEMPORAL_NAMESPACE=default",
		"BATON_SIGNING_KEY=chaos-signing-key-" + string(key), "BATON_DEV_OUTBOX=true", "SENDGRID_API_KEY=",
		"BATON_METRICS_ADDR=", "BATON_LINK_TTL=1h", "BATON_AWAY_SWEEP=5s"}
	starter := filepath.Join(s.Bin, "starter")
	if _, err := s.run(ctx, starter, nil, "db", "migrate"); err != nil {
		return err
	}
	out, err := s.run(ctx, starter, nil, "source", "add", "chaos", "--json")
	if err != nil {
		return err
	}
	_, rest, _ := strings.Cut(out, `"api_key":"`)
	s.APIKey, _, _ = strings.Cut(rest, `"`)
	if s.APIKey == "" {
		return fmt.Errorf("no api_key in %q", out)
	}

	nw, ng := 2, 2
	if s.Topology != "cluster" {
		nw, ng = 1, 1
	}
	gwAddrs := []string{}
	for i := 0; i < ng; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort())
		gwAddrs = append(gwAddrs, addr)
		s.gateways = append(s.gateways, &proc{name: fmt.Sprintf("gateway%d", i+1), log: prefix(s.Log, fmt.Sprintf("gateway%d", i+1)),
			argv: []string{filepath.Join(s.Bin, "gateway")}, env: append(append([]string{}, s.baseEnv...), "BATON_HTTP_ADDR="+addr)})
	}
	for i := 0; i < nw; i++ {
		s.workers = append(s.workers, &proc{name: fmt.Sprintf("worker%d", i+1), log: prefix(s.Log, fmt.Sprintf("worker%d", i+1)),
			argv: []string{filepath.Join(s.Bin, "worker")}, env: s.baseEnv})
	}
	for _, p := range append(append([]*proc{}, s.workers...), s.gateways...) {
		if err := p.start(); err != nil {
			return err
		}
	}
	s.GatewayURL = "http://" + gwAddrs[0]
	if s.Topology == "cluster" {
		lb := fmt.Sprintf("127.0.0.1:%d", freePort())
		s.lb = &proc{name: "haproxy", log: prefix(s.Log, "haproxy"), argv: []string{"haproxy", "-db", "-f", filepath.Join(s.Root, "deploy/cluster/haproxy.cfg")},
			env: []string{"BATON_LB_ADDR=" + lb, "BATON_GW1=" + gwAddrs[0], "BATON_GW2=" + gwAddrs[1]}}
		if err := s.lb.start(); err != nil {
			return err
		}
		s.GatewayURL = "http://" + lb
	}
	return nil
}

func (s *Stack) waitTemporal(ctx context.Context, cli string, d time.Duration) error {
	_, err := s.retry(ctx, d, cli, "operator", "cluster", "health", "--address", s.TemporalAdr)
	return err
}

func (s *Stack) retry(ctx context.Context, d time.Duration, name string, args ...string) (string, error) {
	deadline := time.Now().Add(d)
	for {
		out, err := s.run(ctx, name, nil, args...)
		if err == nil || strings.Contains(out, "already") {
			return out, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return out, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// StartPG starts the private PostgreSQL and waits for it.
func (s *Stack) StartPG() error {
	pgdata := filepath.Join(s.Dir, "pg")
	out, err := asPostgres(filepath.Join(s.pgBin, "pg_ctl"), "-D", pgdata, "-w", "-t", "60", "-l", filepath.Join(pgdata, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300", s.PGPort, pgdata), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	return nil
}

// StopPGImmediate is `pg_ctl stop -m immediate`: no checkpoint, crash
// recovery at the next start.
func (s *Stack) StopPGImmediate() error {
	out, err := asPostgres(filepath.Join(s.pgBin, "pg_ctl"), "-D", filepath.Join(s.Dir, "pg"), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Stop ends every process and the private PostgreSQL.
func (s *Stack) Stop() {
	if s.lb != nil {
		s.lb.stop()
	}
	for _, p := range append(append([]*proc{}, s.gateways...), s.workers...) {
		p.stop()
	}
	if s.temporal != nil {
		s.temporal.stop()
	}
	if s.pgBin != "" {
		asPostgres(filepath.Join(s.pgBin, "pg_ctl"), "-D", filepath.Join(s.Dir, "pg"), "-m", "fast", "-w", "stop").Run() //nolint:errcheck
	}
}

// Env is what a starter command needs to reach this stack.
func (s *Stack) Env() []string { return s.baseEnv }

type prefixWriter struct {
	w    io.Writer
	name string
	mu   sync.Mutex
}

func prefix(w io.Writer, name string) io.Writer { return &prefixWriter{w: w, name: name} }

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprintf(p.w, "[%s] %s", p.name, line)
		}
	}
	return len(b), nil
}
