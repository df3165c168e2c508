package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/token"
)

func TestActionLinkUsedOnce(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	h := token.ID("a-link")
	if u, err := s.TokenUsed(ctx, h); err != nil || u != nil {
		t.Fatalf("fresh link: %+v %v", u, err)
	}
	if err := s.ClaimToken(ctx, h, "ld_x", "ana", "accept"); err != nil {
		t.Fatal(err)
	}
	// A second request while the first is in flight is refused.
	if err := s.ClaimToken(ctx, h, "ld_x", "ana", "accept"); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("concurrent claim: %v", err)
	}
	if u, _ := s.TokenUsed(ctx, h); u == nil || u.UsedAt != nil {
		t.Fatalf("in flight: %+v", u)
	}
	// The action did not happen (stale): released, the link may be tried again.
	if err := s.ReleaseToken(ctx, h); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.TokenUsed(ctx, h); u != nil {
		t.Fatalf("released link still counts: %+v", u)
	}
	if err := s.ClaimToken(ctx, h, "ld_x", "ana", "accept"); err != nil {
		t.Fatal(err)
	}
	if err := s.UseToken(ctx, h, "accept"); err != nil {
		t.Fatal(err)
	}
	// Used: never again, and a release cannot undo a use.
	if err := s.ReleaseToken(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimToken(ctx, h, "ld_x", "ana", "accept"); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("claim of a used link: %v", err)
	}
	if u, _ := s.TokenUsed(ctx, h); u == nil || u.UsedAt == nil || u.Outcome != "accept" {
		t.Fatalf("used link: %+v", u)
	}
	// A claim left by a crashed gateway blocks only for two minutes.
	h2 := token.ID("crashed")
	if err := s.ClaimToken(ctx, h2, "ld_x", "ana", "accept"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `update used_tokens set claimed_at = now() - interval '3 minutes' where token_hash = $1`, h2); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.TokenUsed(ctx, h2); u != nil {
		t.Fatalf("an abandoned claim counts as a use: %+v", u)
	}
	if err := s.ClaimToken(ctx, h2, "ld_x", "ana", "accept"); err != nil {
		t.Fatalf("abandoned claim not taken over: %v", err)
	}
}

func TestSignInLinkOnceAndExpiry(t *testing.T) {
	s := openStore(t)
	ctx := testCtx(t)
	now := time.Now()
	link, expired := token.ID("link"), token.ID("old")
	if err := s.CreateLoginLink(ctx, link, "Ana.Schmidt@Example.com", now.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLoginLink(ctx, expired, "ana.schmidt@example.com", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RecentLoginLinks(ctx, "ana.schmidt@example.com", now.Add(-time.Minute)); err != nil || n != 2 {
		t.Fatalf("recent links: %d %v", n, err)
	}
	if _, err := s.SignIn(ctx, expired, token.ID("s0"), now, now.Add(time.Hour)); !errors.Is(err, store.ErrLinkExpired) {
		t.Fatalf("expired link: %v", err)
	}
	if _, err := s.SignIn(ctx, token.ID("never-made"), token.ID("s0"), now, now.Add(time.Hour)); !errors.Is(err, store.ErrLinkUnknown) {
		t.Fatalf("unknown link: %v", err)
	}
	email, err := s.SignIn(ctx, link, token.ID("s1"), now, now.Add(time.Hour))
	if err != nil || email != "ana.schmidt@example.com" {
		t.Fatalf("sign in: %q %v", email, err)
	}
	if _, err := s.SignIn(ctx, link, token.ID("s2"), now, now.Add(time.Hour)); !errors.Is(err, store.ErrLinkUsed) {
		t.Fatalf("second use: %v", err)
	}
	if n := queryInt(t, s, `select count(*) from sessions`); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if got, err := s.Session(ctx, token.ID("s1"), now); err != nil || got != email {
		t.Fatalf("session: %q %v", got, err)
	}
	if _, err := s.Session(ctx, token.ID("s1"), now.Add(time.Hour)); !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.SignOut(ctx, token.ID("s1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, token.ID("s1"), now); !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("signed-out session: %v", err)
	}
	// The next sign-in, two days later, clears links and sessions dead for a day.
	later := now.Add(48 * time.Hour)
	if err := s.CreateLoginLink(ctx, token.ID("fresh"), "ana.schmidt@example.com", later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, token.ID("fresh"), token.ID("s3"), later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, `select count(*) from login_links`); n != 1 {
		t.Fatalf("%d sign-in links left, want the fresh one", n)
	}
	if n := queryInt(t, s, `select count(*) from sessions`); n != 1 {
		t.Fatalf("%d sessions left, want the new one", n)
	}
}
