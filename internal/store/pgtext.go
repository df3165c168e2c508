package store

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL refuses a text value holding NUL or invalid UTF-8 (SQLSTATE
// 22021), and a jsonb value holding the escape \u0000 (22P05). One such
// string, handed down from anywhere (a lead's name, a mail subject, an
// event's note), used to fail a lead workflow for good (issue 15, finding
// 4). The edge refuses such text with a 400; this is the defence below it:
// every text, varchar, bpchar, json and jsonb parameter this store sends,
// arrays included, is made acceptable on its way out. NUL is dropped, an
// invalid UTF-8 sequence becomes U+FFFD, and \u0000 in JSON becomes \ufffd.
// bytea (hashes, keys) is never touched.

// pgx writes a Go string (or *string) argument in the text format straight
// to the wire without asking any codec, so strings are cleaned by
// cleanArgs, a query tracer that runs before the arguments are encoded
// (pgx hands it the very argument slice it then sends; the store test
// proves it). Every other value reaches the codecs below.
type cleanArgs struct{}

func (cleanArgs) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	for i, a := range data.Args {
		switch v := a.(type) {
		case string:
			if c := CleanText(v); c != v {
				data.Args[i] = c
			}
		case *string:
			if v != nil {
				if c := CleanText(*v); c != *v {
					data.Args[i] = &c
				}
			}
		case []string:
			var out []string
			for j, s := range v {
				if c := CleanText(s); c != s {
					if out == nil {
						out = append([]string(nil), v...)
					}
					out[j] = c
				}
			}
			if out != nil {
				data.Args[i] = out
			}
		}
	}
	return ctx
}

func (cleanArgs) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// safeTypes registers the cleaning codecs on a connection's type map.
func safeTypes(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	wrap := func(oid uint32, clean func([]byte) ([]byte, bool)) *pgtype.Type {
		t, ok := m.TypeForOID(oid)
		if !ok {
			return nil
		}
		nt := &pgtype.Type{Name: t.Name, OID: oid, Codec: cleanCodec{Codec: t.Codec, clean: clean}}
		m.RegisterType(nt)
		return nt
	}
	for _, p := range []struct {
		elem, array uint32
		clean       func([]byte) ([]byte, bool)
	}{
		{pgtype.TextOID, pgtype.TextArrayOID, cleanText},
		{pgtype.VarcharOID, pgtype.VarcharArrayOID, cleanText},
		{pgtype.BPCharOID, pgtype.BPCharArrayOID, cleanText},
		{pgtype.JSONOID, pgtype.JSONArrayOID, cleanJSON},
		{pgtype.JSONBOID, pgtype.JSONBArrayOID, cleanJSON},
	} {
		if el := wrap(p.elem, p.clean); el != nil {
			if at, ok := m.TypeForOID(p.array); ok {
				m.RegisterType(&pgtype.Type{Name: at.Name, OID: p.array, Codec: &pgtype.ArrayCodec{ElementType: el}})
			}
		}
	}
	return nil
}

type cleanCodec struct {
	pgtype.Codec
	clean func([]byte) ([]byte, bool)
}

func (c cleanCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	next := c.Codec.PlanEncode(m, oid, format, value)
	if next == nil {
		return nil
	}
	return cleanPlan{next: next, clean: c.clean}
}

type cleanPlan struct {
	next  pgtype.EncodePlan
	clean func([]byte) ([]byte, bool)
}

func (p cleanPlan) Encode(value any, buf []byte) ([]byte, error) {
	n := len(buf)
	out, err := p.next.Encode(value, buf)
	if err != nil || out == nil {
		return out, err
	}
	cleaned, changed := p.clean(out[n:])
	if !changed {
		return out, nil
	}
	return append(out[:n], cleaned...), nil
}

// cleanText drops NUL and replaces invalid UTF-8 with U+FFFD.
func cleanText(b []byte) ([]byte, bool) {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return b, false
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return []byte(strings.ReplaceAll(s, "\x00", "")), true
}

// CleanText is cleanText for a Go string: what PostgreSQL will store.
func CleanText(s string) string {
	b, _ := cleanText([]byte(s))
	return string(b)
}

// cleanJSON is cleanText, and the escape \u0000 (PostgreSQL's jsonb has no
// NUL) becomes \ufffd. Every backslash in JSON text starts an escape, so a
// scan that skips each escape's second byte finds exactly the real ones.
func cleanJSON(b []byte) ([]byte, bool) {
	out, changed := cleanText(b)
	if !bytes.Contains(out, []byte(`\u0000`)) {
		return out, changed
	}
	out = append([]byte(nil), out...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] != '\\' {
			continue
		}
		if out[i+1] == 'u' && i+6 <= len(out) && string(out[i+2:i+6]) == "0000" {
			copy(out[i+2:i+6], "fffd")
		}
		i++ // skip the escaped character
	}
	return out, true
}
