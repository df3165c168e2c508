package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
)

const awayDir = `
sales_leader: {id: sam, name: Sam Okafor, email: sam@example.com}
teams:
  - id: emea
    manager: {id: max, name: Max Becker, email: max@example.com}
    reps:
      - {id: ana, name: Ana Schmidt, email: ana@example.com, time_zone: Europe/Berlin}
  - id: us
    manager: {id: una, name: Una Manager, email: una@example.com}
    reps:
      - {id: uli, name: Uli, email: uli@example.com}
`

// A rep (or their manager) records an out-of-office period from a signed
// link: GET shows the form, POST with the form's CSRF token records it;
// routing then skips the rep. Wrong people, forged forms and bad dates
// change nothing.
func TestAwayLink(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := domain.ParseDirectory([]byte(awayDir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportDirectory(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	signer, _ := token.NewSigner([]byte(strings.Repeat("k", 32)))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	srv := httptest.NewServer((&web.Server{Store: st, Signer: signer, Now: func() time.Time { return now }}).Handler())
	defer srv.Close()
	link := func(rep, actor string) string {
		return srv.URL + "/away/" + signer.Sign(token.Claims{Lead: rep, Actor: actor, Action: "away", Expires: now.Add(time.Hour).Unix()})
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	get := func(u string) (int, string) {
		resp, err := cl.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(u string, form url.Values) (int, string) {
		resp, err := cl.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	csrfRe := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	count := func() int {
		var n int
		st.Pool.QueryRow(ctx, `select count(*) from out_of_office`).Scan(&n) //nolint:errcheck
		return n
	}

	// Another team's manager, and a forged token, are refused.
	if code, body := get(link("ana", "una")); code != http.StatusForbidden || !strings.Contains(body, "Only the rep") {
		t.Fatalf("other manager: %d %s", code, body)
	}
	if code, _ := get(srv.URL + "/away/" + signer.Sign(token.Claims{Lead: "ana", Actor: "ana", Action: "accept", Expires: now.Add(time.Hour).Unix()})); code != http.StatusForbidden {
		t.Fatalf("an accept token on the away page: %d", code)
	}

	u := link("ana", "ana")
	code, body := get(u)
	m := csrfRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || !strings.Contains(body, "Out of office for Ana Schmidt") || !strings.Contains(body, "Europe/Berlin") {
		t.Fatalf("page: %d %s", code, body)
	}
	form := url.Values{"csrf": {m[1]}, "from": {"2026-12-20T09:00"}, "until": {"2026-12-31T18:00"}, "reason": {"holidays"}}
	bad := url.Values{"from": form["from"], "until": form["until"], "csrf": {"forged"}}
	if code, _ := post(u, bad); code != http.StatusForbidden || count() != 0 {
		t.Fatalf("forged csrf: %d, %d rows", code, count())
	}
	for _, tc := range []struct{ from, until, want string }{
		{"2026-12-20", "2026-12-31T18:00", "from:"},
		{"2026-12-31T18:00", "2026-12-20T09:00", "until must be after from"},
		{"2026-11-01T09:00", "2026-11-02T09:00", "until is in the past"},
	} {
		f := url.Values{"csrf": {m[1]}, "from": {tc.from}, "until": {tc.until}}
		if code, body := post(u, f); code != http.StatusBadRequest || !strings.Contains(body, tc.want) || count() != 0 {
			t.Fatalf("%v: %d %s", tc, code, body)
		}
	}
	// A future period: recorded in the rep's zone; Temporal is not needed
	// (held leads are told when it has begun).
	if code, body := post(u, form); code != http.StatusOK || !strings.Contains(body, "Out of office recorded") {
		t.Fatalf("post: %d %s", code, body)
	}
	ps, err := st.AwayPeriods(ctx, "ana", now)
	if err != nil || len(ps) != 1 || !ps[0].From.Equal(time.Date(2026, 12, 20, 8, 0, 0, 0, time.UTC)) || ps[0].Reason != "holidays" {
		t.Fatalf("periods: %+v, %v", ps, err)
	}
	// The manager sets it for the rep; the record says so.
	mu := link("ana", "max")
	_, body = get(mu)
	m = csrfRe.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "setting this for Ana Schmidt") || !strings.Contains(body, "holidays") {
		t.Fatalf("manager page: %s", body)
	}
	form.Set("csrf", m[1])
	form.Set("from", "2027-02-01T00:00")
	form.Set("until", "2027-02-03T00:00")
	form.Set("reason", "training")
	if code, body := post(mu, form); code != http.StatusOK {
		t.Fatalf("manager post: %d %s", code, body)
	}
	ps, _ = st.AwayPeriods(ctx, "ana", now)
	if len(ps) != 2 || ps[1].Reason != "training (set by Max Becker)" {
		t.Fatalf("periods: %+v", ps)
	}
}
