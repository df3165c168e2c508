package store_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

func TestRecordEmailEventOnceConfirmsAndMirrors(t *testing.T) {
	t.Parallel()
	s := withCampaign(t)
	ctx := testCtx(t)
	l := snapshot(1, domain.StateOffered)
	e := event(l, "touch:1", "captured", t0)
	e.Data = map[string]string{"source": "webinar-form", "score": "40"}
	record(t, s, l, e)
	l.Version = 2
	record(t, s, l, event(l, "touch:2", "touch", t0.Add(time.Hour)))

	m := message(l.ID + ":offer:accept:1:0:ana")
	m.LeadID = l.ID
	row, claimed, err := s.ClaimSend(ctx, m)
	if err != nil || !claimed || row.Status != store.LedgerSending || row.Unknown != 1 {
		t.Fatalf("ClaimSend = %+v, %v, %v", row, claimed, err)
	}
	if _, again, _ := s.ClaimSend(ctx, m); again {
		t.Fatal("a second ClaimSend of a 'sending' row claimed it")
	}
	for _, ev := range []store.EmailEvent{
		{LedgerKey: m.Key, LeadID: l.ID, Kind: "offer", Event: "processed", SGEventID: "p1", At: t0.Add(2 * time.Hour)},
		{LedgerKey: m.Key, LeadID: l.ID, Kind: "offer", Event: "delivered", SGEventID: "d1", At: t0.Add(2 * time.Hour)},
		{LedgerKey: m.Key, LeadID: l.ID, Kind: "offer", Event: "click", SGEventID: "c1", Data: map[string]string{"url": "http://x/a/…", "ip": "1.2.3.4"}, At: t0.Add(3 * time.Hour)},
	} {
		for i, want := range []bool{true, false} { // SendGrid may post an event twice
			got, err := s.RecordEmailEvent(ctx, ev, "")
			if err != nil || got != want {
				t.Fatalf("%s #%d: new = %v, %v; want %v", ev.Event, i+1, got, err, want)
			}
		}
	}
	if r, err := s.LedgerRow(ctx, m.Key); err != nil || r.Status != store.LedgerSent || !r.Confirmed {
		t.Errorf("ledger after processed = %+v, %v; want sent and confirmed", r, err)
	}
	v, err := s.Lead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(v.Events)
	want := []string{"captured", "touch", "mail-delivered", "mail-clicked"}
	if len(got) != len(want) {
		t.Fatalf("lead events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lead events %v, want %v", got, want)
		}
	}
	click := v.Events[3]
	if click.Actor != "sendgrid" || click.Data["url"] != "http://x/a/…" || click.Data["ip"] != "" || click.Data["key"] != m.Key {
		t.Errorf("click event %+v: want actor sendgrid, the redacted url, the key and no IP", click)
	}

	items, err := s.Timeline(ctx, l.ID, 10)
	if err != nil || len(items) != 2 || items[0].Kind != "captured" || items[0].Source != "webinar-form" || items[0].Score != "40" || items[1].Source != "workflow" {
		t.Errorf("Timeline = %+v, %v", items, err)
	}
	if items, _ := s.Timeline(ctx, l.ID, 1); len(items) != 1 || items[0].Kind != "touch" {
		t.Errorf("Timeline limit 1 = %+v, want the latest touch", items)
	}
}

func TestClaimSendAfterRetryAndResendOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	m := message("ld_y:offer:accept:1:0:ana")
	if _, ok, err := s.ClaimSend(ctx, m); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.MarkRetry(ctx, m.Key, "500 internal"); err != nil {
		t.Fatal(err)
	}
	row, ok, err := s.ClaimSend(ctx, m)
	if !ok || err != nil || row.Attempts != 2 || row.Unknown != 1 {
		t.Fatalf("claim after retry = %+v %v %v; want claimed, attempt 2, unknown 1", row, ok, err)
	}
	if won, _ := s.ClaimResend(ctx, m.Key, time.Hour); won {
		t.Fatal("resend claimed within the grace period")
	}
	time.Sleep(20 * time.Millisecond)
	won1, _ := s.ClaimResend(ctx, m.Key, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	won2, _ := s.ClaimResend(ctx, m.Key, 10*time.Millisecond)
	if !won1 || won2 {
		t.Fatalf("resend claims = %v, %v; want exactly the first", won1, won2)
	}
	if marked, err := s.MarkUncertain(ctx, m.Key); !marked || err != nil {
		t.Fatal(marked, err)
	}
	if r, _ := s.LedgerRow(ctx, m.Key); r.Status != store.LedgerUncertain || r.Attempts != 3 {
		t.Errorf("row %+v, want uncertain after 3 calls", r)
	}
}
