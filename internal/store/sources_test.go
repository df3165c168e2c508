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
