package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/domain"
)

// hostileLeads are single leads whose text no field may hold, with the field
// the 400 must name (issue 15, finding 4).
var hostileLeads = map[string][]byte{
	"name":         []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","name":"Dana\u0000Lee"}`),
	"company":      []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","company":"Acme\u202eevil"}`),
	"source":       []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","source":"form\u001b[2J"}`),
	"region":       []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","region":"EU\r\nX: y"}`),
	"industry":     []byte("{\"campaign\":\"webinar-q3\",\"email\":\"dana@acme.example\",\"industry\":\"bad \xff\xfe utf8\"}"),
	"company_size": []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","company_size":"\u0085"}`),
	"email":        []byte(`{"campaign":"webinar-q3","email":"dana@acme.example\u0000"}`),
	"phone":        []byte(`{"campaign":"webinar-q3","email":"dana@acme.example","phone":"+49 30\u0000123456"}`),
}

func fields(out map[string]any) []string {
	var got []string
	errs, _ := out["errors"].([]any)
	for _, e := range errs {
		f, _ := e.(map[string]any)["field"].(string)
		got = append(got, f)
	}
	return got
}

func TestIntakeRefusesControlCharactersNamingTheField(t *testing.T) {
	e := newHandlerEnv(t, 1000, 1000)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	for field, body := range hostileLeads {
		resp, out := e.send("POST", "/api/v1/leads", body, auth)
		if resp.StatusCode != http.StatusBadRequest || strings.Join(fields(out), ",") != field {
			t.Errorf("%s: %d %v", field, resp.StatusCode, out)
		}
	}
	e.nothingChanged()
}

// A batch holding one such item is refused whole, before anything is
// written; the good items gain nothing (the campaign here is not live, so
// before the fix they were each answered 400 inside a 207).
func TestBatchWithHostileTextIsRefusedWhole(t *testing.T) {
	e := newHandlerEnv(t, 1000, 1000)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	body := []byte(`[{"campaign":"webinar-q3","email":"good@acme.example","name":"Good"},` +
		`{"campaign":"webinar-q3","email":"nul@acme.example","name":"A\u0000"},` +
		"{\"campaign\":\"webinar-q3\",\"email\":\"bad@acme.example\",\"company\":\"\xc3\"}]")
	resp, out := e.send("POST", "/api/v1/leads", body, auth)
	if resp.StatusCode != http.StatusBadRequest || strings.Join(fields(out), ",") != "[1].name,[2].company" {
		t.Fatalf("batch: %d %v", resp.StatusCode, out)
	}
	e.nothingChanged()
}

func TestEventRefusesInvalidUTF8(t *testing.T) {
	e := newHandlerEnv(t, 1000, 1000)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	resp, out := e.send("POST", "/api/v1/leads/ld_aaaaaaaaaaaaaaaa/events", []byte("{\"id\":\"ev-1\",\"type\":\"web\xffinar\"}"), auth)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(strings.Join(fields(out), ","), "type") {
		t.Fatalf("event: %d %v", resp.StatusCode, out)
	}
	e.nothingChanged()
}

// FuzzDecodeLead: whatever the intake decoder accepts has only text every
// field may hold, whatever the bytes; it never panics; refused text is
// reported as FieldErrors naming a field.
func FuzzDecodeLead(f *testing.F) {
	for _, b := range hostileLeads {
		f.Add(b)
	}
	f.Add([]byte(lead))
	f.Add([]byte(`{"campaign":"webinar-q3","email":"dana@acme.example","name":"Zoë \ud83d\ude80","score":5}`))
	f.Add([]byte(`{"campaign":"webinar-q3","email":"x@y.z","name":"\ud800"}`))
	f.Add([]byte(`{"campaign":"webinar-q3","email":"x@y.z"} {}`))
	f.Add([]byte(`{"campaign":"webinar-q3","email":"x@y.z","nam\xffe":"a"}`))
	f.Add([]byte(`[{"campaign":"a"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := decodeLead(raw)
		var fe domain.FieldErrors
		if errors.As(err, &fe) {
			for _, e := range fe {
				if e.Field == "" {
					t.Fatalf("unnamed field error %v for %q", fe, raw)
				}
			}
			return
		}
		if err != nil {
			return
		}
		for _, s := range []string{req.Campaign, req.Email, req.Name, req.Company, req.Country, req.Source, req.Region, req.Industry, req.CompanySize} {
			if !utf8.ValidString(s) || domain.TextProblem(s) != "" {
				t.Fatalf("accepted %q with field %q", raw, s)
			}
		}
		// Accepted input had valid UTF-8 in every string, so re-encoding is lossless.
		var again domain.LeadRequest
		b, _ := json.Marshal(req)
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&again); err != nil || again.Name != req.Name {
			t.Fatalf("round trip of %q: %v", raw, err)
		}
	})
}

// A malformed phone is a 400 naming the field and saying what is wrong,
// alone and inside a batch; nothing is written.
func TestIntakeRefusesAMalformedPhone(t *testing.T) {
	e := newHandlerEnv(t, 1000, 1000)
	auth := map[string]string{"Authorization": "Bearer " + e.creds.APIKey}
	for phone, detail := range map[string]string{
		"+49 30 12x456": "has 'x'", "12": "at least 4", "+49 (30) 1234 5678 9012 34": "at most 15", "49+30123": "not at the start",
	} {
		body, _ := json.Marshal(map[string]any{"campaign": "webinar-q3", "email": "dana@acme.example", "phone": phone})
		resp, out := e.send("POST", "/api/v1/leads", body, auth)
		errs, _ := out["errors"].([]any)
		if resp.StatusCode != http.StatusBadRequest || strings.Join(fields(out), ",") != "phone" || len(errs) != 1 ||
			!strings.Contains(errs[0].(map[string]any)["detail"].(string), detail) {
			t.Errorf("phone %q: %d %v", phone, resp.StatusCode, out)
		}
	}
	body := []byte(`[{"campaign":"webinar-q3","email":"good@acme.example","phone":"+49 30 123456"},{"campaign":"webinar-q3","email":"bad@acme.example","phone":"call me"}]`)
	resp, out := e.send("POST", "/api/v1/leads", body, auth)
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
		t.Fatalf("batch with a bad phone: %d %v", resp.StatusCode, out)
	}
	e.nothingChanged()
}
