package tclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestMTLSByEnvironment starts the cluster's Temporal server (the one `make
// cluster-tools` builds; its config is deploy/cluster/temporal) with a
// frontend that serves TLS and requires client certificates signed by a CA
// this test makes, then reaches it from the environment alone, the way the
// worker and the gateway do (config.Load, then tclient). The right
// certificate, CA and server name connect and can register a namespace; a
// certificate from another CA, no certificate, a wrong server name, an
// unknown server CA and plain text are all refused.
//
// The pinned CLI's dev server has no TLS flags, so this needs the server
// binary: BATON_TEMPORAL_SERVER, or .tools/cluster/temporal-server.
func TestMTLSByEnvironment(t *testing.T) {
	root, _ := filepath.Abs("../..")
	server := os.Getenv("BATON_TEMPORAL_SERVER")
	if server == "" {
		server = filepath.Join(root, ".tools/cluster/temporal-server")
	}
	if _, err := os.Stat(server); err != nil {
		t.Skipf("no Temporal server binary at %s (make cluster-tools builds it; make test-cluster runs this test)", server)
	}

	dir := t.TempDir()
	ca := newCA(t, "Baton test CA")
	other := newCA(t, "Some other CA")
	ca.write(t, dir, "ca")
	other.write(t, dir, "other-ca")
	ca.issue(t, dir, "frontend", "temporal-frontend", []string{"temporal-frontend"})
	ca.issue(t, dir, "worker", "temporal-system-worker", nil)
	ca.issue(t, dir, "client", "baton-worker", nil)
	other.issue(t, dir, "rogue", "baton-worker", nil)

	port := freePortBase(t)
	cmd := exec.Command(server, "--root", root, "--config", "deploy/cluster/temporal", "--env", "cluster", "--allow-no-auth", "start")
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("BATON_CLUSTER_PORT=%d", port),
		"BATON_CLUSTER_STORE=sqlite",
		"BATON_CLUSTER_SHARDS=1",
		"BATON_CLUSTER_TLS_DIR="+dir,
		"BATON_CLUSTER_TLS_SERVER_NAME=temporal-frontend",
		"BATON_CLUSTER_DYNAMIC_CONFIG="+filepath.Join(root, "deploy/cluster/temporal/dynamicconfig.yaml"),
	)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server output:\n%s", tail(string(b), 4000))
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	good := map[string]string{
		"TEMPORAL_ADDRESS":         addr,
		"TEMPORAL_NAMESPACE":       "default",
		"TEMPORAL_TLS_CERT":        filepath.Join(dir, "client.pem"),
		"TEMPORAL_TLS_KEY":         filepath.Join(dir, "client-key.pem"),
		"TEMPORAL_TLS_CA":          filepath.Join(dir, "ca.pem"),
		"TEMPORAL_TLS_SERVER_NAME": "temporal-frontend",
	}
	dial := func(env map[string]string, wait time.Duration) (client.Client, error) {
		t.Helper()
		for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME"} {
			t.Setenv(k, env[k]) // restored after the test
			if env[k] == "" {
				os.Unsetenv(k)
			}
		}
		cfg, err := config.Load()
		if err != nil {
			t.Fatalf("config.Load: %v", err)
		}
		o, err := tclient.Options(cfg, tclient.QuietLogger())
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		return client.DialContext(ctx, o)
	}

	// The right certificates: wait for the server, then use it.
	var cl client.Client
	deadline := time.Now().Add(90 * time.Second)
	for {
		cl, err = dial(good, 3*time.Second)
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mTLS connection within 90s: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("health over mTLS: %v", err)
	}
	_, err = cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "baton-mtls", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("register a namespace over mTLS: %v", err)
	}
	cl.Close()

	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	refused := []struct {
		name string
		env  map[string]string
	}{
		{"a client certificate from another CA", with("TEMPORAL_TLS_CERT", filepath.Join(dir, "rogue.pem"))},
		{"no client certificate", with("TEMPORAL_TLS_CERT", "")},
		{"a server name the frontend's certificate does not hold", with("TEMPORAL_TLS_SERVER_NAME", "")},
		{"a CA that did not sign the frontend's certificate", with("TEMPORAL_TLS_CA", filepath.Join(dir, "other-ca.pem"))},
		{"plain text", map[string]string{"TEMPORAL_ADDRESS": addr}},
	}
	for _, c := range refused {
		if c.name == "a client certificate from another CA" {
			c.env["TEMPORAL_TLS_KEY"] = filepath.Join(dir, "rogue-key.pem")
		}
		if c.name == "no client certificate" {
			c.env["TEMPORAL_TLS_KEY"] = ""
		}
		cl, err := dial(c.env, 5*time.Second)
		if err == nil {
			// A handshake may only fail on first use (TLS 1.3 sends the
			// client certificate after the server's Finished).
			_, err = cl.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			cl.Close()
		}
		if err == nil {
			t.Errorf("%s: connected; want refused", c.name)
		} else {
			t.Logf("%s: refused: %s", c.name, firstLine(err.Error()))
		}
	}
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newCA(t *testing.T, name string) authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return authority{cert, key, der}
}

func (a authority) write(t *testing.T, dir, name string) {
	t.Helper()
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", a.der)
}

// issue writes name.pem and name-key.pem: a certificate good for serving
// (with the DNS names) and for client authentication.
func (a authority) issue(t *testing.T, dir, name, cn string, dns []string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, name+"-key.pem"), "PRIVATE KEY", kb)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePortBase is testenv.ClusterPort for a test.
func freePortBase(t *testing.T) int {
	t.Helper()
	p, err := testenv.ClusterPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
