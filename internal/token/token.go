// Package token signs and verifies the one-click action links mailed to reps.
// A token binds one lead, one actor, one action and one offer attempt, and
// expires. Format: base64url(JSON claims) "." base64url(HMAC-SHA256).
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims is what a link authorises.
type Claims struct {
	Lead    string `json:"l"`
	Actor   string `json:"a"`
	Action  string `json:"x"`
	Attempt int    `json:"n"`
	Expires int64  `json:"e"` // unix seconds
}

// ExpiresAt returns the expiry as a time.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// Errors a caller maps to a 403 page.
var (
	ErrMalformed = errors.New("the link is malformed")
	ErrSignature = errors.New("the link's signature does not match; it was altered or not issued by Baton")
	ErrExpired   = errors.New("the link has expired")
)

// MinKeyLen is the shortest signing key accepted.
const MinKeyLen = 32

// Signer signs and verifies tokens with one secret key.
type Signer struct{ key []byte }

// NewSigner rejects keys too short to be secret.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("signing key is %d bytes; at least %d are required", len(key), MinKeyLen)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

var b64 = base64.RawURLEncoding

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("baton-link-v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Sign returns the token for c.
func (s *Signer) Sign(c Claims) string {
	body, _ := json.Marshal(c) // a struct of strings and ints cannot fail
	p := b64.EncodeToString(body)
	return p + "." + b64.EncodeToString(s.mac(p))
}

// Verify accepts only the one encoding Sign produces: strict unpadded
// base64url in both parts, no stray byte (CR, LF, padding, the other
// alphabet, a last character with the same significant bits), and the claims
// JSON exactly as Sign writes it. Any other spelling of the same claims is
// refused like a forgery (ErrSignature), so a link has one form and its use
// can be recorded once (see Claims.UseKey). The signature is checked first,
// then the expiry against now.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	var c Claims
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || p == "" || sig == "" || len(tok) > 2048 {
		return c, ErrMalformed
	}
	if !canonical64(p) || !canonical64(sig) {
		return c, ErrSignature
	}
	got, err := b64.Strict().DecodeString(sig)
	if err != nil {
		return c, ErrSignature
	}
	if !hmac.Equal(got, s.mac(p)) {
		return c, ErrSignature
	}
	body, err := b64.Strict().DecodeString(p)
	if err != nil {
		return c, ErrSignature
	}
	if err := json.Unmarshal(body, &c); err != nil || c.Lead == "" || c.Actor == "" || c.Action == "" {
		return Claims{}, ErrMalformed
	}
	// The payload must be the very bytes Sign would write for these claims
	// (no other key order, spacing, case of keys or unknown fields).
	if want, _ := json.Marshal(c); !hmac.Equal(want, body) {
		return Claims{}, ErrSignature
	}
	if !now.Before(c.ExpiresAt()) {
		return c, fmt.Errorf("%w (at %s)", ErrExpired, c.ExpiresAt().Format(time.RFC1123))
	}
	return c, nil
}

// canonical64 reports whether s is unpadded base64url as EncodeToString
// writes it: only the 64 characters of the alphabet, a length that is not 1
// modulo 4, and zero bits in the unused low bits of the last character.
func canonical64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	if len(s)%4 == 1 {
		return false
	}
	b, err := b64.Strict().DecodeString(s)
	return err == nil && b64.EncodeToString(b) == s
}

// UseKey is what a used-link record keys on: the SHA-256 of the canonical
// claims, whatever string carried them. Two links with the same claims are
// the same link (the worker mints one per lead, actor, action and attempt),
// and no re-spelling of a link counts as a fresh one.
func (c Claims) UseKey() []byte {
	body, _ := json.Marshal(c)
	m := sha256.New()
	m.Write([]byte("baton-link-use-v1\x00"))
	m.Write(body)
	return m.Sum(nil)
}
