package main

// On -topology cluster (bench/stack.go, clusterServer) the scale figure reads
// Temporal's store as the size of the cluster's two databases.

import (
	"context"
	"os"
	"path/filepath"
)

// clusterDBs are the cluster's two databases while it runs (set by
// clusterServer); empty on the dev server.
var clusterDBs []string

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
