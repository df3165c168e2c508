package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/workflows"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// devServerFlags are the dynamic-config settings `make run` and the bench give
// the dev server: one task-queue partition, because one worker polls each
// queue here and four partitions only spread its tasks thin (docs/benchmarks.md, Tuning).
var devServerFlags = []string{
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
}

// sqlitePragmas are the pragmas `make run` gives the dev server's SQLite file:
// a write-ahead log, and fsync at checkpoints rather than at every commit
// (docs/benchmarks.md, Tuning, has the measurement).
var sqlitePragmas = []string{"journal_mode=wal", "synchronous=normal"}

// devServer starts `temporal server start-dev` on a SQLite file, as make run does.
func devServer(dir string, partitions1 bool, pragmas string) (string, *proc, error) {
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return "", nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = testenv.FreePort(); err != nil {
			return "", nil, err
		}
	}
	args := append([]string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "error"}, workflows.SearchAttributeFlags()...)
	if partitions1 {
		args = append(args, devServerFlags...)
	}
	if pragmas != "none" && pragmas != "" {
		for _, p := range strings.Split(pragmas, ",") {
			args = append(args, "--sqlite-pragma", strings.TrimSpace(p))
		}
	}
	p, err := startProc(dir, "temporal", cli, args, nil)
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	for i := 0; i < 300; i++ {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: tclient.QuietLoggerSDK()})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return addr, p, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop()
	return "", nil, fmt.Errorf("dev server did not start; see %s", p.logPath)
}

// proc is a child process of the bench: the dev server, the worker, the gateway.
type proc struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	done     chan struct{} // closed when the process has exited
	metrics  string        // the worker's Prometheus /metrics URL
	stopping atomic.Bool   // stop was called: the exit is expected
}

// fatalMu guards the cleanups run when a child dies under the bench.
var (
	fatalMu  sync.Mutex
	cleanups []func()
)

// atFatal registers work to do (stop a process, drop the database) if the
// bench has to stop because a child exited.
func atFatal(f func()) {
	fatalMu.Lock()
	defer fatalMu.Unlock()
	cleanups = append(cleanups, f)
}

// onChildDied is childDied; tests replace it.
var onChildDied = childDied

// childDied stops the bench when a child exits that nobody stopped: a worker
// that could not start (a port in use, a bad setting) must not leave the
// bench waiting on "0 of 200" forever. It prints the end of the child's log
// and keeps the run's folder for a look.
func childDied(p *proc) {
	fatalMu.Lock() // never released: the process ends here
	fmt.Fprintf(os.Stderr, "\nbench: %s exited unexpectedly (%v); the end of its log, %s:\n%s\n", p.name, p.cmd.ProcessState, p.logPath, logTail(p.logPath, 40))
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	fmt.Fprintf(os.Stderr, "bench: stopped; the run's logs stay in %s\n", filepath.Dir(p.logPath))
	os.Exit(1)
}

// logTail returns the last n lines of a log file.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startProc starts a child with its output in dir/name.log. Every child gets
// its own free port for the worker's metrics (BATON_METRICS_ADDR) unless env
// names one, so the bench runs beside `make run` (which holds :9091).
func startProc(dir, name, bin string, args, env []string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	metrics := ""
	if !hasEnv(env, "BATON_METRICS_ADDR") {
		port, err := testenv.FreePort()
		if err != nil {
			return nil, err
		}
		env = append(append([]string{}, env...), fmt.Sprintf("BATON_METRICS_ADDR=127.0.0.1:%d", port))
		metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{}), metrics: metrics}
	go func() {
		cmd.Wait() //nolint:errcheck // the state is in cmd.ProcessState
		logFile.Close()
		close(p.done)
		if !p.stopping.Load() {
			onChildDied(p)
		}
	}()
	atFatal(p.stop)
	return p, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

func (p *proc) stop() {
	if !p.stopping.CompareAndSwap(false, true) {
		<-p.done
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
		<-p.done
	}
}

// alive reports an error naming the log when the process has exited.
func (p *proc) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); see %s", p.name, p.cmd.ProcessState, p.logPath)
	default:
		return nil
	}
}

// rss returns the process's resident set and its peak, in KiB.
func (p *proc) rss() (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = v
		case "VmHWM:":
			peak = v
		}
	}
	return cur, peak
}

// cpuSeconds is the process's user+system CPU time so far.
func (p *proc) cpuSeconds() float64 { return cpuOf(strconv.Itoa(p.cmd.Process.Pid)) }

// cpuOf reads a process's user+system CPU time ("self" for the bench).
func cpuOf(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// buildBinaries builds the worker and the gateway as `make build` does.
func buildBinaries(dir string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./worker", "./gateway")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

func waitHTTP(url string, p *proc) error {
	for i := 0; i < 300; i++ {
		if err := p.alive(); err != nil {
			return err
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer at %s; see %s", p.name, url, p.logPath)
}

// clusterTools is where `make cluster-tools` builds the Temporal server and
// its SQL tool (BATON_CLUSTER_TOOLS overrides it).
func clusterTools() (string, error) {
	dir := os.Getenv("BATON_CLUSTER_TOOLS")
	if dir == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".tools", "cluster")
	}
	if _, err := os.Stat(filepath.Join(dir, "temporal-server")); err != nil {
		return "", fmt.Errorf("the cluster topology needs the Temporal server in %s: run `make cluster-tools` (or set BATON_CLUSTER_TOOLS)", dir)
	}
	return dir, nil
}

// clusterServer starts the production topology's Temporal server, as
// `make run-cluster` configures it (deploy/cluster/temporal): the full
// server on PostgreSQL (the local one, two fresh databases of its own) with
// free ports. drop removes its databases once it has stopped.
func clusterServer(ctx context.Context, dir string) (addr string, p *proc, drop func(), err error) {
	ct, err := clusterTools()
	if err != nil {
		return "", nil, nil, err
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", nil, nil, err
	}
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return "", nil, nil, err
	}
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	dbs := [][2]string{{"bench_temporal_" + suffix, "postgresql/v12/temporal"}, {"bench_temporal_vis_" + suffix, "postgresql/v12/visibility"}}
	clusterDBs = []string{dbs[0][0], dbs[1][0]} // the scale figure reads Temporal's store size from them
	drop = func() {
		for _, db := range dbs {
			exec.Command(filepath.Join(ct, "temporal-sql-tool"), "--plugin", "postgres12", "--ep", "127.0.0.1", "-p", "5432", "-u", "postgres",
				"--db", db[0], "drop-database", "-f").Run() //nolint:errcheck
		}
	}
	pg := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", "5432", "-u", "postgres"}
	for _, db := range dbs {
		for _, args := range [][]string{{"--db", db[0], "create-database"}, {"--db", db[0], "setup-schema", "-v", "0.0"}, {"--db", db[0], "update-schema", "--schema-name", db[1]}} {
			if out, err := exec.CommandContext(ctx, filepath.Join(ct, "temporal-sql-tool"), append(pg, args...)...).CombinedOutput(); err != nil {
				drop()
				return "", nil, nil, fmt.Errorf("temporal-sql-tool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
	base, err := testenv.ClusterPort()
	if err != nil {
		drop()
		return "", nil, nil, err
	}
	p, err = startProc(dir, "temporal", filepath.Join(ct, "temporal-server"),
		[]string{"--root", root, "--config", "deploy/cluster/temporal", "--env", "cluster", "--allow-no-auth", "start"},
		[]string{"BATON_CLUSTER_PORT=" + strconv.Itoa(base), "BATON_CLUSTER_PG_PORT=5432", "BATON_CLUSTER_DB=" + dbs[0][0],
			"BATON_CLUSTER_VISIBILITY_DB=" + dbs[1][0], "BATON_CLUSTER_LOG_LEVEL=error",
			"BATON_CLUSTER_DYNAMIC_CONFIG=" + filepath.Join(root, "deploy/cluster/temporal/dynamicconfig.yaml")})
	if err != nil {
		drop()
		return "", nil, nil, err
	}
	atFatal(drop)
	addr = fmt.Sprintf("127.0.0.1:%d", base)
	retry := func(args ...string) error {
		var out []byte
		var err error
		for i := 0; i < 180; i++ {
			out, err = exec.CommandContext(ctx, cli, args...).CombinedOutput()
			if err == nil || strings.Contains(string(out), "already") {
				return nil
			}
			time.Sleep(500 * time.Millisecond)
		}
		return fmt.Errorf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	fail := func(err error) (string, *proc, func(), error) {
		p.stop()
		drop()
		return "", nil, nil, fmt.Errorf("%w (the server's log: %s)", err, p.logPath)
	}
	if err := retry("operator", "cluster", "health", "--address", addr); err != nil {
		return fail(err)
	}
	if err := retry("operator", "namespace", "create", "--address", addr, "-n", "default", "--retention", "24h"); err != nil {
		return fail(err)
	}
	for n, typ := range workflows.SearchAttributes {
		if err := retry("operator", "search-attribute", "create", "--address", addr, "-n", "default", "--name", n, "--type", typ); err != nil {
			return fail(err)
		}
	}
	// The namespace reaches every service within seconds: wait until a
	// client can use it.
	for i := 0; i < 120; i++ {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: tclient.QuietLoggerSDK()})
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			c.Close()
			if err == nil {
				return addr, p, drop, nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fail(fmt.Errorf("the namespace did not appear"))
}

// scrape reads the worker's Prometheus metrics, each name summed over its
// labels (nil when it does not answer).
func (p *proc) scrape() map[string]float64 {
	if p.metrics == "" {
		return nil
	}
	resp, err := http.Get(p.metrics)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name := line[:sp]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}

// taskSplit is where the worker's time went between two scrapes: the mean
// wait of a workflow task in its queue (schedule-to-start: the backlog),
// the mean time to run one, and the same for local and regular activities,
// in ms, with their counts.
func taskSplit(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range []string{"workflow_task_schedule_to_start_latency", "workflow_task_execution_latency",
		"local_activity_execution_latency", "activity_schedule_to_start_latency", "activity_execution_latency"} {
		var sum, count float64
		for k, v := range after {
			if !strings.Contains(k, m) || (strings.Contains(m, "activity") && !strings.Contains(m, "local") && strings.Contains(k, "local")) {
				continue
			}
			switch {
			case strings.HasSuffix(k, "_sum"):
				sum += v - before[k]
			case strings.HasSuffix(k, "_count"):
				count += v - before[k]
			}
		}
		if count > 0 {
			out[m+"_mean_ms"] = math.Round(sum/count*1000*10) / 10
			out[m+"_count"] = count
		}
	}
	return out
}
