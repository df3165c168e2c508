package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

func TestTemplateIDs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"offer=d-123, reminder = d-456", map[string]string{"offer": "d-123", "reminder": "d-456"}, ""},
		{"offer", nil, `entry 1 "offer" is not kind=template-id`},
		{"offer=d-1,Offer=d-2", nil, `entry 2: "Offer" is not a message kind`},
		{"offer=123", nil, `entry 1 (offer): "123" is not a dynamic template id`},
		{"offer=d-1,offer=d-2", nil, "entry 2: kind offer is listed twice"},
	} {
		got, err := Config{SendGridTemplateIDs: c.in}.TemplateIDs()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q, want %q", c.in, k, got[k], v)
			}
		}
	}
}

func TestSendGridVariablesChecked(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	t.Setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.StdEncoding.EncodeToString(der))
	c, err := Load()
	if err != nil {
		t.Fatalf("a valid ECDSA key: %v", err)
	}
	if c.MailRate != 50 || c.MailGrace.String() != "10m0s" || c.SendGridWebhookTolerance.String() != "10m0s" {
		t.Errorf("defaults: rate %v grace %s tolerance %s", c.MailRate, c.MailGrace, c.SendGridWebhookTolerance)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ = x509.MarshalPKIXPublicKey(&rk.PublicKey)
	t.Setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.StdEncoding.EncodeToString(der))
	t.Setenv("SENDGRID_TEMPLATE_IDS", "offer=x")
	t.Setenv("BATON_MAIL_RATE", "-1")
	t.Setenv("BATON_MAIL_GRACE", "10ms")
	_, err = Load()
	for _, want := range []string{"SENDGRID_WEBHOOK_PUBLIC_KEY: is a *rsa.PublicKey", "SENDGRID_TEMPLATE_IDS", "BATON_MAIL_RATE", "BATON_MAIL_GRACE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	t.Setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "not base64!")
	t.Setenv("SENDGRID_TEMPLATE_IDS", "")
	t.Setenv("BATON_MAIL_RATE", "0")
	t.Setenv("BATON_MAIL_GRACE", "1m")
	if _, err = Load(); err == nil || !strings.Contains(err.Error(), "SENDGRID_WEBHOOK_PUBLIC_KEY: is not base64") {
		t.Errorf("bad base64: %v", err)
	}
}
