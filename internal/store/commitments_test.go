package store_test

import (
	"testing"

	"github.com/batonhq/baton/internal/store"
)

func TestParseCommitments(t *testing.T) {
	for _, c := range []struct {
		name, spec string
		want       store.Commitments
	}{
		{"absent", `{"ID":"w","Name":"W"}`, store.Commitments{}},
		{"not json", `nope`, store.Commitments{}},
		{"snake case fraction", `{"commitments":{"mqls_per_week":25,"min_acceptance_rate":0.6}}`, store.Commitments{MQLsPerWeek: 25, MinAcceptance: 0.6}},
		{"Go field names, percent", `{"Commitments":{"MQLsPerWeek":10,"MinAcceptanceRate":70}}`, store.Commitments{MQLsPerWeek: 10, MinAcceptance: 0.7}},
		{"strings", `{"marketing_commitments":{"mql-per-week":"12","acceptance":"80%"}}`, store.Commitments{MQLsPerWeek: 12, MinAcceptance: 0.8}},
		{"unrelated object", `{"collateral":{"mqls_per_week":5}}`, store.Commitments{}},
	} {
		if got := store.ParseCommitments([]byte(c.spec)); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if (store.Commitments{}).Any() || !(store.Commitments{MinAcceptance: 0.5}).Any() {
		t.Error("Any")
	}
}
