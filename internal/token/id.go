package token

import "crypto/sha256"

// ID is the SHA-256 of an opaque random token (a sign-in link, a session
// cookie), so the database never holds the token itself. Such tokens are
// looked up by exact hash: any other spelling names no row. Signed action
// links are recorded by Claims.UseKey instead, never by the raw string.
func ID(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}
