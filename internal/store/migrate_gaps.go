package store

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"testing/fstest"
)

var migrationName = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// fillGaps returns the migrations with an empty one in place of each missing
// number. Migration numbers are handed out to branches developed in
// parallel, and tern refuses a gap; on a tree that has every number this
// returns the files unchanged. (A database migrated by a tree with a gap
// records the later version; such trees are branches, never a release.)
func fillGaps(src fs.FS) fs.FS {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return src
	}
	have := map[int]bool{}
	maxN := 0
	out := fstest.MapFS{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		have[n] = true
		maxN = max(maxN, n)
		data, err := fs.ReadFile(src, e.Name())
		if err != nil {
			return src
		}
		out[e.Name()] = &fstest.MapFile{Data: data}
	}
	gaps := false
	for n := 1; n <= maxN; n++ {
		if !have[n] {
			gaps = true
			out[fmt.Sprintf("%03d_reserved.sql", n)] = &fstest.MapFile{Data: []byte("select 1;\n---- create above / drop below ----\nselect 1;\n")}
		}
	}
	if !gaps {
		return src
	}
	return out
}
