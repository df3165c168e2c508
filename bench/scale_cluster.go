package main

// -scale-topology cluster: the bench's Temporal is the server of `make
// run-cluster` (deploy/cluster: go.temporal.io/server on PostgreSQL, built
// into .tools/cluster by `make cluster-tools`), on free ports and on two
// fresh databases of its own, dropped at the end. The scale figure then
// reads Temporal's store as the size of those two databases.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/workflows"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
)

var scaleTopology = flag.String("scale-topology", envStr("BENCH_SCALE_TOPOLOGY", "dev"),
	"the Temporal the bench starts: dev (the dev server on a SQLite file, as make run) or cluster (the make run-cluster server on PostgreSQL, from .tools/cluster)")

// clusterDBs are the cluster's two databases while it runs.
var clusterDBs []string

// temporalServer starts the Temporal that -scale-topology names.
func temporalServer(dir string, partitions1 bool, pragmas string) (string, *proc, error) {
	switch *scaleTopology {
	case "dev":
		return devServer(dir, partitions1, pragmas)
	case "cluster":
		logf("  -scale-topology cluster: the make run-cluster Temporal server on PostgreSQL instead of the dev server")
		return clusterServer(dir)
	}
	return "", nil, fmt.Errorf("-scale-topology: %q is not dev or cluster", *scaleTopology)
}

// stopTemporal stops the server and drops the cluster's databases.
func stopTemporal(p *proc) {
	p.stop()
	dropClusterDBs()
}

func dropClusterDBs() {
	if len(clusterDBs) == 0 {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		logf("drop the cluster's databases: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, db := range clusterDBs {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`drop database if exists %q with (force)`, db)); err != nil {
			logf("drop database %s: %v", db, err)
		}
	}
}

func adminURL() string {
	if u := os.Getenv("BATON_TEST_ADMIN_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// clusterPort finds a frontend port whose fixed offsets (deploy/cluster/
// temporal/base.yaml: the other services and membership) are all free.
func clusterPort() (int, error) {
	for try := 0; try < 200; try++ {
		b := make([]byte, 2)
		rand.Read(b) //nolint:errcheck
		// The membership ports (frontend port - 300 and so on) are stored
		// in a PostgreSQL smallint: the whole range stays under 32768.
		p := 21000 + (int(b[0])<<8|int(b[1]))%11000
		ok := true
		for _, off := range []int{0, 1, 2, 6, 10, -300, -299, -298, -294, 1767} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+off))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port range for the cluster's services")
}

func clusterServer(dir string) (addr string, p *proc, err error) {
	defer func() { // nothing is left behind when the server does not come up
		if err != nil && len(clusterDBs) > 0 {
			dropClusterDBs()
		}
	}()
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", nil, err
	}
	ct := filepath.Join(root, ".tools", "cluster")
	for _, bin := range []string{"temporal-server", "temporal-sql-tool"} {
		if _, err := os.Stat(filepath.Join(ct, bin)); err != nil {
			return "", nil, fmt.Errorf("-scale-topology cluster needs %s: run make cluster-tools", filepath.Join(ct, bin))
		}
	}
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return "", nil, err
	}
	port, err := clusterPort()
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 4)
	rand.Read(b) //nolint:errcheck
	db := "temporal_bench_" + hex.EncodeToString(b)
	vis := db + "_visibility"
	clusterDBs = []string{db, vis}
	for _, pair := range [][2]string{{db, "postgresql/v12/temporal"}, {vis, "postgresql/v12/visibility"}} {
		for _, args := range [][]string{{"create-database"}, {"setup-schema", "-v", "0.0"}, {"update-schema", "--schema-name", pair[1]}} {
			cmd := exec.Command(filepath.Join(ct, "temporal-sql-tool"), append([]string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", "5432",
				"-u", "postgres", "--pw", "", "--db", pair[0]}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", nil, fmt.Errorf("temporal-sql-tool %v on %s: %v\n%s", args, pair[0], err, out)
			}
		}
	}
	env := []string{"BATON_CLUSTER_PORT=" + strconv.Itoa(port), "BATON_CLUSTER_DB=" + db, "BATON_CLUSTER_VISIBILITY_DB=" + vis,
		"BATON_CLUSTER_LOG_LEVEL=error"}
	p, err = startProc(dir, "temporal", filepath.Join(ct, "temporal-server"),
		[]string{"--root", root, "--config", "deploy/cluster/temporal", "--env", "cluster", "--allow-no-auth", "start"}, env)
	if err != nil {
		return "", nil, err
	}
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	healthy := false
	for until := time.Now().Add(5 * time.Minute); time.Now().Before(until) && !healthy; { // about 40 s on two busy cores
		if err := p.alive(); err != nil {
			return "", nil, childDied(p)
		}
		c, err := client.Dial(client.Options{HostPort: addr, Logger: tclient.QuietLoggerSDK()})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			healthy = err == nil
		}
		if !healthy {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !healthy {
		p.stop()
		return "", nil, fmt.Errorf("the cluster's Temporal server did not answer within 5 minutes: %v", childDied(p))
	}
	// A cluster starts with no namespace; then Baton's search attributes,
	// as deploy/cluster/run.sh does.
	if out, err := exec.Command(cli, "operator", "namespace", "create", "--address", addr, "-n", "default", "--retention", "72h").CombinedOutput(); err != nil {
		p.stop()
		return "", nil, fmt.Errorf("create namespace default: %v\n%s", err, out)
	}
	names := make([]string, 0, len(workflows.SearchAttributes))
	for n := range workflows.SearchAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var out []byte
		for i := 0; i < 60; i++ { // the namespace reaches every service within seconds
			if out, err = exec.Command(cli, "operator", "search-attribute", "create", "--address", addr, "-n", "default",
				"--name", n, "--type", workflows.SearchAttributes[n]).CombinedOutput(); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			p.stop()
			return "", nil, fmt.Errorf("search attribute %s: %v\n%s", n, err, out)
		}
	}
	return addr, p, nil
}

// temporalStoreBytes is the size of Temporal's store: the dev server's
// SQLite file (with its write-ahead log), or the cluster's two databases.
func (b *Bench) temporalStoreBytes(ctx context.Context) int64 {
	var n int64
	if len(clusterDBs) > 0 {
		for _, db := range clusterDBs {
			var s int64
			if b.st.Pool.QueryRow(ctx, `select pg_database_size($1)`, db).Scan(&s) == nil {
				n += s
			}
		}
		return n
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(b.dir, "temporal.db"+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}
