package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	c := Claims{Lead: "ld_x", Actor: "ana", Action: "accept", Attempt: 1, Expires: now.Add(time.Hour).Unix()}
	tok := s.Sign(c)
	got, err := s.Verify(tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, err := s.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	// Tamper with the claims: change the actor but keep the signature.
	forged := s.Sign(Claims{Lead: "ld_x", Actor: "bea", Action: "accept", Attempt: 1, Expires: c.Expires})
	mixed := strings.Split(forged, ".")[0] + "." + strings.Split(tok, ".")[1]
	if _, err := s.Verify(mixed, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered: %v, want ErrSignature", err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("o", 32)))
	if _, err := other.Verify(tok, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("other key: %v, want ErrSignature", err)
	}
	for _, bad := range []string{"", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???"} {
		if _, err := s.Verify(bad, now); err == nil {
			t.Fatalf("Verify(%q) accepted", bad)
		}
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}
