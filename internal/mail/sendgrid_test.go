package mail_test

// These tests drive the SendGrid mailer through the real sendgrid-go client
// against (a) Stoplight Prism serving SendGrid's published OpenAPI contract,
// which validates every request Baton builds, and (b) an httptest server of
// our own for the faults Prism does not simulate. Both need PostgreSQL for the
// email ledger (testenv.Database); Prism comes from `make prism`.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
	"go.temporal.io/sdk/temporal"
)

const testAPIKey = "SG.test-key"

// openStore gives the test its own migrated database.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	url := testenv.Database(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

type ledgerRow struct {
	Status, ProviderID, Error string
	SentAt                    *time.Time
}

func ledger(t *testing.T, st *store.Store, key string) ledgerRow {
	t.Helper()
	var r ledgerRow
	err := st.Pool.QueryRow(context.Background(),
		`select status, provider_id, error, sent_at from email_ledger where key = $1`, key).
		Scan(&r.Status, &r.ProviderID, &r.Error, &r.SentAt)
	if err != nil {
		t.Fatalf("ledger row %s: %v", key, err)
	}
	return r
}

// ---------------------------------------------------------------------------
// Prism: the request Baton builds must satisfy SendGrid's contract.

type lockedBuffer = testenv.LockedBuffer

// startPrism runs Prism as a validating mock of the SendGrid contract on a
// free loopback port and returns its base URL and its log. It fails (never
// skips) when Prism or the contract is missing.
func startPrism(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	contract := os.Getenv("BATON_SENDGRID_CONTRACT") // else the copy of SendGrid's official contract kept in testdata
	if contract == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		contract = filepath.Join(root, "internal", "mail", "testdata", "contracts", "sendgrid-mail-v3.yaml")
	}
	return testenv.Prism(t, contract, "--errors")
}

// violations picks the contract violations out of Prism's log.
func violations(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "Violation: "); i >= 0 && !slices.Contains(out, l[i:]) {
			out = append(out, l[i:])
		}
	}
	if len(out) == 0 {
		return "(none in Prism's log)"
	}
	return strings.Join(out, "\n")
}

// sampleMessages returns one composed message of every kind Baton sends,
// as the activities build them (links, reply-to, correlation fields). The
// contract test sends each through Prism; add new kinds here.
func sampleMessages(t *testing.T) []store.Message {
	t.Helper()
	var out []store.Message
	for _, kind := range mail.LeadKinds {
		m := compose(t, notice(kind))
		m.LeadID, m.WorkflowID, m.Step, m.Attempt = "lead-42", "lead-lead-42", "accept:0", 1
		out = append(out, m)
	}
	return append(out, campaignSamples(t)...)
}

// Every kind Baton can send, lead and campaign, is in the contract check.
func TestSampleMessagesCoverEveryLeadKind(t *testing.T) {
	got := map[string]bool{}
	for _, m := range sampleMessages(t) {
		got[m.Kind] = true
	}
	for _, k := range append(append([]string{}, mail.LeadKinds...), mail.CampaignKinds...) {
		if !got[k] {
			t.Errorf("sampleMessages has no %s", k)
		}
	}
}

func TestSendGridContract(t *testing.T) {
	baseURL, logs := startPrism(t)
	st := openStore(t)
	for i, m := range sampleMessages(t) {
		// Alternate the options, so each is checked against the contract.
		sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: baseURL, Sandbox: i%2 == 0}
		if i%3 == 0 {
			sg.Categories = []string{"emea", "baton"} // a configured category may repeat ours
		}
		t.Run(m.Kind, func(t *testing.T) {
			if err := sg.Deliver(context.Background(), m); err != nil {
				t.Fatalf("Prism did not accept the %s message Baton built: %v\ncontract violations:\n%s", m.Kind, err, violations(logs.String()))
			}
			if r := ledger(t, st, m.Key); r.Status != string(store.LedgerSent) || r.SentAt == nil {
				t.Errorf("ledger row after a 2xx = %+v, want status sent with sent_at", r)
			}
		})
		t.Run(m.Kind+"/dynamic-template", func(t *testing.T) {
			sg.TemplateIDs = map[string]string{m.Kind: "d-0123456789abcdef0123456789abcdef"}
			m.Key += ":template"
			if err := sg.Deliver(context.Background(), m); err != nil {
				t.Fatalf("Prism did not accept the %s message with a dynamic template: %v\ncontract violations:\n%s", m.Kind, err, violations(logs.String()))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// A fake SendGrid on loopback for faults and for what was sent.

type received struct {
	Method, Path, Auth, ContentType string
	Body                            []byte
}

type fakeSendGrid struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(w http.ResponseWriter, n int) // n counts requests from 1
}

func newFake(t *testing.T, respond func(w http.ResponseWriter, n int)) *fakeSendGrid {
	t.Helper()
	f := &fakeSendGrid{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, received{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		n := len(f.reqs)
		f.mu.Unlock()
		f.respond(w, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSendGrid) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeSendGrid) last(t *testing.T) (received, map[string]any) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the fake SendGrid received nothing")
	}
	r := f.reqs[len(f.reqs)-1]
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, r.Body)
	}
	return r, body
}

func accepted(id string) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("X-Message-Id", id)
		w.WriteHeader(http.StatusAccepted)
	}
}

func status(code int, body string) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body) //nolint:errcheck
	}
}

// appError unwraps err to a Temporal ApplicationError.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a temporal ApplicationError", err, err)
	}
	return ae
}

// retryable reports whether Temporal would retry an activity failing with err.
func retryable(err error) bool {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return !ae.NonRetryable()
	}
	return err != nil
}

func TestSendGridRequest(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, accepted("msg-1"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL, Sandbox: true, Categories: []string{"emea"}}
	m := compose(t, notice(mail.KindOffer))
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r, body := fake.last(t)
	if r.Method != http.MethodPost || r.Path != "/v3/mail/send" {
		t.Errorf("request %s %s, want POST /v3/mail/send", r.Method, r.Path)
	}
	if r.Auth != "Bearer "+testAPIKey {
		t.Errorf("Authorization = %q", r.Auth)
	}
	if r.ContentType != "application/json" {
		t.Errorf("Content-Type = %q", r.ContentType)
	}

	if got := strs(body["categories"]); !slices.Equal(got, []string{"baton", mail.KindOffer, "emea"}) {
		t.Errorf("categories = %q, want baton, the kind, then the configured ones", got)
	}
	if args := customArgs(t, body); args["baton_key"] != m.Key || args["baton_kind"] != mail.KindOffer {
		t.Errorf("custom_args = %v, want baton_key %q and baton_kind %q", args, m.Key, mail.KindOffer)
	}
	if _, ok := body["template_id"]; ok {
		t.Errorf("template_id sent with no template configured")
	}
	if got := dig(body, "reply_to", "email"); got != testReplyTo {
		t.Errorf("reply_to.email = %v, want %q", got, testReplyTo)
	}
	if got := dig(body, "mail_settings", "sandbox_mode", "enable"); got != true {
		t.Errorf("mail_settings.sandbox_mode.enable = %v, want true", got)
	}
	if got, want := dig(body, "from", "email"), "baton@example.com"; got != want {
		t.Errorf("from.email = %v, want %q", got, want)
	}
	if got, want := dig(body, "from", "name"), "Baton"; got != want {
		t.Errorf("from.name = %v, want %q", got, want)
	}
	if body["subject"] != m.Subject {
		t.Errorf("subject = %v, want %q", body["subject"], m.Subject)
	}
	ps, _ := body["personalizations"].([]any)
	if len(ps) != 1 {
		t.Fatalf("personalizations = %v, want one", body["personalizations"])
	}
	tos, _ := ps[0].(map[string]any)["to"].([]any)
	if len(tos) != 1 || dig(tos[0], "email") != m.To || dig(tos[0], "name") != m.ToName {
		t.Errorf("personalizations[0].to = %v, want %s <%s>", tos, m.ToName, m.To)
	}
	content := map[string]any{}
	for _, c := range asSlice(body["content"]) {
		content[fmt.Sprint(dig(c, "type"))] = dig(c, "value")
	}
	if content["text/plain"] != m.Text {
		t.Errorf("text/plain content = %v, want the composed text", content["text/plain"])
	}
	if content["text/html"] != m.HTML {
		t.Errorf("text/html content = %v, want the composed HTML", content["text/html"])
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "msg-1" {
		t.Errorf("ledger row = %+v, want sent with provider id msg-1", r)
	}
}

func TestSendGridRequestWithoutReplyToOrSandbox(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, accepted("msg-2"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindReassigned))
	if m.ReplyTo != "" {
		t.Fatalf("fixture: a reassigned message has no reply-to, got %q", m.ReplyTo)
	}
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, body := fake.last(t)
	if _, ok := body["reply_to"]; ok {
		t.Errorf("reply_to sent without Message.ReplyTo: %v", body["reply_to"])
	}
	if _, ok := body["mail_settings"]; ok {
		t.Errorf("mail_settings sent without Sandbox: %v", body["mail_settings"])
	}
	if got := strs(body["categories"]); !slices.Equal(got, []string{"baton", mail.KindReassigned}) {
		t.Errorf("categories = %q", got)
	}
	if args := customArgs(t, body); args["baton_kind"] != mail.KindReassigned {
		t.Errorf("custom_args = %v", args)
	}
}

func TestSendGridCategoriesUnique(t *testing.T) {
	// SendGrid's contract says categories are unique (and at most 10).
	st := openStore(t)
	fake := newFake(t, accepted("msg-3"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL, Categories: []string{"baton", "emea", "emea", mail.KindOffer}}
	if err := sg.Deliver(context.Background(), compose(t, notice(mail.KindOffer))); err != nil {
		t.Fatal(err)
	}
	_, body := fake.last(t)
	if got := strs(body["categories"]); !slices.Equal(got, []string{"baton", mail.KindOffer, "emea"}) {
		t.Errorf("categories = %q, want each once", got)
	}

	// ... and at most ten: ours first, then the configured ones in order.
	many := []string{"", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"}
	sg.Categories = many
	if err := sg.Deliver(context.Background(), compose(t, notice(mail.KindReassigned))); err != nil {
		t.Fatal(err)
	}
	_, body = fake.last(t)
	want := []string{"baton", mail.KindReassigned, "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"}
	if got := strs(body["categories"]); !slices.Equal(got, want) {
		t.Errorf("categories = %q, want %q", got, want)
	}
}

func TestSendGridSentOnceOnly(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, accepted("msg-once"))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindOffer))
	for i := range 3 {
		if err := sg.Deliver(context.Background(), m); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	if n := fake.count(); n != 1 {
		t.Errorf("the fake SendGrid received %d requests for one key, want 1", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "msg-once" {
		t.Errorf("ledger row = %+v", r)
	}
	// A different key is a different message.
	other := compose(t, notice(mail.KindReassigned))
	if err := sg.Deliver(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if n := fake.count(); n != 2 {
		t.Errorf("after a second key: %d requests, want 2", n)
	}
}

func TestSendGridRateLimited(t *testing.T) {
	st := openStore(t)
	reset := time.Now().Add(30 * time.Second).Unix()
	fake := newFake(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			w.Header().Set("X-RateLimit-Limit", "600")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"errors":[{"field":null,"message":"too many requests"}]}`) //nolint:errcheck
			return
		}
		accepted("msg-after-429")(w, n)
	})
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindOffer))
	err := sg.Deliver(context.Background(), m)
	if err == nil {
		t.Fatal("Deliver after a 429: want an error")
	}
	ae := appError(t, err)
	if ae.NonRetryable() || mail.IsRejected(err) {
		t.Errorf("a 429 must be retryable: %v", err)
	}
	// The reset is whole seconds: the delay is (29, 30] seconds from now.
	if d := ae.NextRetryDelay(); d <= 25*time.Second || d > 30*time.Second {
		t.Errorf("NextRetryDelay = %v, want about 30s (the X-RateLimit-Reset time)", d)
	}
	if r := ledger(t, st, m.Key); r.Status != "retry" {
		t.Errorf("ledger row after a 429 = %+v, want retry (so a retry sends at once)", r)
	}
	// Temporal retries the activity: now it goes through, once.
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatalf("retry after a 429: %v", err)
	}
	if n := fake.count(); n != 2 {
		t.Errorf("requests = %d, want 2 (the 429, then the retry)", n)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "msg-after-429" {
		t.Errorf("ledger row after the retry = %+v", r)
	}
}

func TestSendGridRateLimitedWithoutReset(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, status(http.StatusTooManyRequests, `{"errors":[{"message":"too many requests"}]}`))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	err := sg.Deliver(context.Background(), compose(t, notice(mail.KindOffer)))
	ae := appError(t, err)
	if ae.NonRetryable() {
		t.Errorf("a 429 must be retryable: %v", err)
	}
	if d := ae.NextRetryDelay(); d != time.Second {
		t.Errorf("NextRetryDelay without X-RateLimit-Reset = %v, want 1s", d)
	}
}

func TestSendGridServerError(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			status(http.StatusInternalServerError, `{"errors":[{"message":"internal error"}]}`)(w, n)
			return
		}
		accepted("msg-after-500")(w, n)
	})
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindEscalation))
	err := sg.Deliver(context.Background(), m)
	if err == nil {
		t.Fatal("Deliver after a 500: want an error")
	}
	if !retryable(err) || mail.IsRejected(err) {
		t.Errorf("a 500 must be retryable: %v", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("error does not name the status: %v", err)
	}
	if r := ledger(t, st, m.Key); r.Status != "retry" {
		t.Errorf("ledger row after a 500 = %+v, want retry", r)
	}
	if err := sg.Deliver(context.Background(), m); err != nil {
		t.Fatalf("retry after a 500: %v", err)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" {
		t.Errorf("ledger row after the retry = %+v, want sent", r)
	}
}

func TestSendGridNetworkError(t *testing.T) {
	st := openStore(t)
	fake := newFake(t, accepted("never"))
	url := fake.URL
	fake.Close() // nothing listens there now
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: url}
	err := sg.Deliver(context.Background(), compose(t, notice(mail.KindOffer)))
	if err == nil || !retryable(err) || mail.IsRejected(err) {
		t.Errorf("a connection error must be retryable, got %v", err)
	}
}

func TestSendGridRejected(t *testing.T) {
	st := openStore(t)
	const reason = `{"errors":[{"field":"from.email","message":"The from address does not match a verified Sender Identity."}]}`
	fake := newFake(t, status(http.StatusBadRequest, reason))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindOffer))
	err := sg.Deliver(context.Background(), m)
	if !mail.IsRejected(err) {
		t.Fatalf("Deliver after a 400: IsRejected(%v) = false, want true", err)
	}
	if ae := appError(t, err); !ae.NonRetryable() || ae.Type() != mail.ErrRejected {
		t.Errorf("a 400 must be a non-retryable %s: %v", mail.ErrRejected, err)
	}
	r := ledger(t, st, m.Key)
	if r.Status != "failed" {
		t.Errorf("ledger status after a 400 = %q, want failed", r.Status)
	}
	if !strings.Contains(r.Error, "400") || !strings.Contains(r.Error, "verified Sender Identity") {
		t.Errorf("ledger error = %q, want the status and SendGrid's reason", r.Error)
	}
	// A retry (or a replayed activity) does not send again and stays rejected.
	err = sg.Deliver(context.Background(), m)
	if !mail.IsRejected(err) {
		t.Errorf("second Deliver of a rejected key: IsRejected(%v) = false", err)
	}
	if n := fake.count(); n != 1 {
		t.Errorf("requests = %d, want 1: a rejected message is not sent again", n)
	}
}

func TestIsRejected(t *testing.T) {
	if mail.IsRejected(nil) || mail.IsRejected(errors.New("x")) {
		t.Error("IsRejected of a plain error")
	}
	if mail.IsRejected(temporal.NewApplicationError("x", "Other")) {
		t.Error("IsRejected of another application error type")
	}
	wrapped := fmt.Errorf("notify: %w", temporal.NewNonRetryableApplicationError("x", mail.ErrRejected, nil))
	if !mail.IsRejected(wrapped) {
		t.Error("IsRejected of a wrapped rejection")
	}
}

// ---------------------------------------------------------------------------
// Outbox.

func TestOutboxDeliversOnce(t *testing.T) {
	st := openStore(t)
	ob := mail.Outbox{Store: st}
	ctx := context.Background()
	m := compose(t, notice(mail.KindOffer))
	for i := range 2 {
		if err := ob.Deliver(ctx, m); err != nil {
			t.Fatalf("Deliver #%d: %v", i+1, err)
		}
	}
	var rows int
	if err := st.Pool.QueryRow(ctx, `select count(*) from outbox where ledger_key = $1`, m.Key).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("outbox rows for one key = %d, want 1", rows)
	}
	if r := ledger(t, st, m.Key); r.Status != "sent" || r.ProviderID != "outbox" {
		t.Errorf("ledger row = %+v, want sent by outbox", r)
	}
	got, err := st.Outbox(ctx, m.To, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Outbox(%s) = %d messages, want 1", m.To, len(got))
	}
	o := got[0]
	if o.Key != m.Key || o.Kind != m.Kind || o.Subject != m.Subject || o.Text != m.Text || o.HTML != m.HTML ||
		o.From != m.From || o.ReplyTo != m.ReplyTo || o.ToName != m.ToName || !slices.Equal(o.Links, m.Links) {
		t.Errorf("outbox message differs from the one delivered:\n got %+v\nwant %+v", o, m)
	}
}

// ---------------------------------------------------------------------------
// JSON helpers.

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func strs(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// customArgs returns the custom args of the request's one personalization.
// They must not be at the top level, where SendGrid's contract types
// custom_args as a string.
func customArgs(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	if top, ok := body["custom_args"]; ok {
		t.Errorf("top-level custom_args = %v: the contract wants a string there; put them on the personalization", top)
	}
	ps := asSlice(body["personalizations"])
	if len(ps) != 1 {
		t.Fatalf("personalizations = %v, want one", body["personalizations"])
	}
	args, _ := dig(ps[0], "custom_args").(map[string]any)
	return args
}

func TestSendGridRejectedLongUnicodeReason(t *testing.T) {
	// The ledger keeps the first 500 bytes of SendGrid's reason; a cut in the
	// middle of a character would be invalid UTF-8, which PostgreSQL refuses,
	// leaving the row 'sending' so every retry sends (and is rejected) again.
	st := openStore(t)
	reason := `{"errors":[{"message":"` + strings.Repeat("x", 400) + strings.Repeat("é", 100) + `"}]}`
	fake := newFake(t, status(http.StatusBadRequest, reason))
	sg := mail.SendGrid{Store: st, APIKey: testAPIKey, BaseURL: fake.URL}
	m := compose(t, notice(mail.KindOffer))
	if err := sg.Deliver(context.Background(), m); !mail.IsRejected(err) {
		t.Fatalf("Deliver after a 400 with a long reason: IsRejected(%v) = false", err)
	}
	r := ledger(t, st, m.Key)
	if r.Status != "failed" || !strings.Contains(r.Error, "ééé") || !strings.HasSuffix(r.Error, "…") {
		t.Errorf("ledger row = %+v, want failed with the reason cut at a character boundary", r)
	}
	if !utf8.ValidString(r.Error) {
		t.Errorf("ledger error is not valid UTF-8: %q", r.Error)
	}
}
