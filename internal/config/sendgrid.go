package config

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

var (
	kindRe       = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	templateIDRe = regexp.MustCompile(`^d-[0-9A-Za-z]+$`)
)

// TemplateIDs parses SENDGRID_TEMPLATE_IDS ("offer=d-123,reminder=d-456")
// into a map from message kind to dynamic template id. Empty means none.
func (c Config) TemplateIDs() (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(c.SendGridTemplateIDs) == "" {
		return out, nil
	}
	for i, pair := range strings.Split(c.SendGridTemplateIDs, ",") {
		kind, id, ok := strings.Cut(strings.TrimSpace(pair), "=")
		kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
		switch {
		case !ok:
			return nil, fmt.Errorf("entry %d %q is not kind=template-id", i+1, pair)
		case !kindRe.MatchString(kind):
			return nil, fmt.Errorf("entry %d: %q is not a message kind such as offer or leader-alert", i+1, kind)
		case !templateIDRe.MatchString(id):
			return nil, fmt.Errorf("entry %d (%s): %q is not a dynamic template id (d-…)", i+1, kind, id)
		case out[kind] != "":
			return nil, fmt.Errorf("entry %d: kind %s is listed twice", i+1, kind)
		}
		out[kind] = id
	}
	return out, nil
}

// ParseECDSAPublicKey reads the base64 (DER, PKIX) ECDSA public key SendGrid
// shows for a signed Event Webhook.
func ParseECDSAPublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("is not a PKIX public key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("is a %T, not an ECDSA public key", pub)
	}
	return k, nil
}
