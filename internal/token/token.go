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

// Verify checks the signature first, then the expiry against now.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	var c Claims
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || p == "" || sig == "" || len(tok) > 2048 {
		return c, ErrMalformed
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return c, ErrMalformed
	}
	if !hmac.Equal(got, s.mac(p)) {
		return c, ErrSignature
	}
	body, err := b64.DecodeString(p)
	if err != nil {
		return c, ErrMalformed
	}
	if err := json.Unmarshal(body, &c); err != nil || c.Lead == "" || c.Actor == "" || c.Action == "" {
		return Claims{}, ErrMalformed
	}
	if !now.Before(c.ExpiresAt()) {
		return c, fmt.Errorf("%w (at %s)", ErrExpired, c.ExpiresAt().Format(time.RFC1123))
	}
	return c, nil
}
