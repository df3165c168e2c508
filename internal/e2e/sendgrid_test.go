package e2e

// The SendGrid loop on the real stack: the worker sends through the real
// sendgrid-go client to a loopback SendGrid, and SendGrid's signed Event
// Webhook comes back to the gateway. A bounced offer reassigns the lead at
// once (the acceptance window here is an hour) and alerts the manager.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"github.com/batonhq/baton/internal/web"
	"github.com/batonhq/baton/workflows"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// sentMail is one request the loopback SendGrid accepted.
type sentMail struct {
	To   string
	Args map[string]string
	Text string
}

type loopbackSendGrid struct {
	*httptest.Server
	mu     sync.Mutex
	sent   []sentMail
	refuse map[string]bool // recipients answered with 400, as an invalid address is
}

func newLoopbackSendGrid(t *testing.T) *loopbackSendGrid {
	f := &loopbackSendGrid{refuse: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Personalizations []struct {
				To         []struct{ Email string } `json:"to"`
				CustomArgs map[string]string        `json:"custom_args"`
			} `json:"personalizations"`
			Content []struct{ Type, Value string } `json:"content"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || len(body.Personalizations) != 1 || len(body.Personalizations[0].To) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p := body.Personalizations[0]
		f.mu.Lock()
		if f.refuse[p.To[0].Email] {
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errors":[{"field":"personalizations.0.to.0.email","message":"Does not contain a valid address."}]}`) //nolint:errcheck
			return
		}
		text := ""
		for _, c := range body.Content {
			if c.Type == "text/plain" {
				text = c.Value
			}
		}
		f.sent = append(f.sent, sentMail{To: p.To[0].Email, Args: p.CustomArgs, Text: text})
		n := len(f.sent)
		f.mu.Unlock()
		w.Header().Set("X-Message-Id", fmt.Sprintf("msg-%d", n))
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(f.Close)
	return f
}

// wait returns the first accepted message of a kind, to an address.
func (f *loopbackSendGrid) wait(t *testing.T, to, kind string, within time.Duration) sentMail {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		f.mu.Lock()
		for _, m := range f.sent {
			if m.To == to && m.Args["baton_kind"] == kind {
				f.mu.Unlock()
				return m
			}
		}
		sent := append([]sentMail(nil), f.sent...)
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s to %s within %s; SendGrid got %+v", kind, to, within, sent)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signer signs Event Webhook batches as SendGrid does: ECDSA P-256 over
// SHA-256 of timestamp + body, ASN.1 DER, base64.
type signer struct{ key *ecdsa.PrivateKey }

func (s signer) publicKey(t *testing.T) string {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func (s signer) sign(t *testing.T, ts string, body []byte) string {
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func postEvents(t *testing.T, url string, body []byte, ts, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/sendgrid/events", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(eventwebhook.VerificationHTTPHeader, sig)
	}
	if ts != "" {
		req.Header.Set(eventwebhook.TimestampHTTPHeader, ts)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// event is an Event Webhook event for a message SendGrid accepted: its
// custom_args come back at the top level.
func event(m sentMail, name, id string, extra map[string]any) map[string]any {
	e := map[string]any{"email": m.To, "timestamp": time.Now().Unix(), "event": name, "sg_event_id": id,
		"sg_message_id": "msg-x.filter0001"}
	for k, v := range m.Args {
		e[k] = v
	}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func TestSignedBounceReassignsTheLeadOnTheRealStack(t *testing.T) {
	sg := newLoopbackSendGrid(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sgn := signer{key}
	t.Setenv("SENDGRID_API_KEY", "SG.e2e")
	t.Setenv("SENDGRID_BASE_URL", sg.URL)
	t.Setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", sgn.publicKey(t))
	t.Setenv("SENDGRID_WEBHOOK_TOLERANCE", "5m")
	s := startStack(t)
	ctx := context.Background()
	if s.Config.Outbox() {
		t.Fatal("fixture: the stack should send through SendGrid")
	}
	// An hour to accept, so only the bounce can move the lead within seconds.
	root, _ := testenv.RepoRoot()
	data, _ := os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	camp, err := domain.ParseCampaign(data)
	if err != nil {
		t.Fatal(err)
	}
	camp.AcceptWithin, camp.SLAPolicy = domain.Duration(time.Hour), ""
	if err := s.Store.UpsertCampaign(ctx, camp, "live", s.Config.DefaultAcceptWindow); err != nil {
		t.Fatal(err)
	}
	// The gateway as gateway/main.go wires it, with the webhook on.
	events, err := web.NewSendGridEvents(s.Config)
	if err != nil || events == nil {
		t.Fatalf("webhook config: %v %v", events, err)
	}
	srv := &web.Server{Store: s.Store, Temporal: s.Temporal, Log: tclient.QuietLogger(), SendGrid: events,
		Intake: &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}}
	gw := httptest.NewServer(srv.Handler())
	t.Cleanup(gw.Close)

	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"dana@bounce.example","name":"Dana Lee","company":"Acme","score":80}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, out)
	}
	id := out["id"].(string)
	lead := waitLead(t, s, id, func(v leadState) bool { return v.State == string(domain.StateOffered) }, 10*time.Second)
	holder := lead.Owner
	offer := sg.wait(t, holder.Email, mail.KindOffer, 10*time.Second)
	if offer.Args["baton_lead"] != id || offer.Args["baton_workflow"] != "lead-"+id || offer.Args["baton_attempt"] != "1" ||
		offer.Args["baton_key"] == "" || offer.Args["baton_step"] == "" {
		t.Fatalf("offer custom_args = %v", offer.Args)
	}
	// The offer carries the rep's context, the timeline read from PostgreSQL.
	for _, want := range []string{"Dana Lee, Acme", "WHY THEY QUALIFIED", "Score 80 meets the campaign's bar of 50",
		"ENGAGEMENT", "first came in via", "Accept lead: ", "Decline: "} {
		if !strings.Contains(offer.Text, want) {
			t.Errorf("offer text lacks %q:\n%s", want, offer.Text)
		}
	}

	// Delivered, then opened: lead events, once each even when SendGrid
	// posts the batch twice.
	batch, _ := json.Marshal([]any{event(offer, "processed", "ev-p", nil), event(offer, "delivered", "ev-d", nil),
		event(offer, "open", "ev-o", nil)})
	for range 2 {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if code, body := postEvents(t, gw.URL, batch, ts, sgn.sign(t, ts, batch)); code != 200 {
			t.Fatalf("signed batch: %d %s", code, body)
		}
	}
	v := getLead(t, s, id)
	count := map[string]int{}
	for _, e := range v.Events {
		count[e.Kind]++
	}
	if count["mail-delivered"] != 1 || count["mail-opened"] != 1 {
		t.Errorf("lead events after a repeated batch: %v, want one mail-delivered and one mail-opened", count)
	}

	// The bounce: unsigned, tampered and stale copies are refused and change nothing.
	bounce, _ := json.Marshal([]any{event(offer, "bounce", "ev-b", map[string]any{
		"reason": "550 5.1.1 The email account that you tried to reach does not exist", "status": "5.1.1", "type": "bounce"})})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := sgn.sign(t, ts, bounce)
	tampered := []byte(strings.Replace(string(bounce), holder.Email, "someone@else.example", 1))
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for name, c := range map[string]struct {
		body    []byte
		ts, sig string
	}{
		"unsigned":     {bounce, "", ""},
		"no timestamp": {bounce, "", sig},
		"tampered":     {tampered, ts, sig},
		"wrong ts":     {bounce, strconv.FormatInt(time.Now().Unix()+1, 10), sig},
		"garbage sig":  {bounce, ts, "bm90IGEgc2lnbmF0dXJl"},
		"stale":        {bounce, old, sgn.sign(t, old, bounce)},
	} {
		if code, body := postEvents(t, gw.URL, c.body, c.ts, c.sig); code != 403 {
			t.Errorf("%s: %d %s, want 403", name, code, body)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if v := getLead(t, s, id); v.Attempt != 1 || v.Owner == nil || v.Owner.ID != holder.ID {
		t.Fatalf("a refused request moved the lead: attempt %d owner %+v", v.Attempt, v.Owner)
	}
	evs, _ := s.Store.EmailEvents(ctx, offer.Args["baton_key"])
	for _, e := range evs {
		if e.Event == "bounce" {
			t.Fatalf("a refused request stored an event: %+v", e)
		}
	}

	start := time.Now()
	if code, body := postEvents(t, gw.URL, bounce, ts, sig); code != 200 {
		t.Fatalf("signed bounce: %d %s", code, body)
	}
	moved := waitLead(t, s, id, func(v leadState) bool { return v.Attempt == 2 && v.State == string(domain.StateOffered) }, 10*time.Second)
	took := time.Since(start)
	t.Logf("bounce → reassigned in %s", took.Round(time.Millisecond))
	if moved.Owner.ID == holder.ID {
		t.Fatalf("still held by %s", holder.ID)
	}
	sg.wait(t, moved.Owner.Email, mail.KindOffer, 10*time.Second)
	alert := sg.wait(t, "max.becker@example.com", mail.KindUnreachable, 10*time.Second)
	if alert.Args["baton_lead"] != id {
		t.Errorf("alert custom_args %v", alert.Args)
	}
	v = getLead(t, s, id)
	kinds := map[string]int{}
	for _, e := range v.Events {
		kinds[e.Kind]++
	}
	if kinds["mail-bounced"] != 1 || kinds["unreachable"] != 1 {
		t.Errorf("lead events %v, want one mail-bounced and one unreachable", kinds)
	}
	// SendGrid retries a batch it got no 2xx for: a repeat moves nothing.
	if code, _ := postEvents(t, gw.URL, bounce, ts, sig); code != 200 {
		t.Fatalf("repeated bounce: %d", code)
	}
	time.Sleep(500 * time.Millisecond)
	if v := getLead(t, s, id); v.Attempt != 2 {
		t.Errorf("a repeated bounce moved the lead again: attempt %d", v.Attempt)
	}
	// The new holder takes it to the end, so the history is whole for replay.
	wf := "lead-" + id
	act(t, s, wf, workflows.UpdateAccept, workflows.AcceptInput{RepID: moved.Owner.ID, Attempt: 2})
	act(t, s, wf, workflows.UpdateContact, workflows.ContactInput{RepID: moved.Owner.ID, Channel: "call"})
	act(t, s, wf, workflows.UpdateClose, workflows.CloseInput{RepID: moved.Owner.ID, Outcome: workflows.OutcomeConverted, Reference: "OPP-77"})
	if err := s.Temporal.GetWorkflow(ctx, wf, "").Get(ctx, nil); err != nil {
		t.Fatalf("the lead's workflow: %v", err)
	}
	saveHistory(t, s.Temporal, wf, "lead-offer-bounced-unreachable-reassigned-converted")
}

type leadState struct {
	State   string
	Attempt int
	Touches int
	Owner   struct{ ID, Email string }
}

func waitLead(t *testing.T, s *Stack, id string, ok func(leadState) bool, within time.Duration) leadState {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, err := s.Store.Lead(context.Background(), id)
		var ls leadState
		if err == nil {
			ls = leadState{State: v.State, Attempt: v.Attempt, Touches: v.Touches}
			if v.Owner != nil {
				ls.Owner.ID, ls.Owner.Email = v.Owner.ID, v.Owner.Email
			}
			if ok(ls) {
				return ls
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("lead %s: condition not met within %s; last %+v (%v)", id, within, ls, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRefusedOfferReassignsOnTheRealStack(t *testing.T) {
	sg := newLoopbackSendGrid(t)
	sg.refuse["ana.schmidt@example.com"] = true // first in rotation
	t.Setenv("SENDGRID_API_KEY", "SG.e2e")
	t.Setenv("SENDGRID_BASE_URL", sg.URL)
	s := startStack(t)
	ctx := context.Background()
	root, _ := testenv.RepoRoot()
	data, _ := os.ReadFile(filepath.Join(root, "examples", "campaign.yaml"))
	camp, err := domain.ParseCampaign(data)
	if err != nil {
		t.Fatal(err)
	}
	camp.AcceptWithin, camp.SLAPolicy = domain.Duration(time.Hour), ""
	if err := s.Store.UpsertCampaign(ctx, camp, "live", s.Config.DefaultAcceptWindow); err != nil {
		t.Fatal(err)
	}
	code, out := submit(t, s, `{"campaign":"webinar-q3","email":"lee@refused.example","name":"Lee Park","company":"Initech","score":70}`)
	if code != 202 {
		t.Fatalf("submit: %d %v", code, out)
	}
	id := out["id"].(string)
	start := time.Now()
	moved := waitLead(t, s, id, func(v leadState) bool { return v.Attempt == 2 && v.State == string(domain.StateOffered) }, 15*time.Second)
	t.Logf("refused offer → reassigned in %s", time.Since(start).Round(time.Millisecond))
	if moved.Owner.ID == "ana" {
		t.Fatal("still offered to the unreachable rep")
	}
	sg.wait(t, moved.Owner.Email, mail.KindOffer, 10*time.Second)
	sg.wait(t, "max.becker@example.com", mail.KindUnreachable, 10*time.Second)
	v := getLead(t, s, id)
	kinds := map[string]int{}
	var rejected string
	for _, e := range v.Events {
		kinds[e.Kind]++
		if e.Kind == "mail-rejected" {
			rejected = e.Reason
		}
	}
	if kinds["mail-failed"] != 1 || kinds["mail-rejected"] != 1 || kinds["unreachable"] != 1 {
		t.Errorf("lead events %v, want one mail-failed (from the mailer), mail-rejected and unreachable", kinds)
	}
	if !strings.Contains(rejected, "400") || !strings.Contains(rejected, "Does not contain a valid address") {
		t.Errorf("mail-rejected reason %q lacks SendGrid's status and message", rejected)
	}
	wf := "lead-" + id
	act(t, s, wf, workflows.UpdateAccept, workflows.AcceptInput{RepID: moved.Owner.ID, Attempt: 2})
	act(t, s, wf, workflows.UpdateContact, workflows.ContactInput{RepID: moved.Owner.ID, Channel: "call"})
	act(t, s, wf, workflows.UpdateClose, workflows.CloseInput{RepID: moved.Owner.ID, Outcome: workflows.OutcomeConverted, Reference: "OPP-78"})
	if err := s.Temporal.GetWorkflow(ctx, wf, "").Get(ctx, nil); err != nil {
		t.Fatalf("the lead's workflow: %v", err)
	}
	saveHistory(t, s.Temporal, wf, "lead-offer-refused-unreachable-reassigned-converted")
}
