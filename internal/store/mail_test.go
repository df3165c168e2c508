package store_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/batonhq/baton/internal/store"
)

func message(key string) store.Message {
	return store.Message{Key: key, Kind: "offer", To: "ana.schmidt@example.com", ToName: "Ana Schmidt",
		From: "Baton <baton@example.com>", ReplyTo: "max.becker@example.com", Subject: "New lead: Lea Meyer",
		Text: "Accept within 4h", HTML: "<p>Accept within 4h</p>",
		Links: []store.Link{{Label: "Accept", URL: "http://localhost/accept"}}}
}

func TestDeliverToOutboxOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)

	m := message("ld_x:offer:1:ana")
	for i, want := range []bool{true, false, false} {
		retry := m
		retry.Subject = fmt.Sprintf("retry %d", i) // a retry never replaces the first
		got, err := s.DeliverToOutbox(ctx, retry)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			m = retry
		}
		if got != want {
			t.Errorf("delivery %d: delivered = %v, want %v", i, got, want)
		}
	}
	if n := queryInt(t, s, `select count(*) from outbox`); n != 1 {
		t.Errorf("outbox rows = %d, want 1", n)
	}
	if n := queryInt(t, s, `select count(*) from email_ledger`); n != 1 {
		t.Errorf("ledger rows = %d, want 1", n)
	}
	if got := queryString(t, s, `select status || '|' || provider_id || '|' || (sent_at is not null) from email_ledger`); got != "sent|outbox|true" {
		t.Errorf("ledger row = %s", got)
	}
	// The outbox is a ledger too: claiming the key says it was sent.
	if st, err := s.ClaimEmail(ctx, m); err != nil || st != store.LedgerSent {
		t.Errorf("ClaimEmail after outbox delivery = %q, %v; want sent", st, err)
	}

	out, err := s.Outbox(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("Outbox = %d messages", len(out))
	}
	got := out[0]
	if got.SentAt.IsZero() {
		t.Error("SentAt not set")
	}
	got.SentAt = m.SentAt
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Outbox message =\n%+v\nwant\n%+v", got, m)
	}
	if out, err := s.Outbox(ctx, "someone.else@example.com", 10); err != nil || len(out) != 0 {
		t.Errorf("Outbox(other) = %v, %v", out, err)
	}
	if out, err := s.Outbox(ctx, "ana.schmidt@example.com", 10); err != nil || len(out) != 1 {
		t.Errorf("Outbox(ana) = %d, %v", len(out), err)
	}

	// No links is an empty list, not null.
	bare := message("ld_x:offer:1:max")
	bare.Links = nil
	if _, err := s.DeliverToOutbox(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, s, `select links::text from outbox where ledger_key = $1`, bare.Key); got != "[]" {
		t.Errorf("links = %s, want []", got)
	}
}

func TestClaimEmail(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testCtx(t)
	m := message("ld_x:offer:1:ana")

	for i, want := range []store.LedgerStatus{store.LedgerNew, store.LedgerSending, store.LedgerSending} {
		got, err := s.ClaimEmail(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("claim %d = %q, want %q", i, got, want)
		}
	}
	if err := s.MarkEmail(ctx, m.Key, store.LedgerSent, "sg-123", ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimEmail(ctx, m); err != nil || got != store.LedgerSent {
		t.Errorf("claim after sent = %q, %v; want sent", got, err)
	}
	if got := queryString(t, s, `select status || '|' || provider_id || '|' || (sent_at is not null) from email_ledger where key = $1`, m.Key); got != "sent|sg-123|true" {
		t.Errorf("ledger row = %s", got)
	}
	// A claimed-but-sent key is never delivered to the outbox as well.
	if delivered, err := s.DeliverToOutbox(ctx, m); err != nil || delivered {
		t.Errorf("DeliverToOutbox of a sent key = %v, %v", delivered, err)
	}
	if n := queryInt(t, s, `select count(*) from outbox`); n != 0 {
		t.Errorf("outbox rows = %d", n)
	}

	f := message("ld_x:offer:1:bea")
	if got, _ := s.ClaimEmail(ctx, f); got != store.LedgerNew {
		t.Fatalf("claim = %q", got)
	}
	if err := s.MarkEmail(ctx, f.Key, store.LedgerFailed, "", "400 bad address"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimEmail(ctx, f); err != nil || got != store.LedgerFailed {
		t.Errorf("claim after failure = %q, %v; want failed", got, err)
	}
	if got := queryString(t, s, `select error || '|' || (sent_at is null) from email_ledger where key = $1`, f.Key); got != "400 bad address|true" {
		t.Errorf("failed row = %s", got)
	}
}

// Concurrent claims of one key (an activity retried while its first attempt
// still runs): exactly one caller gets LedgerNew, the others see 'sending',
// and none fails.
func TestClaimEmailConcurrent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	const keys, callers = 50, 8
	var mu sync.Mutex
	news := map[string]int{}
	var errs []error
	for k := 0; k < keys; k++ {
		m := message(fmt.Sprintf("ld_x:offer:%d:ana", k))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := s.ClaimEmail(testCtx(t), m)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case st == store.LedgerNew:
					news[m.Key]++
				case st != store.LedgerSending:
					errs = append(errs, fmt.Errorf("%s: status %q", m.Key, st))
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	for i, err := range errs {
		if i == 5 {
			t.Errorf("... and %d more", len(errs)-5)
			break
		}
		t.Error(err)
	}
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("ld_x:offer:%d:ana", k)
		if news[key] != 1 {
			t.Errorf("%s claimed as new %d times, want 1", key, news[key])
		}
	}
}
