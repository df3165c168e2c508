package mail

import (
	"strings"
	"unicode"
)

// HeaderText makes s safe for a mail header (a subject, a display name): CR
// and LF could start a header of their own, and ESC, the other C0 and C1
// controls, DEL, the line and paragraph separators and the Unicode
// bidirectional controls could dress a subject up as something else in a
// mail client or a terminal. Each becomes a space; runs of spaces become one;
// invalid UTF-8 becomes U+FFFD. Compose, ComposeCampaign and the sign-in mail
// put every subject and display name through it.
func HeaderText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if Unsafe(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Unsafe reports whether r is a control character (C0, DEL, C1), a line or
// paragraph separator, or a Unicode bidirectional control.
func Unsafe(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	}
	return false
}
