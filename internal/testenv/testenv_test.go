package testenv

import (
	"strings"
	"testing"
	"time"
)

// A dev server that dies at start is noticed at once and replaced, and the
// error says what happened to each try (it used to wait 90 s per server and
// report only "did not answer").
func TestStartTemporalNoticesAServerThatExits(t *testing.T) {
	t.Setenv("BATON_TEMPORAL_CLI", "/bin/false")
	start := time.Now()
	s, err := StartTemporal()
	if err == nil {
		s.Stop()
		t.Fatal("a CLI that exits at once made a server")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %s to give up on a server that exited at once", took)
	}
	for _, want := range []string{"try 1:", "try 3:", "exited"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}
