package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
)

func TestSourcesKeysRotateAndRemove(t *testing.T) {
	s, ctx := openStore(t), testCtx(t)
	if _, err := s.AddSource(ctx, "Web Form", 0, 0); err == nil {
		t.Fatal("a bad name, rate and burst were accepted")
	} else if fe := (domain.FieldErrors{}); !errors.As(err, &fe) || len(fe) != 3 {
		t.Fatalf("want three field errors, got %v", err)
	}
	c, err := s.AddSource(ctx, "webform", 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSource(ctx, "webform", 5, 10); !errors.Is(err, store.ErrSourceExists) {
		t.Fatalf("second add: %v", err)
	}
	if n := queryInt(t, s, `select count(*) from intake_sources where key_sha256 = convert_to($1, 'UTF8')`, c.APIKey); n != 0 {
		t.Fatal("the API key is stored in clear")
	}
	got, err := s.SourceByKey(ctx, c.APIKey)
	if err != nil || got.Name != "webform" || got.HMACSecret != c.HMACSecret || got.RatePerSecond != 5 || got.Burst != 10 {
		t.Fatalf("by key: %+v %v", got, err)
	}
	r, err := s.RotateSource(ctx, "webform")
	if err != nil || r.APIKey == c.APIKey || r.HMACSecret == c.HMACSecret {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	if _, err := s.SourceByKey(ctx, c.APIKey); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the old key still works: %v", err)
	}
	if _, err := s.SourceByKey(ctx, r.APIKey); err != nil {
		t.Fatal(err)
	}
	// The replay cache refuses a signature the second time.
	for i, want := range []bool{true, false} {
		if fresh, err := s.UseSignature(ctx, "webform", "sha256=ABC", time.Minute); err != nil || fresh != want {
			t.Fatalf("use %d: fresh %v, %v", i, fresh, err)
		}
	}
	if err := s.RemoveSource(ctx, "webform"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SourceByKey(ctx, r.APIKey); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a removed source's key works: %v", err)
	}
	if err := s.RemoveSource(ctx, "webform"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	s, ctx := openStore(t), testCtx(t)
	if _, err := s.AddSource(ctx, "webform", 5, 10); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"email":"a@b.example"}`)
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got != nil {
		t.Fatalf("first claim: %+v %v", got, err)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got == nil || got.Status != 0 || !got.Same {
		t.Fatalf("claim while running: %+v %v", got, err)
	}
	// A claim whose request died with its gateway (no answer, no release) is
	// taken over by a retry with the same body once it is older than any
	// request lives; not by another body.
	if _, err := s.Pool.Exec(ctx, `update intake_idempotency set created_at = now() - interval '71 seconds' where key = 'k1'`); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimIdempotencyKey(ctx, "webform", "k1", []byte(`{}`)); got == nil || got.Same {
		t.Fatalf("an abandoned claim, another body: %+v", got)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got != nil {
		t.Fatalf("an abandoned claim, the same body: %+v %v; want it taken over", got, err)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got == nil || got.Status != 0 {
		t.Fatalf("the claim taken over is running again: %+v %v", got, err)
	}
	// A failed first request releases the key; the retry is first again.
	if err := s.ReleaseIdempotencyKey(ctx, "webform", "k1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got != nil {
		t.Fatalf("claim after release: %+v %v", got, err)
	}
	if err := s.SaveIdempotent(ctx, "webform", "k1", 202, []byte(`{"id":"ld_x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseIdempotencyKey(ctx, "webform", "k1"); err != nil { // a saved answer is kept
		t.Fatal(err)
	}
	got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body)
	if err != nil || got == nil || got.Status != 202 || string(got.Body) != `{"id":"ld_x"}` || !got.Same {
		t.Fatalf("stored answer: %+v %v", got, err)
	}
	if got, _ := s.ClaimIdempotencyKey(ctx, "webform", "k1", []byte(`{}`)); got == nil || got.Same {
		t.Fatalf("another body under the same key: %+v", got)
	}
	// Keys are per source.
	if _, err := s.AddSource(ctx, "crm", 5, 10); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "crm", "k1", body); err != nil || got != nil {
		t.Fatalf("same key, other source: %+v %v", got, err)
	}
	// Past the retention the key is forgotten.
	if _, err := s.Pool.Exec(ctx, `update intake_idempotency set created_at = now() - interval '25 hours' where source = 'webform'`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimIdempotencyKey(ctx, "webform", "k1", body); err != nil || got != nil {
		t.Fatalf("after the retention: %+v %v", got, err)
	}
}
