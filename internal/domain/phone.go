package domain

import (
	"fmt"
	"strings"
)

// Phone numbers, as intake takes them. A phone is optional. Accepted: an
// international number, "+" then 8 to 15 digits (E.164), or a national one
// of 4 to 15 digits; spaces, dashes, dots and parentheses between digits
// are dropped; a leading "00" is read as "+". Nothing else: letters, an
// extension ("x12"), a second "+", control characters (TextProblem). The
// stored form is what a tel: link needs ("+4930123456").
const (
	phoneMaxInput                  = 40
	phoneMinDigits, phoneMaxDigits = 4, 15
	phoneMinIntl                   = 8
)

// NormalizePhone returns the stored form of a phone, "" for none, or an
// error that says what is wrong.
func NormalizePhone(s string) (string, error) {
	if p := TextProblem(s); p != "" {
		return "", fmt.Errorf("%s", p)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > phoneMaxInput {
		return "", fmt.Errorf("is longer than %d characters", phoneMaxInput)
	}
	var b strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == '+':
			return "", fmt.Errorf("%q has a + that is not at the start", s)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%q has %q: give digits, with an optional leading + and spaces, dashes, dots or parentheses (no extension)", s, r)
		}
	}
	digits := b.String()
	if !plus && strings.HasPrefix(digits, "00") {
		plus, digits = true, digits[2:]
	}
	min := phoneMinDigits
	if plus {
		min = phoneMinIntl
	}
	switch {
	case len(digits) < min:
		return "", fmt.Errorf("%q has %d digits; a phone needs at least %d", s, len(digits), min)
	case len(digits) > phoneMaxDigits:
		return "", fmt.Errorf("%q has %d digits; E.164 allows at most %d", s, len(digits), phoneMaxDigits)
	case plus && digits[0] == '0':
		return "", fmt.Errorf("%q: a country code does not start with 0", s)
	}
	if plus {
		return "+" + digits, nil
	}
	return digits, nil
}

// TelURL is the tel: link of a stored phone, or "" when there is none or it
// is not in the stored form (only "+" and digits ever reach a link).
func TelURL(phone string) string {
	if phone == "" || len(phone) > phoneMaxDigits+1 {
		return ""
	}
	for i, r := range phone {
		if !(r >= '0' && r <= '9' || r == '+' && i == 0) {
			return ""
		}
	}
	return "tel:" + phone
}
