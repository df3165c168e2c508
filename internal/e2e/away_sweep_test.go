package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/intake"
)

// An out-of-office period recorded ahead of time takes effect when it
// starts: the sweep tells the lead the rep holds (office-hours reassigns an
// unaccepted lead), once; new leads skip the rep from then on.
func TestAwayRecordedAheadTakesEffectWhenItStarts(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	id := offeredUnderOfficeHours(t, s, `{"campaign":"webinar-q3","email":"vera@hooli.example","name":"Vera Lang","score":70}`)

	start := time.Now().Add(3 * time.Second)
	if r, err := intake.MarkAway(ctx, s.Temporal, s.Store, "ana", start, start.Add(24*time.Hour), "conference"); err != nil || r.Released != 0 {
		t.Fatalf("away ahead: %+v, %v (nothing is told before the start)", r, err)
	}
	if r, err := intake.SweepAway(ctx, s.Temporal, s.Store, time.Now()); err != nil || r.Released != 0 {
		t.Fatalf("sweep before the start: %+v, %v", r, err)
	}
	told := 0
	for deadline := time.Now().Add(20 * time.Second); told == 0 && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		r, err := intake.SweepAway(ctx, s.Temporal, s.Store, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		told = r.Released
	}
	if told != 1 {
		t.Fatal("the sweep never told ana's lead")
	}
	if time.Now().Before(start) {
		t.Fatal("told before the period began")
	}
	waitMail(t, s, "bea.ortiz@example.com", "offer", 10*time.Second)
	if v := getLead(t, s, id); v.Owner == nil || v.Owner.ID != "bea" {
		t.Fatalf("after the sweep: %+v", v.Owner)
	}
	// Once per period.
	if r, err := intake.SweepAway(ctx, s.Temporal, s.Store, time.Now()); err != nil || r.Released != 0 {
		t.Fatalf("second sweep: %+v, %v", r, err)
	}
	// A new lead skips ana.
	code, res := submit(t, s, `{"campaign":"webinar-q3","email":"walt@hooli.example","name":"Walt Ng","score":70}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, res)
	}
	waitState(t, s, res["id"].(string), "Offered", 10*time.Second)
	if v := getLead(t, s, res["id"].(string)); v.Owner == nil || v.Owner.ID == "ana" {
		t.Fatalf("new lead while ana is away: %+v", v.Owner)
	}
}
