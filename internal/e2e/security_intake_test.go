package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/intake"
	"github.com/batonhq/baton/internal/token"
	"github.com/batonhq/baton/internal/web"
)

func secLeadBody(email, name, company string) string {
	b, _ := json.Marshal(map[string]any{"campaign": "webinar-q3", "email": email, "name": name, "company": company, "score": 80})
	return string(b)
}

func secIntakeAuth(t *testing.T, e *secEnv) {
	s := e.s
	body := secLeadBody("auth.probe@initech.example", "Auth Probe", "Initech")
	now := time.Now().Unix()
	sig := secSign(t, s.Source.HMACSecret, now, "POST", "/api/v1/leads", []byte(body))
	for _, c := range []struct {
		name string
		send func() secResp
	}{
		{"NoCredentials", func() secResp {
			return secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: body, Header: map[string]string{"Content-Type": "application/json"}})
		}},
		{"WrongAPIKey", func() secResp {
			return secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: body,
				Header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey + "x"}})
		}},
		{"APIKeyAsBasicAuth", func() secResp {
			return secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: body,
				Header: map[string]string{"Content-Type": "application/json", "Authorization": "Basic " + s.Source.APIKey}})
		}},
		{"SignedWithWrongSecret", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, secSign(t, "not-the-secret", now, "POST", "/api/v1/leads", []byte(body)), nil)
		}},
		{"SignedTamperedBody", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", strings.Replace(body, "Initech", "Evil", 1), now, sig, nil)
		}},
		{"SignedStaleTimestamp", func() secResp {
			old := time.Now().Add(-time.Hour).Unix()
			return secSigned(t, s, "POST", "/api/v1/leads", body, old, secSign(t, s.Source.HMACSecret, old, "POST", "/api/v1/leads", []byte(body)), nil)
		}},
		{"SignedFutureTimestamp", func() secResp {
			f := time.Now().Add(time.Hour).Unix()
			return secSigned(t, s, "POST", "/api/v1/leads", body, f, secSign(t, s.Source.HMACSecret, f, "POST", "/api/v1/leads", []byte(body)), nil)
		}},
		{"SignedTimestampNotANumber", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, sig, map[string]string{web.HeaderTimestamp: "yesterday"})
		}},
		{"SignedWithoutSource", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, sig, map[string]string{web.HeaderSource: ""})
		}},
		{"SignedUnknownSource", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, sig, map[string]string{web.HeaderSource: "no-such-source"})
		}},
		{"Finding4_SignedSourceNotUTF8", func() secResp {
			// Found by FuzzSignedIntakeHeaders: the name reached PostgreSQL,
			// which refused the bytes (SQLSTATE 22021): a 500, not a 401.
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, sig, map[string]string{web.HeaderSource: "e2e\x91"})
		}},
		{"SignedGarbageSignature", func() secResp {
			return secSigned(t, s, "POST", "/api/v1/leads", body, now, "sha256=zz", nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			guard(t, s, secNothing, func() { expect(t, c.send(), http.StatusUnauthorized) })
		})
	}

	t.Run("SignedReplayRefused", func(t *testing.T) {
		b := secLeadBody("replay.probe@initech.example", "Replay Probe", "Initech")
		ts := time.Now().Unix()
		sg := secSign(t, s.Source.HMACSecret, ts, "POST", "/api/v1/leads", []byte(b))
		guard(t, s, secNewLead, func() { expect(t, secSigned(t, s, "POST", "/api/v1/leads", b, ts, sg, nil), http.StatusAccepted) })
		guard(t, s, secNothing, func() {
			expect(t, secSigned(t, s, "POST", "/api/v1/leads", b, ts, sg, nil), http.StatusUnauthorized, "already used")
		})
	})

	evBody := `{"id":"sec-path-1","type":"page_view"}`
	t.Run("Finding5_SignatureBindsPath", func(t *testing.T) {
		// Signed for rep A's lead, sent for rep B's: the HMAC must cover the path.
		ts := time.Now().Unix()
		sg := secSign(t, s.Source.HMACSecret, ts, "POST", "/api/v1/leads/"+e.leadA+"/events", []byte(evBody))
		guard(t, s, secNothing, func() {
			expect(t, secSigned(t, s, "POST", "/api/v1/leads/"+e.leadB+"/events", evBody, ts, sg, nil), http.StatusUnauthorized)
		})
	})
	t.Run("Finding5_SignatureBindsMethod", func(t *testing.T) {
		ev := `{"id":"sec-method-1","type":"page_view"}`
		ts := time.Now().Unix()
		sg := secSign(t, s.Source.HMACSecret, ts, "PUT", "/api/v1/leads/"+e.leadA+"/events", []byte(ev))
		guard(t, s, secNothing, func() {
			expect(t, secSigned(t, s, "POST", "/api/v1/leads/"+e.leadA+"/events", ev, ts, sg, nil), http.StatusUnauthorized)
		})
	})
	t.Run("Finding5_UnknownSourceRefusedBeforeBody", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			code, waited := secSlowBody(t, s, map[string]string{web.HeaderSource: "no-such-source",
				web.HeaderTimestamp: strconv.FormatInt(time.Now().Unix(), 10), web.HeaderSignature: "sha256=" + strings.Repeat("0", 64)})
			expectf(t, code == http.StatusUnauthorized && waited < 3*time.Second,
				"a signed request from an unknown source was answered %d after %s: the body was read first", code, waited.Round(time.Millisecond))
		})
	})
	t.Run("StaleSignedRefusedBeforeBody", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			code, waited := secSlowBody(t, s, map[string]string{web.HeaderSource: s.Source.Source,
				web.HeaderTimestamp: strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10), web.HeaderSignature: "sha256=" + strings.Repeat("0", 64)})
			expectf(t, code == http.StatusUnauthorized && waited < 3*time.Second, "stale signed request: %d after %s", code, waited)
		})
	})
}

// secSlowBody sends, over a raw connection, a request that announces a
// large body and sends only its first bytes, and reports the status and how
// long the answer took (0 when none came within 4s: the gateway waited for
// the body).
func secSlowBody(t *testing.T, s *Stack, hdr map[string]string) (int, time.Duration) {
	t.Helper()
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	b.WriteString("POST /api/v1/leads HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n")
	for k, v := range hdr {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("\r\n[" + strings.Repeat(`{"campaign":"webinar-q3","email":"slow@x.example"},`, 50))
	start := time.Now()
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(4 * time.Second)) //nolint:errcheck
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func secLimits(t *testing.T, e *secEnv) {
	s := e.s
	big := strings.Repeat("A", 1<<20+10)
	for _, c := range []struct {
		name, path, body string
		hdr              map[string]string
		code             int
		text             string
	}{
		{"SingleLeadOver1MiB", "/api/v1/leads", `{"campaign":"webinar-q3","email":"big@x.example","name":"` + big + `"}`, nil, 413, "1 MiB"},
		{"BatchOver8MiB", "/api/v1/leads", `[{"campaign":"webinar-q3","email":"big@x.example","name":"` + strings.Repeat("B", 9<<20) + `"}]`, nil, 413, "MiB"},
		{"BatchOf1001", "/api/v1/leads", "[" + strings.TrimSuffix(strings.Repeat(`{"campaign":"webinar-q3","email":"many@x.example"},`, 1001), ",") + "]", nil, 400, "1 to 1000"},
		{"EmptyBatch", "/api/v1/leads", "[]", nil, 400, "1 to 1000"},
		{"EventOver16KiB", "/api/v1/leads/LEAD/events", `{"id":"big","type":"page_view","x":"` + strings.Repeat("C", 20<<10) + `"}`, nil, 413, ""},
		{"IdempotencyKeyTooLong", "/api/v1/leads", secLeadBody("idem.long@x.example", "Idem Long", "X"),
			map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, 400, "Idempotency-Key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey}
			for k, v := range c.hdr {
				h[k] = v
			}
			path := strings.Replace(c.path, "LEAD", e.leadA, 1)
			guard(t, s, secNothing, func() {
				expect(t, secSend(t, secReq{Method: "POST", URL: s.URL + path, Body: c.body, Header: h}), c.code, c.text)
			})
		})
	}
	t.Run("RateLimitPerSource", func(t *testing.T) {
		slow, err := s.Store.AddSource(context.Background(), "sec-slow", 0.001, 2)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + slow.APIKey}
		guard(t, s, secNothing, func() {
			var codes []int
			var last secResp
			for range 3 {
				last = secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: `{"campaign":"webinar-q3"`, Header: h})
				codes = append(codes, last.Code)
			}
			expectf(t, fmt.Sprint(codes) == "[400 400 429]" && last.Header.Get("Retry-After") != "",
				"codes %v (Retry-After %q), want [400 400 429] with Retry-After", codes, last.Header.Get("Retry-After"))
		})
	})
	t.Run("SigninFormOver4KiB", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/signin", Body: "email=" + strings.Repeat("a", 8<<10) + "@x.example",
				Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
			expectf(t, r.Code == 400 || r.Code == 413, "oversized sign-in form: %d", r.Code)
		})
	})
}

func secHostileJSON(t *testing.T, e *secEnv) {
	s := e.s
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, c := range []struct {
		name, body, field string
		code              int
	}{
		{"DuplicateKeySecondInvalid", `{"campaign":"webinar-q3","email":"dupkey@x.example","score":70,"score":"high"}`, "score", 400},
		{"DeepNestingInField", `{"campaign":"webinar-q3","email":"deep@x.example","name":` + deep + `}`, "", 400},
		{"DeepNestingBatch", deep, "", 400},
		{"HugeExponent", `{"campaign":"webinar-q3","email":"huge@x.example","score":1e400}`, "score", 400},
		{"HugeInteger", `{"campaign":"webinar-q3","email":"huge@x.example","score":123456789012345678901234567890}`, "score", 400},
		{"FractionalScore", `{"campaign":"webinar-q3","email":"frac@x.example","score":70.5}`, "score", 400},
		{"ScoreOutOfRange", `{"campaign":"webinar-q3","email":"range@x.example","score":2147483648}`, "score", 400},
		{"EmailNumber", `{"campaign":"webinar-q3","email":5}`, "email", 400},
		{"NameObject", `{"campaign":"webinar-q3","email":"obj@x.example","name":{"first":"x"}}`, "name", 400},
		{"ScoreString", `{"campaign":"webinar-q3","email":"str@x.example","score":"70"}`, "score", 400},
		{"CampaignArray", `{"campaign":["webinar-q3"],"email":"arr@x.example"}`, "campaign", 400},
		{"NullBody", `null`, "campaign", 400},
		{"StringBody", `"a lead"`, "", 400},
		{"TwoObjects", `{"campaign":"webinar-q3","email":"two1@x.example"}{"campaign":"webinar-q3","email":"two2@x.example"}`, "", 400},
		{"UnknownField", `{"campaign":"webinar-q3","email":"unk@x.example","is_admin":true}`, "is_admin", 400},
		{"NULInKey", `{"campaign":"webinar-q3","email":"nulkey@x.example","na\u0000me":"x"}`, "", 400},
		{"ByteOrderMark", "\ufeff" + `{"campaign":"webinar-q3","email":"bom@x.example"}`, "", 400},
		{"Truncated", `{"campaign":"webinar-q3","email":"trunc@x.example"`, "", 400},
		{"EmailWithMarkup", `{"campaign":"webinar-q3","email":"<script>@x.example"}`, "email", 400},
		{"EmailWithNUL", `{"campaign":"webinar-q3","email":"nul\u0000@x.example"}`, "email", 400},
		{"CountryWithNUL", `{"campaign":"webinar-q3","email":"cnul@x.example","country":"D\u0000"}`, "country", 400},
		{"CampaignPathTraversal", `{"campaign":"../webinar-q3","email":"trav@x.example"}`, "campaign", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			guard(t, s, secNothing, func() {
				r := secSubmit(t, s, c.body)
				expect(t, r, c.code)
				if c.field != "" && !secNamesField(r.Body, c.field) {
					t.Errorf("the answer does not name the field %q: %s", c.field, clip(r.Body))
				}
			})
		})
	}
	t.Run("BatchItemNotALead", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			r := secSubmit(t, s, `[1]`)
			expectf(t, r.Code == 400 || (r.Code == 207 && strings.Contains(r.Body, `"status": 400`)), "batch of a number: %d %s", r.Code, clip(r.Body))
		})
	})
	t.Run("DuplicateKeyOneMeaning", func(t *testing.T) {
		// Two emails in one object: refused, or one lead whose record is the
		// address the answer names. Never two leads.
		var r secResp
		changes := guard(t, s, secNewLead, func() {
			r = secSubmit(t, s, `{"campaign":"webinar-q3","email":"dupa@x.example","email":"dupb@x.example","name":"Dup Key","score":80}`)
		})
		switch r.Code {
		case 400:
			for _, c := range changes {
				t.Errorf("refused, yet changed: %s", c)
			}
		case 202:
			var res struct{ ID string }
			jsonUnmarshal(r.Body, &res) //nolint:errcheck
			waitLead(t, s, res.ID, func(v leadState) bool { return v.State == string(domain.StateOffered) }, 10*time.Second)
			v := getLead(t, s, res.ID)
			var n int
			s.Store.Pool.QueryRow(context.Background(), `select count(*) from leads where email in ('dupa@x.example','dupb@x.example')`).Scan(&n) //nolint:errcheck
			expectf(t, n == 1 && v.Email == "dupb@x.example", "leads %d, recorded email %q", n, v.Email)
		default:
			t.Errorf("answer %d: %s", r.Code, r.Body)
		}
	})
	t.Run("EventWithControlCharID", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads/" + e.leadA + "/events", Body: `{"id":"ev\u0000\r\n1","type":"page_view"}`,
				Header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey}})
			expect(t, r, 400)
			expectf(t, secNamesField(r.Body, "id"), "the answer does not name id: %s", r.Body)
		})
	})
	t.Run("EventUnknownType", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads/" + e.leadA + "/events", Body: `{"id":"ev-bad-type","type":"<script>"}`,
				Header: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey}})
			expect(t, r, 400)
			expectf(t, secNamesField(r.Body, "type"), "the answer does not name type: %s", r.Body)
		})
	})
}

// secIntakeText: text the record, pages, mail subjects and the terminal
// have no use for (BRIEF.md "Intake text") is refused at the edge, whole,
// with a 400 naming the field.
func secIntakeText(t *testing.T, e *secEnv) {
	s := e.s
	async := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.Source.APIKey, "Prefer": "respond-async"}
	n := 0
	for _, c := range []struct {
		name, field, value string
	}{
		{"Finding4_NULInName", "name", "Dana\x00Lee"},
		{"Finding4_NULInCompany", "company", "Acme\x00"},
		{"Finding4_NULInIndustry", "industry", "soft\x00ware"},
		{"Finding4_NULInSource", "source", "web\x00form"},
		{"Finding4_BELInName", "name", "Ding\x07Dong"},
		{"Finding4_C1ControlInCompany", "company", "Acme\u0085Corp"},
		{"Finding5_CRLFInName", "name", "Dana\r\nBcc: everyone@evil.example"},
		{"Finding5_LFInCompany", "company", "Acme\nX-Injected: 1"},
		{"Finding5_ESCInName", "name", "Dana\x1b[2J\x1b[31mLee"},
		{"Finding5_BidiOverrideInName", "name", "Dana \u202eeeL"},
		{"Finding5_BidiIsolateInCompany", "company", "Acme \u2066Corp\u2069"},
		{"Finding5_RLMInName", "name", "Dana\u200fLee"},
		{"Finding5_ArabicLetterMarkInCompany", "company", "Acme\u061c"},
	} {
		n++
		t.Run(c.name, func(t *testing.T) {
			req := map[string]any{"campaign": "webinar-q3", "email": fmt.Sprintf("text%d@hostile.example", n), "name": "Text Probe",
				"company": "Probe", "score": 80}
			req[c.field] = c.value
			b, _ := json.Marshal(req)
			guard(t, s, secNothing, func() {
				r := secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: string(b), Header: async})
				expect(t, r, 400)
				expectf(t, secNamesField(r.Body, c.field), "the answer does not name %q: %s", c.field, clip(r.Body))
			})
		})
	}
	t.Run("Finding4_InvalidUTF8InName", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Header: async,
				Body: "{\"campaign\":\"webinar-q3\",\"email\":\"utf8@hostile.example\",\"name\":\"Dana \xff\xfe Lee\",\"score\":80}"})
			expect(t, r, 400)
			expectf(t, secNamesField(r.Body, "name"), "the answer does not name name: %s", clip(r.Body))
		})
	})
	t.Run("Finding4_NULBatchRefusedWhole", func(t *testing.T) {
		good := secLeadBody("batch.good@hostile.example", "Batch Good", "Good Co")
		bad := secLeadBody("batch.bad@hostile.example", "Batch\x00Bad", "Bad Co")
		guard(t, s, secNothing, func() {
			r := secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Body: "[" + good + "," + bad + "]", Header: async})
			expect(t, r, 400)
			expectf(t, strings.Contains(r.Body, "name"), "the answer does not name the field: %s", clip(r.Body))
		})
	})
	t.Run("Finding4_CSVImportRowRefused", func(t *testing.T) {
		// The CSV import stages rows for the drain: a row with a NUL or a
		// bidi control is a bad row naming its field; the good row is staged.
		path := filepath.Join(t.TempDir(), "hostile.csv")
		csv := "campaign,email,name,company,score\n" +
			"webinar-q3,csv.good@hostile.example,Csv Good,Good Co,80\n" +
			"webinar-q3,csv.nul@hostile.example,Csv\x00Nul,Bad Co,80\n" +
			"webinar-q3,csv.bidi@hostile.example,Csv Bidi,Bad \u202eoC,80\n"
		if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		svc := &intake.Service{Temporal: s.Temporal, Store: s.Store, TaskQueue: s.Config.TaskQueue}
		guard(t, s, []string{"table:lead_imports", "table:lead_import_rows", "table:lead_import_errors"}, func() {
			rep, err := svc.Stage(context.Background(), path, intake.StageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var named []string
			for _, b := range rep.Bad {
				if strings.Contains(b.Error, "name") || strings.Contains(b.Error, "company") {
					named = append(named, b.Error)
				}
			}
			expectf(t, rep.New == 1 && len(rep.Bad) == 2 && len(named) == 2, "staged %d, bad rows %+v", rep.New, rep.Bad)
		})
	})
	t.Run("Finding4_NULDoesNotBlockThePerson", func(t *testing.T) {
		guard(t, s, secNothing, func() {
			expect(t, secSend(t, secReq{Method: "POST", URL: s.URL + "/api/v1/leads", Header: async,
				Body: secLeadBody("blocked@hostile.example", "Blocked\x00Person", "Acme")}), 400)
		})
		// The same person, clean, is a new lead (not a 404 from a failed workflow).
		guard(t, s, secNewLead, func() {
			r := secSubmit(t, s, secLeadBody("blocked@hostile.example", "Blocked Person", "Acme"))
			expect(t, r, 202, `"new": true`)
		})
	})
}

// secHostileText: text that is legal but hostile in HTML is shown escaped
// on every page and in every mail it reaches.
func secHostileText(t *testing.T, e *secEnv) {
	s := e.s
	for i, c := range []struct{ name, field, value string }{
		{"ScriptTagInName", "name", `<script>alert("baton")</script>`},
		{"AttributeBreakerInCompany", "company", `"' autofocus onfocus=alert(1) x="`},
		{"TitleBreakerInName", "name", `</title><svg/onload=alert(1)>`},
		{"JavascriptURLInCompany", "company", `javascript:alert(document.cookie)`},
		{"StyleBreakerInName", "name", `</style><img src=x onerror=alert(2)>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := map[string]any{"campaign": "webinar-q3", "email": fmt.Sprintf("hostile%d@markup.example", i), "name": "Markup Probe",
				"company": "Markup Co", "score": 80}
			req[c.field] = c.value
			b, _ := json.Marshal(req)
			var id string
			guard(t, s, append(append([]string{}, secNewLead...), secSession...), func() {
				r := secSubmit(t, s, string(b))
				expect(t, r, 202)
				var res struct{ ID string }
				jsonUnmarshal(r.Body, &res) //nolint:errcheck
				id = res.ID
				waitLead(t, s, id, func(v leadState) bool { return v.State == string(domain.StateOffered) }, 10*time.Second)
				e.browser(t, e.owner(t, id).Email)
			})
			if t.Failed() {
				return
			}
			owner := e.owner(t, id)
			m := secLeadMail(t, s, id, "offer", 10*time.Second)
			bad := func(where, text string) {
				t.Helper()
				if strings.ContainsAny(c.value, `<>"`) && strings.Contains(text, c.value) {
					t.Errorf("%s shows %q unescaped", where, c.value)
				}
				lower := strings.ToLower(text)
				for _, attr := range []string{`href="javascript:`, `src="javascript:`, `action="javascript:`} {
					if strings.Contains(lower, attr) {
						t.Errorf("%s has a %s URL", where, attr)
					}
				}
			}
			bad("the offer mail's HTML", m.HTML)
			expectf(t, !strings.ContainsAny(m.Subject, "\r\n"), "the subject holds CR/LF: %q", m.Subject)
			guard(t, s, secNothing, func() {
				page := secSend(t, secReq{Method: "GET", URL: m.Links[0].URL, Client: newJarClient()})
				expect(t, page, 200)
				bad("the confirm page", page.Body)
				view := s.URL + "/leads/" + id + "?t=" + e.signer.Sign(token.Claims{Lead: id, Actor: owner.ID, Action: "view", Expires: time.Now().Add(time.Hour).Unix()})
				page = secSend(t, secReq{Method: "GET", URL: view})
				expect(t, page, 200)
				bad("the emailed lead page", page.Body)
				br := e.browser(t, owner.Email)
				for _, p := range []string{"/inbox", "/leads/" + id} {
					page = secSend(t, secReq{Method: "GET", URL: s.URL + p, Client: br})
					expect(t, page, 200)
					bad(p, page.Body)
				}
			})
		})
	}
	// Free text a rep or manager types on the confirm page reaches the
	// timeline, the campaign page and other people's mail.
	t.Run("DeclineNoteEscaped", func(t *testing.T) {
		id := e.newLead(t, secLeadBody("note.markup@initech.example", "Note Markup", "Initech"))
		decline := secLeadMail(t, s, id, "offer", 5*time.Second).Links[1].URL
		note := `<script>alert("note")</script>"><img src=x onerror=alert(3)>`
		manager := e.browser(t, "max.becker@example.com")
		guard(t, s, secAction, func() {
			expect(t, e.confirm(t, decline, url.Values{"reason": {"other"}, "note": {note}}), 200)
		})
		guard(t, s, secNothing, func() {
			for _, p := range []string{"/leads/" + id, "/campaigns/webinar-q3"} {
				page := secSend(t, secReq{Method: "GET", URL: s.URL + p, Client: manager})
				expect(t, page, 200)
				expectf(t, !strings.Contains(page.Body, note) && !strings.Contains(page.Body, "<script>alert"), "%s shows the note unescaped", p)
			}
		})
	})
	t.Run("Finding4_NULInReassignReason", func(t *testing.T) {
		// A manager's free-text reason holding a NUL: refused (400, nothing
		// changed), or done with the record clean; never a workflow that
		// fails or hangs on text PostgreSQL refuses (SQLSTATE 22021).
		id := e.newLead(t, secLeadBody("note.nul@initech.example", "Note Nul", "Initech"))
		link := e.mint(token.Claims{Lead: id, Actor: "max-manager", Action: "reassign", Attempt: 1})
		var r secResp
		changes := guard(t, s, secAction, func() {
			r = e.confirm(t, link, url.Values{"reason": {"moving it\x00now"}})
		})
		switch r.Code {
		case 400:
			for _, c := range changes {
				t.Errorf("refused, yet changed: %s", c)
			}
		case 200:
			waitLead(t, s, id, func(v leadState) bool { return v.Attempt == 2 && v.State == string(domain.StateOffered) }, 10*time.Second)
			v := getLead(t, s, id)
			found := false
			for _, ev := range v.Events {
				if ev.Kind == "reassigned" {
					found = true
					expectf(t, !strings.ContainsRune(ev.Reason, 0), "the record holds a NUL: %q", ev.Reason)
				}
			}
			expectf(t, found, "done, but no reassigned event: %+v", v.Events)
		default:
			t.Errorf("answer %d, want 400 (refused) or 200 (done, record clean): %s", r.Code, clip(r.Body))
		}
	})
}
