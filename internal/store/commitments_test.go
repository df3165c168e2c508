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
		{"as the campaign spec stores them", `{"ID":"w","Commitments":{"MQLsPerWeek":10,"MinAcceptanceRate":0.7}}`, store.Commitments{MQLsPerWeek: 10, MinAcceptance: 0.7}},
		{"volume only", `{"Commitments":{"MQLsPerWeek":25}}`, store.Commitments{MQLsPerWeek: 25}},
	} {
		if got := store.ParseCommitments([]byte(c.spec)); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if (store.Commitments{}).Any() || !(store.Commitments{MinAcceptance: 0.5}).Any() {
		t.Error("Any")
	}
}
