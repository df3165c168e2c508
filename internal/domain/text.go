package domain

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Intake text (issue 15, finding 4). Names, companies, ids and every other
// field a source sends have no use for control characters, and some do harm:
// PostgreSQL refuses NUL and invalid UTF-8 (SQLSTATE 22021), CR/LF and ESC
// reach email headers and terminals, bidirectional controls disguise what a
// reader sees. Such text is refused at the edge, naming the field.

// TextProblem says what makes s unacceptable as intake text, or "" when it
// is fine: invalid UTF-8, a C0 or C1 control character (U+0000–U+001F,
// U+007F–U+009F; tab and newline included), or a Unicode bidirectional
// control (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C).
func TextProblem(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Sprintf("is not valid UTF-8 (byte %d)", i)
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			return fmt.Sprintf("holds the control character U+%04X at byte %d; text fields take none", r, i)
		case isBidiControl(r):
			return fmt.Sprintf("holds the bidirectional control U+%04X at byte %d; text fields take none", r, i)
		}
	}
	return ""
}

func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// UnsafeRune reports whether r must not reach a mail header or a terminal:
// a control character (C0, DEL, C1), a line or paragraph separator, or a
// Unicode bidirectional control. The mail composer replaces such runes; the
// starter escapes them when it prints stored text.
func UnsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r)
}

// CheckText adds a FieldError when s is not acceptable intake text. It
// reports whether s was fine.
func (fe *FieldErrors) CheckText(field, s string) bool {
	if p := TextProblem(s); p != "" {
		fe.Add(field, "%s", p)
		return false
	}
	return true
}

// CheckTextTree checks every string reachable from v (struct fields, slices,
// maps, pointers), naming each by its yaml or json tag under prefix, as in
// "teams[0].reps[1].name".
func (fe *FieldErrors) CheckTextTree(prefix string, v any) {
	fe.checkValue(prefix, reflect.ValueOf(v))
}

func (fe *FieldErrors) checkValue(path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		fe.CheckText(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			fe.checkValue(path, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fe.checkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			name := fmt.Sprint(k.Interface())
			if k.Kind() == reflect.String {
				fe.CheckText(join(path, "(key)"), k.String())
			}
			fe.checkValue(join(path, name), v.MapIndex(k))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := tagName(f)
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				fe.checkValue(path, v.Field(i)) // embedded or inline: its fields are the parent's
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fe.checkValue(join(path, name), v.Field(i))
		}
	}
}

func tagName(f reflect.StructField) string {
	for _, key := range []string{"yaml", "json"} {
		if tag := f.Tag.Get(key); tag != "" {
			name, _, _ := strings.Cut(tag, ",")
			if name != "" {
				return name
			}
		}
	}
	if f.Anonymous {
		return ""
	}
	return strings.ToLower(f.Name)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
