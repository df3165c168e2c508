package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"golang.org/x/time/rate"
)

// Headers of a signed request. The signature is
// hex(HMAC-SHA256(secret, timestamp + "\n" + METHOD + "\n" + path?query + "\n" + body)),
// sent as "sha256=<hex>": it binds the body to the request it was meant for,
// so a signed POST /api/v1/leads/{id}/events cannot be replayed at another
// lead or route.
const (
	HeaderSource    = "X-Baton-Source"
	HeaderTimestamp = "X-Baton-Timestamp"
	HeaderSignature = "X-Baton-Signature"
)

// DefaultReplayWindow is how far a signed request's timestamp may be from
// the gateway's clock, and how long its signature is remembered.
const DefaultReplayWindow = 5 * time.Minute

// Sign returns the X-Baton-Signature value of a request: its method, its
// request target (path and query as sent, as url.URL.RequestURI gives it)
// and its body, at a Unix timestamp.
func Sign(secret, method, requestURI string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("\n"))
	m.Write([]byte(method))
	m.Write([]byte("\n"))
	m.Write([]byte(requestURI))
	m.Write([]byte("\n"))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SignRequest signs req, whose body is body, as source at time now: it sets
// the three headers. Clients in Go (the starter, tests, bench) use it.
func SignRequest(req *http.Request, source, secret string, now time.Time, body []byte) {
	ts := now.Unix()
	req.Header.Set(HeaderSource, source)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, req.Method, req.URL.RequestURI(), ts, body))
}

// sigValue matches a well-formed X-Baton-Signature.
func sigValue(sig string) bool {
	h, ok := strings.CutPrefix(strings.ToLower(sig), "sha256=")
	if !ok || len(h) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// limiters holds one token bucket per source, in this process (each gateway
// replica enforces the limit on its own).
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (l *limiters) get(src store.Source) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	lim := l.m[src.Name]
	if lim == nil || lim.Limit() != rate.Limit(src.RatePerSecond) || lim.Burst() != src.Burst {
		lim = rate.NewLimiter(rate.Limit(src.RatePerSecond), src.Burst)
		l.m[src.Name] = lim
	}
	return lim
}

func (s *Server) unauthorized(w http.ResponseWriter, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="baton", error="invalid_token"`)
	writeProblem(w, problem{Type: "https://baton.dev/problems/unauthorized", Title: "Not authenticated", Status: http.StatusUnauthorized, Detail: detail})
}

// authenticate checks the request's source and reads its body (at most
// limit bytes). It answers 401, 413 or 429 itself and then returns ok false;
// nothing has been changed by then except, for a signed request, its
// signature being remembered.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, limit int64) (src store.Source, body []byte, ok bool) {
	ctx := r.Context()
	readBody := func() bool {
		if r.ContentLength > limit {
			writeProblem(w, problem{Title: "Body too large", Status: http.StatusRequestEntityTooLarge, Detail: "at most " + sizeText(limit)})
			return false
		}
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, problem{Title: "Body too large", Status: http.StatusRequestEntityTooLarge, Detail: "at most " + sizeText(limit)})
			return false
		}
		if err != nil {
			writeProblem(w, problem{Title: "Could not read the body", Status: http.StatusBadRequest, Detail: err.Error()})
			return false
		}
		return true
	}
	signed := r.Header.Get(HeaderSignature) != ""
	switch auth := r.Header.Get("Authorization"); {
	case strings.HasPrefix(auth, "Bearer "):
		var err error
		src, err = s.Store.SourceByKey(ctx, strings.TrimSpace(strings.TrimPrefix(auth, "Bearer ")))
		if errors.Is(err, domain.ErrNotFound) {
			s.unauthorized(w, "the API key is not valid (revoked, rotated or mistyped)")
			return src, nil, false
		}
		if err != nil {
			s.apiError(w, r, err)
			return src, nil, false
		}
		if !s.allow(w, src) || !readBody() {
			return src, nil, false
		}
		return src, body, true
	case signed:
		// Everything that needs no body is checked before a byte of it is
		// read: the headers, the clock, the source, the declared length.
		name, ts, sig := r.Header.Get(HeaderSource), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
		if name == "" || ts == "" {
			s.unauthorized(w, "a signed request needs "+HeaderSource+", "+HeaderTimestamp+" and "+HeaderSignature)
			return src, nil, false
		}
		if !sigValue(sig) {
			s.unauthorized(w, HeaderSignature+" must be sha256= followed by 64 hex digits")
			return src, nil, false
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			s.unauthorized(w, HeaderTimestamp+" must be Unix seconds")
			return src, nil, false
		}
		window := s.replayWindow()
		if d := s.Now().Sub(time.Unix(sec, 0)); d > window || d < -window {
			s.unauthorized(w, "the timestamp is more than "+window.String()+" from the server's clock; sign the request again")
			return src, nil, false
		}
		src, err = s.Store.SourceByName(ctx, name)
		if errors.Is(err, domain.ErrNotFound) {
			s.unauthorized(w, "the signature does not match the method, path, body and timestamp")
			return src, nil, false
		}
		if err != nil {
			s.apiError(w, r, err)
			return src, nil, false
		}
		switch {
		case r.ContentLength < 0:
			writeProblem(w, problem{Title: "Length required", Status: http.StatusLengthRequired,
				Detail: "a signed request declares its body's Content-Length (no chunked bodies)"})
			return src, nil, false
		case r.ContentLength > limit:
			writeProblem(w, problem{Title: "Body too large", Status: http.StatusRequestEntityTooLarge, Detail: "at most " + sizeText(limit)})
			return src, nil, false
		}
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			writeProblem(w, problem{Title: "Could not read the body", Status: http.StatusBadRequest, Detail: "shorter than its Content-Length"})
			return src, nil, false
		}
		if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(Sign(src.HMACSecret, r.Method, r.URL.RequestURI(), sec, body))) {
			s.unauthorized(w, "the signature does not match the method, path, body and timestamp")
			return src, nil, false
		}
		if !s.allow(w, src) {
			return src, nil, false
		}
		fresh, err := s.Store.UseSignature(ctx, src.Name, sig, window)
		if err != nil {
			s.apiError(w, r, err)
			return src, nil, false
		}
		if !fresh {
			s.unauthorized(w, "this signature was already used: a replayed request is refused; sign each request with a new timestamp")
			return src, nil, false
		}
		return src, body, true
	default:
		s.unauthorized(w, "send Authorization: Bearer followed by the source's API key, or sign the request ("+HeaderSource+", "+HeaderTimestamp+", "+HeaderSignature+")")
		return src, nil, false
	}
}

// allow takes a token from the source's bucket, or answers 429.
func (s *Server) allow(w http.ResponseWriter, src store.Source) bool {
	res := s.limits.get(src).ReserveN(s.Now(), 1)
	if !res.OK() {
		w.Header().Set("Retry-After", "1")
	} else if d := res.DelayFrom(s.Now()); d > 0 {
		res.CancelAt(s.Now())
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	} else {
		return true
	}
	writeProblem(w, problem{Type: "https://baton.dev/problems/rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
		Detail: "source " + src.Name + " may send " + strconv.FormatFloat(src.RatePerSecond, 'g', -1, 64) + " requests per second (bursts of " +
			strconv.Itoa(src.Burst) + "); retry after the Retry-After seconds"})
	return false
}

func (s *Server) replayWindow() time.Duration {
	if s.ReplayWindow > 0 {
		return s.ReplayWindow
	}
	return DefaultReplayWindow
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}
