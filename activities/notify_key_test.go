package activities

import (
	"testing"

	"github.com/batonhq/baton/internal/domain"
)

// F2: a restarted escalation chain and a later cycle or life of a lead send
// new messages, under new ledger keys; the first cycle's and first chain's
// keys are those of earlier releases.
func TestNotifyKeyCarriesTheCycleAndTheChain(t *testing.T) {
	base := NotifyInput{Kind: domain.KindEscalation, Phase: "accept", Seq: 1, To: domain.PersonRef{ID: "max"},
		Lead: domain.LeadSnapshot{ID: "ld_1", Attempt: 4}}
	if got, want := base.Key(), "ld_1:escalation:accept:4:1:max"; got != want {
		t.Errorf("first chain key %q, want %q", got, want)
	}
	first := base
	first.Chain = 1
	second := base
	second.Chain = 2
	life := base
	life.Lead.Cycle = 7
	keys := map[string]bool{}
	for _, k := range []string{first.Key(), second.Key(), life.Key()} {
		keys[k] = true
	}
	if first.Key() != base.Key() || len(keys) != 3 {
		t.Errorf("keys %q, %q, %q: want the first chain's unchanged and the others distinct", first.Key(), second.Key(), life.Key())
	}
}
