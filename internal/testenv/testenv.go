// Package testenv starts the real things integration tests run against: an
// ephemeral `temporal server start-dev` on free ports, and a fresh PostgreSQL
// database that is dropped afterwards.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/workflows"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// TemporalCLI finds the pinned CLI that `make tools` builds.
func TemporalCLI() (string, error) {
	if p := os.Getenv("BATON_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".tools", "bin", "temporal")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the Temporal CLI is not at %s: run `make test` (it builds the pinned CLI once) or set BATON_TEMPORAL_CLI", p)
	}
	return p, nil
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DevServer is a running ephemeral Temporal dev server.
type DevServer struct {
	Address string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{} // closed when the process has exited (and been waited for)
}

// StartTemporal starts an in-memory dev server with Baton's search
// attributes and waits until it answers. Its ports are picked free and then
// released, so another process can take one in between (a busy CI machine
// starts many servers at once): a server that exits, or does not answer
// within 90 s, is replaced by one on other ports, up to three times.
func StartTemporal() (*DevServer, error) {
	var errs []string
	for try := 1; try <= 3; try++ {
		s, err := startTemporalOnce()
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Sprintf("try %d: %v", try, err))
	}
	return nil, fmt.Errorf("no Temporal dev server came up:\n%s", strings.Join(errs, "\n"))
}

func startTemporalOnce() (*DevServer, error) {
	cli, err := TemporalCLI()
	if err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	logf, err := os.CreateTemp("", "baton-temporal-*.log")
	if err != nil {
		return nil, err
	}
	args := append([]string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]), "--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]),
		"--log-level", "error"}, workflows.SearchAttributeFlags()...)
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.Remove(logf.Name())
		return nil, fmt.Errorf("start %s: %w", cli, err)
	}
	s := &DevServer{Address: fmt.Sprintf("127.0.0.1:%d", ports[0]), cmd: cmd, log: logf, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }() //nolint:errcheck
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: s.Address, Logger: nopLogger{}})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return s, nil
			}
		}
		exited := false
		select {
		case <-s.exited:
			exited = true
		default:
		}
		if exited || time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			s.Stop()
			what := "did not answer within 90s"
			if exited {
				what = fmt.Sprintf("exited (%v)", cmd.ProcessState)
			}
			return nil, fmt.Errorf("temporal dev server on %s %s: %v\n%s", s.Address, what, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop kills the server's process group.
func (s *DevServer) Stop() {
	if s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-s.exited
		}
	}
	s.log.Close()
	os.Remove(s.log.Name())
}

// Temporal starts a dev server for one test and stops it afterwards.
func Temporal(t testing.TB) string {
	t.Helper()
	s, err := StartTemporal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Address
}

// AdminURL is the server-level database URL tests create databases through.
func AdminURL() string {
	if u := os.Getenv("BATON_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// CreateDatabase makes a fresh, migrated database and returns its URL and a
// function that drops it.
func CreateDatabase(ctx context.Context) (string, func(), error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL at %s (is it running? `make pg` starts it): %w", AdminURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck
	name := "baton_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		admin.Close(ctx)
		return "", nil, err
	}
	u, err := neturl.Parse(AdminURL())
	if err != nil {
		admin.Close(ctx)
		return "", nil, fmt.Errorf("BATON_TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	url := u.String()
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.Exec(ctx, "drop database if exists "+name+" with (force)") //nolint:errcheck
		admin.Close(ctx)
	}
	if _, err := store.Migrate(ctx, url); err != nil {
		drop()
		return "", nil, err
	}
	return url, drop, nil
}

// Database gives one test its own migrated database.
func Database(t testing.TB) string {
	t.Helper()
	url, drop, err := CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return url
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
