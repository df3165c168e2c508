package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/domain"
)

// term makes text that came from the database (names, reasons, comments,
// file names, anything a lead, a form or a file could have set) safe to
// print on a terminal: control characters (ESC, CR, LF, tab, the C1 set),
// line and paragraph separators and Unicode bidirectional controls are
// printed as escapes such as \x1b and \u202e, and invalid UTF-8 as \xff.
// Every starter print of stored text goes through it.
func term(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// unsafeRune is the rule of what must not reach a terminal (domain.UnsafeRune).
func unsafeRune(r rune) bool { return domain.UnsafeRune(r) }

// newJSON is json.NewEncoder for the starter's --json output: encoding/json
// escapes the C0 controls but prints C1 and bidirectional controls as they
// are, so they are escaped too (a \uXXXX escape is valid JSON, and these
// characters can only occur inside strings).
func newJSON(w io.Writer) *json.Encoder { return json.NewEncoder(jsonTerm{w}) }

type jsonTerm struct{ w io.Writer }

// inString reports the characters encoding/json leaves raw inside strings
// that term would escape: DEL, C1 and the bidirectional controls. (Raw C0
// characters in its output are only the layout's newlines.)
func inString(r rune) bool { return r >= 0x7f && unsafeRune(r) }

func (j jsonTerm) Write(p []byte) (int, error) {
	s := string(p)
	if !strings.ContainsFunc(s, inString) {
		return j.w.Write(p)
	}
	var b strings.Builder
	for _, r := range s {
		if inString(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	if _, err := io.WriteString(j.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
