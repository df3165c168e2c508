package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebhookAndSlackSettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookTimeout != 10*time.Second || c.WebhookRetryFor != 24*time.Hour || c.Slack() || c.SlackAPIURL != "https://slack.com/api/" || c.SlackRate != 10 {
		t.Fatalf("defaults: %+v", c)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: set both"},
		{map[string]string{"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: set both"},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN: is not a bot token"},
		{map[string]string{"SLACK_API_URL": "https://slack.com/api"}, `SLACK_API_URL: "https://slack.com/api" is not an http(s) URL ending in /`},
		{map[string]string{"BATON_SLACK_RATE": "-1"}, "BATON_SLACK_RATE: -1 is negative"},
		{map[string]string{"BATON_WEBHOOK_TIMEOUT": "5m"}, "BATON_WEBHOOK_TIMEOUT: 5m0s is not between 100ms and 1m"},
		{map[string]string{"BATON_WEBHOOK_RETRY_FOR": "10s"}, "BATON_WEBHOOK_RETRY_FOR: 10s is shorter than 1m"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
			}
		})
	}
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-1")
	t.Setenv("SLACK_SIGNING_SECRET", "s")
	if c, err := Load(); err != nil || !c.Slack() {
		t.Errorf("both set: %v %v", c.Slack(), err)
	}
}
