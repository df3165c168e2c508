// Command chaos is the fault suite (`make chaos`, `make chaos-dev`): scripted
// leads through a whole stack while its parts are killed at random, then an
// oracle over what PostgreSQL holds. See docs/deploy.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/batonhq/baton/internal/chaos"
)

func main() {
	o := chaos.Options{}
	flag.StringVar(&o.Topology, "topology", "cluster", "cluster (Temporal server on PostgreSQL, 2 workers, 2 gateways, HAProxy) or dev (make run's: dev server on SQLite, 1 worker, 1 gateway)")
	flag.IntVar(&o.Leads, "leads", 1000, "leads submitted over the fault period")
	flag.IntVar(&o.Faults, "faults", 120, "faults injected over the fault period (every kind at least once)")
	flag.DurationVar(&o.FaultPeriod, "period", 8*time.Minute, "how long faults are injected and leads submitted")
	flag.DurationVar(&o.AcceptWindow, "window", 20*time.Second, "the seconds-scale policy's acceptance window")
	flag.Int64Var(&o.Seed, "seed", time.Now().UnixNano()%1_000_000, "seed of the scripts and the fault plan (printed; rerun with it)")
	logFile := flag.String("log", ".data/chaos/stack.log", "where the stack's output goes")
	keep := flag.Bool("keep", false, "keep the stack's directory (PostgreSQL data, the dev server's SQLite file) for a look afterwards")
	flag.Parse()
	root, _ := os.Getwd()
	o.Root = root
	dir, err := os.MkdirTemp("", "baton-chaos-")
	if err != nil {
		fail(err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Printf("keeping %s\n", dir)
	}
	o.Dir = dir
	os.MkdirAll(filepath.Dir(*logFile), 0o755) //nolint:errcheck
	lf, err := os.Create(*logFile)
	if err != nil {
		fail(err)
	}
	defer lf.Close()
	o.Log, o.Progress = lf, os.Stdout
	fmt.Printf("seed %d (rerun: go run ./chaos -topology %s -seed %d -leads %d -faults %d -period %s -window %s)\n",
		o.Seed, o.Topology, o.Seed, o.Leads, o.Faults, o.FaultPeriod, o.AcceptWindow)
	rep, err := chaos.Run(context.Background(), o)
	if err != nil {
		fail(err)
	}
	fmt.Print(rep)
	if !rep.OK() {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(1)
}
