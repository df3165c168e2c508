package main

import (
	"context"
	"fmt"
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
	if !hasEnv(env, "BATON_METRICS_ADDR") {
		port, err := testenv.FreePort()
		if err != nil {
			return nil, err
		}
		env = append(append([]string{}, env...), fmt.Sprintf("BATON_METRICS_ADDR=127.0.0.1:%d", port))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
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
func (p *proc) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
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
