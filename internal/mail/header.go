package mail

import (
	"strings"

	"github.com/batonhq/baton/internal/domain"
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

// Unsafe reports whether r must not reach a header (domain.UnsafeRune).
func Unsafe(r rune) bool { return domain.UnsafeRune(r) }
