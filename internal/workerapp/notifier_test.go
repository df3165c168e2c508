package workerapp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/workerapp"
)

// TestMailRateCapHoldsAcrossKinds sends lead and campaign messages at once
// through the activities the worker registers, against a loopback SendGrid
// that stamps each arrival: BATON_MAIL_RATE caps them together. (With one
// limiter per activity struct the worker sent at twice the rate.)
func TestMailRateCapHoldsAcrossKinds(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.Header().Set("X-Message-Id", fmt.Sprint(time.Now().UnixNano()))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	t.Setenv("SENDGRID_API_KEY", "SG.test")
	t.Setenv("SENDGRID_BASE_URL", srv.URL)
	t.Setenv("BATON_MAIL_RATE", "4")
	t.Setenv("BATON_SIGNING_KEY", "0123456789abcdef0123456789abcdef")
	t.Setenv("BATON_DEV_OUTBOX", "false")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner([]byte(c.SigningKey))
	if err != nil {
		t.Fatal(err)
	}
	lead, campaign := workerapp.Activities(c, st, signer)

	const perKind, rate = 8, 4.0
	rep := domain.PersonRef{ID: "p-rep", Name: "Rita Rep", Email: "rita@example.com"}
	spec := domain.Campaign{ID: "c-rate", Name: "Rate", Team: "t",
		Owner: domain.Person{Name: "Olga", Email: "olga@example.com"}}
	spec.StartsAt.Time = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	spec.EndsAt.Time = spec.StartsAt.Time.Add(30 * 24 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 2*perKind)
	start := time.Now()
	for i := range perKind {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- lead.Notify(ctx, activities.NotifyInput{Kind: domain.KindOffer, Phase: "accept", To: rep, Rep: rep,
				Lead:     domain.LeadSnapshot{ID: fmt.Sprintf("l-%d", i), Email: "x@example.com", Name: "X", Attempt: 1},
				Deadline: time.Now().Add(time.Hour)})
		}()
		go func() {
			defer wg.Done()
			to := domain.PersonRef{ID: fmt.Sprintf("p-%d", i), Name: "Reviewer", Email: fmt.Sprintf("r%d@example.com", i)}
			errs <- campaign.SendCampaignMail(ctx, activities.CampaignMailInput{Notice: domain.CampaignMessage{
				Kind: domain.KindCampaignReview, To: to, Campaign: spec, Round: 1, Deadline: time.Now().Add(time.Hour)}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2*perKind {
		t.Fatalf("SendGrid got %d sends, want %d", len(at), 2*perKind)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	// A token bucket of rate r and burst r lets at most 2r sends into any
	// one-second window, and needs (n-r)/r seconds for n sends.
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if n > 2*int(rate) {
			t.Errorf("%d sends within one second from send %d; the cap of %v/s allows %d", n, i, rate, 2*int(rate))
		}
	}
	want := time.Duration(float64(2*perKind-int(rate)) / rate * float64(time.Second))
	if elapsed < want-200*time.Millisecond {
		t.Errorf("%d sends took %s; at %v/s they take at least %s", 2*perKind, elapsed.Round(time.Millisecond), rate, want)
	}
	t.Logf("%d sends (lead and campaign) in %s at BATON_MAIL_RATE=%v (floor %s)", 2*perKind, elapsed.Round(time.Millisecond), rate, want)
}
