package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/testenv"
)

// TestWorkerServesMetrics runs the worker binary as shipped and scrapes its
// BATON_METRICS_ADDR: the SDK's worker metrics are there.
func TestWorkerServesMetrics(t *testing.T) {
	s := startStackOpts(t, false)
	w := buildWorker(t, s)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	w.env = append(w.env, fmt.Sprintf("BATON_METRICS_ADDR=127.0.0.1:%d", port))
	w.start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err == nil {
			body := new(strings.Builder)
			buf := make([]byte, 64<<10)
			for {
				n, rerr := resp.Body.Read(buf)
				body.WriteString(string(buf[:n]))
				if rerr != nil {
					break
				}
			}
			resp.Body.Close()
			// The worker's start is counted at once, labelled with the task
			// queue (Prometheus-sanitized: dashes become underscores).
			queue := `task_queue="` + strings.ReplaceAll(s.Config.TaskQueue, "-", "_") + `"`
			if resp.StatusCode == 200 && strings.Contains(body.String(), "temporal_worker_start_total{") && strings.Contains(body.String(), queue) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("worker metrics: %d\n%s", resp.StatusCode, body)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("worker metrics: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
