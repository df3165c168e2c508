package testenv

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LockedBuffer collects a child's output while the test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Prism runs Stoplight Prism as a validating mock of the OpenAPI contract
// at contract (extra flags such as --errors go before it) on a free loopback
// port, and returns its base URL (no trailing slash) and its log. It fails,
// never skips, when Prism or the contract is missing; the log is printed
// when the test fails.
func Prism(t *testing.T, contract string, extra ...string) (string, *LockedBuffer) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	prism := os.Getenv("BATON_PRISM")
	if prism == "" {
		prism = filepath.Join(".tools", "prism", "node_modules", ".bin", "prism")
	}
	if !filepath.IsAbs(prism) {
		prism = filepath.Join(root, prism)
	}
	if _, err := os.Stat(prism); err != nil {
		t.Fatalf("Stoplight Prism is not at %s: run `make prism` (npm install --prefix .tools/prism @stoplight/prism-cli@5.16.0) or set BATON_PRISM: %v", prism, err)
	}
	if _, err := os.Stat(contract); err != nil {
		t.Fatalf("the contract is not at %s: %v", contract, err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logs := &LockedBuffer{}
	args := append([]string{"mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port)}, extra...)
	cmd := exec.Command(prism, append(args, contract)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Prism (%s): %v; run `make prism`", prism, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the exit is reported through exited
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-exited
		}
		if t.Failed() {
			t.Logf("Prism log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("Prism exited before listening on %s:\n%s", addr, logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return "http://" + addr, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prism did not listen on %s within 90s:\n%s", addr, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
