package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/store"
)

type countMailer struct {
	mu   sync.Mutex
	keys []string
}

func (c *countMailer) Deliver(_ context.Context, m store.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, m.Key)
	return nil
}

func TestEmailCapIsSharedByEveryCaller(t *testing.T) {
	m := &countMailer{}
	n := notify.New(m, notify.Options{EmailRate: 5})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Deliver(context.Background(), store.Message{Key: string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 1800*time.Millisecond {
		t.Errorf("15 messages at 5/s (burst 5) took %s, want at least 2s", d)
	}
	if len(m.keys) != 15 {
		t.Errorf("delivered %d, want 15", len(m.keys))
	}
}

func TestLedgerKeyPerChannel(t *testing.T) {
	if got := notify.LedgerKey("l1:offer:accept:1:0:p1", notify.Email); got != "l1:offer:accept:1:0:p1" {
		t.Errorf("email key = %q: it must stay the message key the email ledger already holds", got)
	}
	if got := notify.LedgerKey("l1:offer:accept:1:0:p1", notify.Slack); got != "l1:offer:accept:1:0:p1@slack" {
		t.Errorf("slack key = %q", got)
	}
}
