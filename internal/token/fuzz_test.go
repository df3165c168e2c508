package token

import (
	"errors"
	"testing"
	"time"
)

// FuzzVerify: whatever Verify accepts (valid or merely expired) is
// byte-identical to Sign of the claims it returned: one canonical spelling
// per link. Seeds: a canonical token and each re-encoding of issue 15 (CR/LF,
// another last character with the same bits, padding, the std alphabet).
func FuzzVerify(f *testing.F) {
	s := testSigner(f)
	tok := s.Sign(testClaims())
	f.Add(tok)
	for _, bad := range reencodings(tok) {
		f.Add(bad)
	}
	for _, c := range []Claims{
		{Lead: "ld_a", Actor: "ana", Action: "accept", Attempt: 1, Expires: 1},
		{Lead: "camp-1", Actor: "rev", Action: "campaign-approve", Attempt: 3, Expires: testNow.Unix()},
		{Lead: "ana", Actor: "max", Action: "away", Expires: 1 << 40},
		{Lead: "ld_<x>&", Actor: "é", Action: "view", Attempt: -1, Expires: -5},
	} {
		f.Add(s.Sign(c))
	}
	f.Add("")
	f.Add(".")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, testNow)
		if err != nil && !errors.Is(err, ErrExpired) {
			return
		}
		if again := s.Sign(c); again != tok {
			t.Fatalf("Verify accepted %q as %+v, but Sign writes %q", tok, c, again)
		}
	})
}

// FuzzSignVerify: a signed link verifies as exactly its claims, or is
// refused (claims JSON cannot carry unchanged, e.g. invalid UTF-8); never as
// other claims.
func FuzzSignVerify(f *testing.F) {
	s := testSigner(f)
	f.Add("ld_x", "max", "reassign", 2, testNow.Add(time.Hour).Unix())
	f.Add("ld_\u2028", "a\x00", "x\xff", -1, int64(0))
	f.Fuzz(func(t *testing.T, lead, actor, action string, n int, exp int64) {
		c := Claims{Lead: lead, Actor: actor, Action: action, Attempt: n, Expires: exp}
		got, err := s.Verify(s.Sign(c), time.Unix(exp, 0).Add(-time.Second))
		if err == nil && got != c {
			t.Fatalf("signed %+v, verified %+v", c, got)
		}
	})
}
