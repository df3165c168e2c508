package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testenv"
)

func TestWebhookDeliveriesForOperators(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.AddWebhook(ctx, "https://crm.example.com/hook", []string{"*"}, store.NewWebhookSecret())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.EnqueueWebhookTest(ctx, h.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := st.ClaimDeliveries(ctx, 10, time.Minute)
	if len(ds) != 1 {
		t.Fatalf("claimed %d", len(ds))
	}
	if err := st.FinishDelivery(ctx, ds[0].ID, store.DeliveryOutcome{Failed: true, Status: 503, Error: "crm.example.com answered 503"}); err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: st, MetricsToken: "ops-token"}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, _ := get("/ops/webhooks", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	code, body := get("/ops/webhooks?status=failed", "ops-token")
	if code != 200 || !strings.Contains(body, ev) || !strings.Contains(body, "503 crm.example.com answered 503") || !strings.Contains(body, "1 failed") {
		t.Errorf("page: %d\n%s", code, body)
	}
	code, body = get("/api/v1/webhooks/deliveries?status=failed", "ops-token")
	var out struct {
		Counts     map[string]int   `json:"counts"`
		Deliveries []store.Delivery `json:"deliveries"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil || out.Counts["failed"] != 1 || len(out.Deliveries) != 1 || out.Deliveries[0].EventID != ev {
		t.Errorf("api: %d %s", code, body)
	}
	if strings.Contains(body, "whsec_") {
		t.Error("the API shows a secret")
	}
	if code, body := get("/api/v1/webhooks/deliveries?status=lost", "ops-token"); code != 400 || !strings.Contains(body, "status: must be") {
		t.Errorf("bad status: %d %s", code, body)
	}
}
