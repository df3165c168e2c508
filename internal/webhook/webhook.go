// Package webhook delivers Baton's outbound webhooks. Events are queued in
// PostgreSQL in the same transaction as the lead or campaign event they
// report (internal/store); the worker's Dispatcher drains that outbox,
// signs each delivery the Standard Webhooks way and retries with
// exponential backoff for a retry window (24 h by default), then marks it
// failed. No workflow waits on a receiver.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Headers of every delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Sign returns the webhook-signature value for one delivery: "v1," and the
// base64 HMAC-SHA256, keyed by the secret's key, of id.timestamp.body.
func Sign(secret, id string, ts int64, body []byte) (string, error) {
	key, err := store.WebhookKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts, body)), nil
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s.%d.", id, ts)
	h.Write(body)
	return h.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp   = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature   = errors.New("webhook: no matching signature")
)

// Verify checks a delivery as a receiver would: the timestamp within
// tolerance of now, and one of the space-separated v1 signatures matching.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsRaw, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsRaw == "" || sigs == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	key, err := store.WebhookKey(secret)
	if err != nil {
		return err
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// Defaults of the Dispatcher's knobs.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultRetryFor = 24 * time.Hour
	DefaultBackoff  = 5 * time.Second
	MaxBackoff      = time.Hour
	DefaultPoll     = time.Second
	DefaultBatch    = 16
)

// Dispatcher drains the webhook outbox. Run one per worker; several
// workers share the work (each delivery is leased).
type Dispatcher struct {
	Store    *store.Store
	Client   *http.Client  // nil: a client with Timeout
	Timeout  time.Duration // one attempt; zero means DefaultTimeout
	RetryFor time.Duration // how long a delivery is retried; zero means DefaultRetryFor
	Backoff  time.Duration // the first retry's delay, doubled each time up to MaxBackoff
	Poll     time.Duration // how often an idle dispatcher looks for due deliveries
	Batch    int
	Log      *slog.Logger
	Metrics  *Metrics // nil: none
	Now      func() time.Time
}

// Metrics are the dispatcher's Prometheus series.
type Metrics struct {
	Attempts *prometheus.CounterVec // by result: delivered, retry, failed
}

// NewMetrics registers the webhook metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "baton_webhook_deliveries_total",
		Help: "Outbound webhook delivery attempts, by result: delivered, retry (will be tried again) or failed (the retry window is over)."},
		[]string{"result"})}
	reg.MustRegister(m.Attempts)
	return m
}

func (d *Dispatcher) defaults() {
	if d.Timeout <= 0 {
		d.Timeout = DefaultTimeout
	}
	if d.RetryFor <= 0 {
		d.RetryFor = DefaultRetryFor
	}
	if d.Backoff <= 0 {
		d.Backoff = DefaultBackoff
	}
	if d.Poll <= 0 {
		d.Poll = DefaultPoll
	}
	if d.Batch <= 0 {
		d.Batch = DefaultBatch
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: d.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not a delivery
		}}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
}

// Run drains the outbox until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	for ctx.Err() == nil {
		n, err := d.DrainOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("webhook outbox", "error", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(d.Poll):
			}
		}
	}
}

// DrainOnce sends the deliveries due now, in parallel, and reports how many.
func (d *Dispatcher) DrainOnce(ctx context.Context) (int, error) {
	d.defaults()
	ds, err := d.Store.ClaimDeliveries(ctx, d.Batch, d.Timeout+30*time.Second)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	for i, dl := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Store.FinishDelivery(ctx, dl.ID, d.attempt(ctx, dl))
		}()
	}
	wg.Wait()
	return len(ds), errors.Join(errs...)
}

// SendNow attempts the deliveries of one event at once and returns what
// came of each; one not delivered stays queued for the worker's retries.
func (d *Dispatcher) SendNow(ctx context.Context, eventID string) ([]store.DeliveryOutcome, error) {
	d.defaults()
	ds, err := d.Store.ClaimDeliveryOf(ctx, eventID, d.Timeout+30*time.Second)
	if err != nil {
		return nil, err
	}
	out := make([]store.DeliveryOutcome, len(ds))
	for i, dl := range ds {
		out[i] = d.attempt(ctx, dl)
		if err := d.Store.FinishDelivery(ctx, dl.ID, out[i]); err != nil {
			return out, err
		}
	}
	return out, nil
}

// BackoffAfter is the delay after the nth failed attempt.
func (d *Dispatcher) BackoffAfter(n int) time.Duration {
	d.defaults()
	b := d.Backoff
	for i := 1; i < n && b < MaxBackoff; i++ {
		b *= 2
	}
	return min(b, MaxBackoff)
}

// attempt sends one delivery and says what came of it.
func (d *Dispatcher) attempt(ctx context.Context, dl store.Delivery) store.DeliveryOutcome {
	status, err := d.send(ctx, dl)
	if err == nil {
		d.count("delivered")
		return store.DeliveryOutcome{Delivered: true, Status: status}
	}
	o := store.DeliveryOutcome{Status: status, Error: err.Error()}
	next := d.Now().Add(d.BackoffAfter(dl.Attempts))
	if next.Sub(dl.CreatedAt) > d.RetryFor {
		o.Failed = true
		d.count("failed")
		d.Log.Error("webhook delivery failed for good", "event", dl.EventID, "type", dl.Type, "subscription", dl.SubscriptionID,
			"url", dl.URL, "attempts", dl.Attempts, "error", err)
		return o
	}
	o.NextAt = next
	d.count("retry")
	return o
}

func (d *Dispatcher) count(result string) {
	if d.Metrics != nil {
		d.Metrics.Attempts.WithLabelValues(result).Inc()
	}
}

// send POSTs the signed payload; any 2xx is delivered.
func (d *Dispatcher) send(ctx context.Context, dl store.Delivery) (int, error) {
	ts := d.Now().Unix()
	sig, err := Sign(dl.Secret, dl.EventID, ts, dl.Payload)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Baton-Webhooks/1")
	req.Header.Set(HeaderID, dl.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%s answered %d: %s", dl.URL, resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return resp.StatusCode, nil
}
