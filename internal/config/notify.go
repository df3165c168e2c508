package config

import (
	"net/url"
	"strings"
	"time"
)

// checkNotify checks the outbound webhook and Slack settings.
func (c Config) checkNotify(bad func(name, format string, args ...any)) {
	if c.WebhookTimeout < 100*time.Millisecond || c.WebhookTimeout > time.Minute {
		bad("BATON_WEBHOOK_TIMEOUT", "%s is not between 100ms and 1m", c.WebhookTimeout)
	}
	if c.WebhookRetryFor < time.Minute {
		bad("BATON_WEBHOOK_RETRY_FOR", "%s is shorter than 1m", c.WebhookRetryFor)
	}
	if (c.SlackBotToken == "") != (c.SlackSigningSecret == "") {
		bad("SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET", "set both (Slack on: DMs with buttons, and the endpoint that verifies their clicks) or neither")
	}
	if c.SlackBotToken != "" && !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		bad("SLACK_BOT_TOKEN", "is not a bot token (xoxb-…)")
	}
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
		bad("SLACK_API_URL", "%q is not an http(s) URL ending in /", c.SlackAPIURL)
	}
	if c.SlackRate < 0 {
		bad("BATON_SLACK_RATE", "%v is negative", c.SlackRate)
	}
}

// Slack reports whether Slack is set up (a bot token).
func (c Config) Slack() bool { return c.SlackBotToken != "" }
