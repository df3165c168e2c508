package workflows

import (
	"fmt"
	"testing"
)

// TestRandomScheduleRegressions replays the seeds of TestRandomSchedules that
// found each defect fixed since (F1–F7 of the harness's first run on the
// Workflows 1.0 core). Each failed before its fix; every invariant holds now.
func TestRandomScheduleRegressions(t *testing.T) {
	cases := []struct {
		defect string
		seeds  []uint64
	}{
		{"F1 away under reassign with nobody else answered yes", []uint64{14, 33, 68}},
		{"F2 mail keys without the chain or the life", []uint64{22, 321, 28, 140}},
		{"F3 continue-as-new restarted the contact window", []uint64{18, 260}},
		{"F4 a second bounce re-recorded unreachable", []uint64{63, 112}},
		{"F5 revision on the review deadline", []uint64{211, 299, 365}},
		{"F6 campaign clocks waited on mail", []uint64{2713}},
		{"F7 take-over in flight when an erasure lands", []uint64{551}},
		{"S2 an absence in the cadence made later touches due before their window opened", []uint64{714, 2443, 3096}},
		{"S1 a move with nobody else left a declinable offer: declined, stranded in MQL", []uint64{2088, 2595, 4396, 4816}},
	}
	for _, c := range cases {
		for _, seed := range c.seeds {
			t.Run(fmt.Sprintf("%s/seed-%d", c.defect[:2], seed), func(t *testing.T) {
				t.Parallel()
				if r := runSeedWith(seed, nil, false); len(r.violations) > 0 {
					t.Errorf("%s: seed %d: %v\n%s", c.defect, seed, r.violations, r.schedule)
				}
			})
		}
	}
}
