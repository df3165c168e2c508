package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/webhook"
)

// TestExampleVerifiesWhatBatonSigns: the documented receiver accepts
// Baton's signature, refuses a tampered body, and hands a redelivery on once.
func TestExampleVerifiesWhatBatonSigns(t *testing.T) {
	secret := store.NewWebhookSecret()
	var got []string
	srv := httptest.NewServer(handler(secret, func(ev event) { got = append(got, ev.ID) }))
	defer srv.Close()
	post := func(body []byte, id string, signed []byte) int {
		ts := time.Now().Unix()
		sig, err := webhook.Sign(secret, id, ts, signed)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL, bytes.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := []byte(`{"id":"evt_1","type":"lead.accepted","data":{"lead":{"id":"l1","version":4}}}`)
	if code := post(body, "evt_1", body); code != 204 {
		t.Fatalf("signed delivery: %d", code)
	}
	if code := post(body, "evt_1", body); code != 204 {
		t.Fatalf("redelivery: %d", code)
	}
	if code := post([]byte(`{"id":"evt_1","type":"lead.declined"}`), "evt_1", body); code != 401 {
		t.Errorf("tampered body: %d, want 401", code)
	}
	if len(got) != 1 || got[0] != "evt_1" {
		t.Errorf("handled %v, want evt_1 once", got)
	}
}
