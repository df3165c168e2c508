package tclient_test

import (
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/config"
	"github.com/batonhq/baton/internal/tclient"
	"go.temporal.io/sdk/client"
)

// TEMPORAL_COMPRESSION: auto gzips only toward Temporal Cloud (an API key),
// where bandwidth costs more than CPU; gzip and none are taken as said, and
// anything else is refused by name.
func TestCompressionSetting(t *testing.T) {
	t.Setenv("SENDGRID_API_KEY", "")
	t.Setenv("BATON_DEV_OUTBOX", "true")
	cases := []struct {
		setting, apiKey string
		gzip            bool
	}{
		{"", "", false}, // the default, auto, on a local network
		{"auto", "", false},
		{"auto", "k3y", true},
		{"gzip", "", true},
		{"none", "k3y", false},
	}
	for _, c := range cases {
		t.Setenv("TEMPORAL_COMPRESSION", c.setting)
		if c.setting == "" {
			os.Unsetenv("TEMPORAL_COMPRESSION")
		}
		t.Setenv("TEMPORAL_API_KEY", c.apiKey)
		cfg, err := config.Load()
		if err != nil {
			t.Fatalf("%q: %v", c.setting, err)
		}
		if got := tclient.Gzip(cfg); got != c.gzip {
			t.Errorf("TEMPORAL_COMPRESSION=%q with API key %q: gzip %v, want %v", c.setting, c.apiKey, got, c.gzip)
		}
		o, err := tclient.Options(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, none := o.ConnectionOptions.GrpcCompression.(*client.GrpcCompressionNone)
		if none == c.gzip {
			t.Errorf("TEMPORAL_COMPRESSION=%q with API key %q: the client's compression is %T", c.setting, c.apiKey, o.ConnectionOptions.GrpcCompression)
		}
	}
	t.Setenv("TEMPORAL_API_KEY", "")
	t.Setenv("TEMPORAL_COMPRESSION", "zstd")
	if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "TEMPORAL_COMPRESSION") {
		t.Errorf("zstd: error %v does not name TEMPORAL_COMPRESSION", err)
	}
}
