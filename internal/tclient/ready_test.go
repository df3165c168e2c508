package tclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tclient"
	"github.com/batonhq/baton/internal/testenv"
	"go.temporal.io/sdk/client"
)

// TestWorkerReadyz: the worker's probe answers 200 with PostgreSQL and
// Temporal up, and 503 naming Temporal when Temporal does not answer.
func TestWorkerReadyz(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.Database(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	up, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: nopLog{}})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	port, _ := testenv.FreePort()
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(port), Logger: nopLog{}})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()

	for _, c := range []struct {
		name   string
		cl     client.Client
		status int
	}{{"temporal up", up, 200}, {"temporal down", down, 503}} {
		svc := &tclient.Service{Store: st, Temporal: c.cl}
		rec := httptest.NewRecorder()
		svc.Readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body struct {
			Ready  bool
			Checks map[string]string
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.status || body.Ready != (c.status == 200) || body.Checks["postgres"] != "ok" {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		if c.status == 503 && body.Checks["temporal"] == "ok" {
			t.Errorf("%s: temporal check says ok", c.name)
		}
	}
}

type nopLog struct{}

func (nopLog) Debug(string, ...any) {}
func (nopLog) Info(string, ...any)  {}
func (nopLog) Warn(string, ...any)  {}
func (nopLog) Error(string, ...any) {}
