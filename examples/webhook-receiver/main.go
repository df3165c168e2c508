// Command webhook-receiver is a minimal receiver of Baton's outbound
// webhooks (docs/webhooks.md): it verifies the signature, drops a delivery
// it has seen (by webhook-id), and prints the event. Only the standard
// library: copy it into your own service.
//
//	BATON_WEBHOOK_SECRET=whsec_… go run ./examples/webhook-receiver -addr :9000
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// verify checks one delivery: a fresh timestamp and a v1 signature over
// "<webhook-id>.<webhook-timestamp>.<body>" keyed by the secret's key.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil || sigs == "" {
		return errors.New("missing signature headers")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too old or in the future")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) { // several during a secret rotation
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no matching signature")
}

// event is the part of the payload this example uses.
type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Lead *struct {
			ID      string `json:"id"`
			Email   string `json:"email"`
			State   string `json:"state"`
			Version int64  `json:"version"`
		} `json:"lead"`
	} `json:"data"`
}

// handler verifies, dedupes by event id and hands each event on once.
func handler(secret string, handle func(event)) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{} // use your database in production
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := verify(secret, r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[ev.ID]
		seen[ev.ID] = true
		mu.Unlock()
		if !dup {
			handle(ev)
		}
		w.WriteHeader(http.StatusNoContent) // 2xx: delivered, also for a duplicate
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Parse()
	secret := os.Getenv("BATON_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("BATON_WEBHOOK_SECRET: required (the whsec_… that `starter webhook add` printed)")
	}
	log.Fatal(http.ListenAndServe(*addr, handler(secret, func(ev event) {
		log.Printf("%s %s", ev.Type, ev.ID)
	})))
}
