package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func testSigner(t testing.TB) *Signer {
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testClaims() Claims {
	return Claims{Lead: "ld_x", Actor: "max", Action: "reassign", Attempt: 2, Expires: testNow.Add(72 * time.Hour).Unix()}
}

// sameBits returns the other base64url characters whose significant bits,
// as the last character of an unpadded string of length n, are those of c.
func sameBits(c byte, n int) []byte {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]uint{2: 4, 3: 2}[n%4] // low bits the decoder ignores
	v := strings.IndexByte(alpha, c)
	var out []byte
	for i := 0; i < 64; i++ {
		if i != v && i>>unused == v>>unused {
			out = append(out, alpha[i])
		}
	}
	return out
}

// reencodings are the spellings of a token the lenient decoder accepted
// (issue 15, finding 2), each with what it does.
func reencodings(tok string) map[string]string {
	p, sig, _ := strings.Cut(tok, ".")
	out := map[string]string{
		"CR in the signature":      p + "." + sig[:5] + "\r" + sig[5:],
		"LF in the signature":      p + "." + sig[:5] + "\n" + sig[5:],
		"CRLF at the end":          tok + "\r\n",
		"LF in the payload":        p[:3] + "\n" + p[3:] + "." + sig,
		"padded signature":         p + "." + sig + "=",
		"padded payload":           p + strings.Repeat("=", (4-len(p)%4)%4) + "." + sig,
		"std alphabet signature":   p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig),
		"std padded signature":     p + "." + base64.StdEncoding.EncodeToString(mustDecode(sig)),
		"trailing dot":             tok + ".",
		"leading space":            " " + tok,
		"percent-encoded in token": strings.Replace(tok, ".", "%2E", 1),
	}
	for _, c := range sameBits(sig[len(sig)-1], len(sig)) {
		out["signature's last char "+string(c)] = p + "." + sig[:len(sig)-1] + string(c)
	}
	for _, c := range sameBits(p[len(p)-1], len(p)) {
		out["payload's last char "+string(c)] = p[:len(p)-1] + string(c) + "." + sig
	}
	return out
}

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Issue 15, finding 2: every other spelling of a link is refused like a forgery.
func TestVerifyRefusesEveryReencoding(t *testing.T) {
	s := testSigner(t)
	c := testClaims()
	tok := s.Sign(c)
	if got, err := s.Verify(tok, testNow); err != nil || got != c {
		t.Fatalf("canonical token: %+v, %v", got, err)
	}
	n := 0
	for name, bad := range reencodings(tok) {
		if bad == tok {
			continue
		}
		n++
		if got, err := s.Verify(bad, testNow); err == nil {
			t.Errorf("%s: %q accepted as %+v", name, bad, got)
		} else if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n < 12 {
		t.Fatalf("only %d re-encodings tried", n)
	}
}

// The claims JSON signed with the right key but not as Sign writes it (key
// order, spacing, unknown field, key case) is not the canonical link either.
func TestVerifyRefusesNonCanonicalClaims(t *testing.T) {
	s := testSigner(t)
	exp := testClaims().Expires
	for _, body := range []string{
		`{"a":"max","l":"ld_x","x":"reassign","n":2,"e":` + itoa(exp) + `}`,
		`{"l":"ld_x", "a":"max","x":"reassign","n":2,"e":` + itoa(exp) + `}`,
		`{"l":"ld_x","a":"max","x":"reassign","n":2,"e":` + itoa(exp) + `,"z":1}`,
		`{"L":"ld_x","a":"max","x":"reassign","n":2,"e":` + itoa(exp) + `}`,
		`{"l":"ld_x","a":"max","x":"reassign","n":2.0,"e":` + itoa(exp) + `}`,
		`{"l":"ld_x","a":"max","x":"reassign","n":2,"e":` + itoa(exp) + `} `,
	} {
		p := b64.EncodeToString([]byte(body))
		tok := p + "." + b64.EncodeToString(s.mac(p))
		if got, err := s.Verify(tok, testNow); err == nil {
			t.Errorf("%s accepted as %+v", body, got)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The used-link key is a function of the claims alone.
func TestUseKeyIsTheClaims(t *testing.T) {
	c := testClaims()
	d := c
	d.Attempt++
	if !bytes.Equal(c.UseKey(), testClaims().UseKey()) || bytes.Equal(c.UseKey(), d.UseKey()) {
		t.Fatal("UseKey does not follow the claims")
	}
	if bytes.Equal(c.UseKey(), ID(testSigner(t).Sign(c))) {
		t.Fatal("UseKey is the raw token's hash")
	}
}
