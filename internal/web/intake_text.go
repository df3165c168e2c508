package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/domain"
)

// Intake text at the edge (issue 15, finding 4; BRIEF "Intake text"): every
// string of a lead, a batch item or an event is refused with a 400 naming the
// field when it holds a control character, a bidirectional control or
// invalid UTF-8. encoding/json replaces invalid UTF-8 with U+FFFD while
// decoding, so that check runs on the raw body.

// rawTextErrors names the fields of a JSON object whose raw string tokens
// are not valid UTF-8. It reports nothing for a body it cannot tokenize (the
// decoder refuses that with its own message).
func rawTextErrors(raw []byte) domain.FieldErrors {
	if utf8.Valid(raw) {
		return nil
	}
	var fe domain.FieldErrors
	dec := json.NewDecoder(bytes.NewReader(raw))
	// One entry per open object or array: for an object, whether the next
	// string is a key, and the last key.
	type level struct {
		object, wantKey bool
		key             string
	}
	var stack []level
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		end := dec.InputOffset()
		seg := raw[prev:end]
		prev = end
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, level{object: true, wantKey: true})
			case '[':
				stack = append(stack, level{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		}
		s, isString := tok.(string)
		switch {
		case top != nil && top.object && top.wantKey:
			top.key, top.wantKey = s, false
			if !utf8.Valid(seg) {
				fe.Add("(field name)", "is not valid UTF-8")
			}
		default:
			if isString && !utf8.Valid(seg) {
				field := "(value)"
				if top != nil && top.object {
					field = top.key
				}
				fe.Add(field, "is not valid UTF-8")
			}
			if top != nil && top.object {
				top.wantKey = true
			}
		}
	}
	if len(fe) == 0 {
		fe.Add("(body)", "is not valid UTF-8")
	}
	return fe
}

// prefixed names each error's field under an item of a batch: "[3].name".
func prefixed(i int, err error, into *domain.FieldErrors) {
	fe, _ := err.(domain.FieldErrors)
	for _, e := range fe {
		*into = append(*into, domain.FieldError{Field: fmt.Sprintf("[%d].%s", i, e.Field), Detail: e.Detail})
	}
}
