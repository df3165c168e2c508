package web

// Fuzz targets of the security suite (issue 15): safeNext, and the signed
// intake request's headers (X-Baton-Source, X-Baton-Timestamp,
// X-Baton-Signature) as the gateway parses them. Seeds come from the cases
// of internal/e2e/security_*_test.go and live in testdata/fuzz too.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

// safeNextSeeds are the redirect bypasses of the e2e suite, as safeNext
// receives them (query values already percent-decoded once).
var safeNextSeeds = []string{
	"/\t/evil.example/phish", "/\n/evil.example", "/\r/evil.example", "/\t\r\n/evil.example", "/ /evil.example",
	`/\evil.example`, `/\/evil.example`, "//evil.example", "/%2F%2Fevil.example", "/%09/evil.example", "/%0A/evil.example",
	"https://evil.example/", "\t//evil.example", "javascript:alert(1)", " //evil.example", "/campaigns/webinar-q3",
	"/inbox?x=1#y", "/\u00a0/evil.example", "/\u2028/evil.example", "", "/", "/\x00/evil.example", "/%5C%5Cevil.example",
	"/.//evil.example", "/%2e%2e//evil.example", "///evil.example", "/\x7f/evil.example",
}

func FuzzSafeNextBypasses(f *testing.F) {
	for _, s := range safeNextSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q: not a path starting with exactly one /", next, got)
		}
		bad := func(s string) (rune, bool) {
			for _, r := range s {
				if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' {
					return r, true
				}
			}
			return 0, false
		}
		if r, ok := bad(got); ok {
			t.Fatalf("safeNext(%q) = %q holds %q", next, got, r)
		}
		if dec, err := url.PathUnescape(got); err == nil {
			for _, r := range dec {
				if unicode.IsControl(r) || unicode.IsSpace(r) {
					t.Fatalf("safeNext(%q) = %q holds %q once percent-decoded", next, got, r)
				}
			}
		}
		// What a browser does: drop tabs and newlines, then parse.
		u, err := url.Parse(strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(got))
		if err != nil {
			return // not a URL a browser would follow elsewhere either
		}
		if u.Scheme != "" || u.Host != "" {
			t.Fatalf("safeNext(%q) = %q leads to scheme %q host %q", next, got, u.Scheme, u.Host)
		}
	})
}

// signWith calls Sign whatever its arguments: (secret, timestamp, body) or,
// when the HMAC binds the request line, (secret, timestamp, method, path, body).
func signWith(tb testing.TB, secret string, ts int64, method, path string, body []byte) string {
	f := reflect.ValueOf(Sign)
	ft := f.Type()
	strs := []string{secret, method, path}
	var args []reflect.Value
	for i := 0; i < ft.NumIn(); i++ {
		switch ft.In(i).Kind() {
		case reflect.String:
			args = append(args, reflect.ValueOf(strs[0]))
			strs = strs[1:]
		case reflect.Int64:
			args = append(args, reflect.ValueOf(ts))
		case reflect.Slice:
			args = append(args, reflect.ValueOf(body))
		default:
			tb.Fatalf("Sign%s: cannot tell its arguments", ft)
		}
	}
	return f.Call(args)[0].String()
}

// FuzzSignedIntakeHeaders sends signed requests with fuzzed headers to a
// gateway on a real PostgreSQL (no Temporal: the route used, a lead's
// events, answers 404 for an unknown lead once authenticated). Properties:
// no panic; a request is authenticated only with the source's name, a
// timestamp inside the window and the signature of that timestamp and body
// (another spelling of it at most, e.g. hex case); and one timestamp and
// body are authenticated at most once, however the signature is spelled.
func FuzzSignedIntakeHeaders(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(st.Close)
	creds, err := st.AddSource(ctx, "fuzzsrc", 1e6, 1_000_000)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	srv := &Server{Store: st, Intake: &intake.Service{Store: st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }}
	h := srv.Handler()
	const path = "/api/v1/leads/ld_aaaaaaaaaaaaaaaa/events"
	var seq atomic.Int64

	// Seeds: source, timestamp text, timestamp offset (s), signature mode,
	// signature text or case mask, body; from the e2e cases.
	f.Add("fuzzsrc", "", int64(0), uint8(1), "", `{"id":"e1","type":"page_view"}`)                   // valid
	f.Add("fuzzsrc", "", int64(0), uint8(1), "\xff\xff\xff\xff\xff\xff\xff\xff", `{"id":"e2"}`)      // valid, hex upper-cased
	f.Add("fuzzsrc", "", int64(-3600), uint8(1), "", `{"id":"e3","type":"page_view"}`)               // stale
	f.Add("fuzzsrc", "", int64(3600), uint8(1), "", `{"id":"e4","type":"page_view"}`)                // future
	f.Add("fuzzsrc", "yesterday", int64(0), uint8(1), "", `{}`)                                      // not a number
	f.Add("", "", int64(0), uint8(1), "", `{}`)                                                      // no source
	f.Add("no-such-source", "", int64(0), uint8(1), "", `{}`)                                        // unknown source
	f.Add("fuzzsrc", "", int64(0), uint8(0), "sha256=zz", `{}`)                                      // garbage
	f.Add("fuzzsrc", "", int64(0), uint8(2), " ", `{"id":"e5","type":"page_view"}`)                  // padded
	f.Add("fuzzsrc", "+0", int64(0), uint8(1), "", `{"id":"e6","type":"page_view"}`)                 // "+ts"
	f.Add("fuzzsrc", "0", int64(0), uint8(1), "", `{"id":"e7","type":"page_view"}`)                  // "0ts"
	f.Add("fuzzsrc", " ", int64(0), uint8(1), "", `{"id":"e8","type":"page_view"}`)                  // " ts"
	f.Add("FUZZSRC", "", int64(0), uint8(1), "", `{"id":"e9","type":"page_view"}`)                   // name case
	f.Add("fuzzsrc", "", int64(299), uint8(3), "sha256=", `{"id":"e10","type":"page_view"}`)         // prefix only
	f.Add("fuzzsrc\r\nX-Evil: 1", "", int64(0), uint8(1), "", `{"id":"e11","type":"page_view"}`)     // header injection
	f.Add("fuzzsrc", "", int64(0), uint8(2), "\x00", `{"id":"e12","type":"page_view","x":"\u0000"}`) // NUL

	f.Fuzz(func(t *testing.T, source, tsText string, offset int64, mode uint8, sigArg, body string) {
		if len(body) > 2048 || len(source) > 200 || len(tsText) > 40 || len(sigArg) > 200 {
			return
		}
		if offset > 1<<40 || offset < -(1<<40) {
			return
		}
		// A unique body per execution: the replay cache spans executions.
		body = body + fmt.Sprintf(" %d-%d", now.UnixNano(), seq.Add(1))
		ts := now.Unix() + offset
		header := tsText + strconv.FormatInt(ts, 10)
		if tsText == "yesterday" {
			header = tsText
		}
		valid := signWith(t, creds.HMACSecret, ts, "POST", path, []byte(body))
		var sig string
		switch mode % 4 {
		case 0:
			sig = sigArg
		case 1: // the valid signature, hex letters upper-cased where the mask says
			b := []byte(valid)
			for i := range b {
				if len(sigArg) > 0 && sigArg[i%len(sigArg)]>>(i%8)&1 == 1 && b[i] >= 'a' && b[i] <= 'f' {
					b[i] -= 'a' - 'A'
				}
			}
			sig = string(b)
		case 2:
			sig = valid + sigArg
		case 3:
			sig = sigArg + valid
		}
		send := func(sig string) int {
			r := httptest.NewRequest("POST", path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			for k, v := range map[string]string{HeaderSource: source, HeaderTimestamp: header, HeaderSignature: sig} {
				if strings.ContainsAny(v, "\r\n\x00") {
					r.Header[k] = []string{v} // as a lenient proxy might pass it
				} else {
					r.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		first := send(sig)
		switch first {
		case http.StatusUnauthorized, http.StatusNotFound, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusLengthRequired:
		default:
			t.Fatalf("answer %d", first)
		}
		authed := first == http.StatusNotFound || first == http.StatusBadRequest
		parsed, perr := strconv.ParseInt(strings.TrimSpace(header), 10, 64)
		inWindow := perr == nil && parsed-now.Unix() <= int64(DefaultReplayWindow/time.Second) && now.Unix()-parsed <= int64(DefaultReplayWindow/time.Second)
		if authed {
			if sig == "" || source != "fuzzsrc" || !inWindow {
				t.Fatalf("authenticated: source %q timestamp %q (window %v) signature %q", source, header, inWindow, sig)
			}
			if parsed != ts || !strings.EqualFold(sig, valid) {
				t.Fatalf("authenticated a signature that is not the request's: %q for timestamp %q", sig, header)
			}
		}
		// The same timestamp and body again, the signature spelled canonically
		// then upper-cased: authenticated at most once in all.
		n := 0
		if authed {
			n++
		}
		for _, again := range []string{valid, strings.ToUpper(valid[:7]) + strings.ToUpper(valid[7:])} {
			if c := send(again); (c == http.StatusNotFound || c == http.StatusBadRequest) && source == "fuzzsrc" && inWindow && parsed == ts {
				n++
			}
		}
		if source == "fuzzsrc" && inWindow && parsed == ts && n > 1 {
			t.Fatalf("one timestamp and body authenticated %d times (first signature %q)", n, sig)
		}
	})
}
