package notify

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// bearerClient sends the bot token the way Slack asks today: in an
// Authorization: Bearer header, never in a request body or query string
// (where proxies and logs keep it). slack-go puts it in the form body; this
// client moves it.
type bearerClient struct{ c *http.Client }

func (b bearerClient) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && req.Body != nil {
		raw, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		vals, err := url.ParseQuery(string(raw))
		if err == nil && vals.Get("token") != "" {
			req.Header.Set("Authorization", "Bearer "+vals.Get("token"))
			vals.Del("token")
			raw = []byte(vals.Encode())
		}
		body := string(raw)
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	if q := req.URL.Query(); q.Get("token") != "" {
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+q.Get("token"))
		}
		q.Del("token")
		req.URL.RawQuery = q.Encode()
	}
	return b.c.Do(req)
}

func newBearerClient(hc *http.Client) bearerClient {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return bearerClient{c: hc}
}
