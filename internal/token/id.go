package token

import "crypto/sha256"

// ID is the identity of one issued link: the SHA-256 of the whole token. The
// gateway records a used link by its ID (never the token itself), so a link is
// usable once without a nonce in Claims, and links minted before single use
// existed verify and count the same way. Two links with the same claims are
// the same link; the worker mints one link per lead, actor, action and attempt.
func ID(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}
