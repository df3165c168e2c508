// Package domain holds Baton's vocabulary and the pure rules that need no
// Temporal, no database and no clock of their own.
package domain

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"
)

// LeadState is where a lead is in its life (see DOMAIN.md, "Life of a lead").
type LeadState string

const (
	StateCaptured     LeadState = "Captured"
	StateNurturing    LeadState = "Nurturing"
	StateMQL          LeadState = "MQL"
	StateOffered      LeadState = "Offered"
	StateEscalated    LeadState = "Escalated"
	StateUnroutable   LeadState = "Unroutable"
	StateAccepted     LeadState = "Accepted"
	StateContacted    LeadState = "Contacted"
	StateConverted    LeadState = "Converted"
	StateDisqualified LeadState = "Disqualified"
	StateRecycled     LeadState = "Recycled"
	StateErased       LeadState = "Erased"
)

// ErasedEmail is what an erased lead's email becomes: unique, and no address.
func ErasedEmail(leadID string) string { return leadID + "@erased.invalid" }

// EraseReasons are why a lead's personal data may be purged.
var EraseReasons = []string{"unsubscribe", "erasure-request"}

// Owned reports whether a rep holds the lead and may work it.
func (s LeadState) Owned() bool { return s == StateAccepted || s == StateContacted }

// Outcomes a rep may close a lead with, and the reasons each accepts.
var (
	DisqualifyReasons = []string{"bad-fit", "no-budget", "student", "competitor", "duplicate", "bad-data"}
	RecycleReasons    = []string{"not-ready", "no-response"}
	RejectReasons     = []string{"not-my-territory", "bad-fit", "duplicate", "bad-data", "no-capacity", "other"}
)

// ValidReason reports whether r is one of reasons.
func ValidReason(r string, reasons []string) bool {
	for _, x := range reasons {
		if x == r {
			return true
		}
	}
	return false
}

// Open reports whether a rep can still accept a lead in this state.
func (s LeadState) Open() bool { return s == StateOffered || s == StateEscalated }

// NormalizeEmail lower-cases and trims an address and checks its shape. The
// normalized address is the lead's business key within a tenant.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s && !strings.EqualFold(a.Address, s) {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || !strings.Contains(a.Address[at:], ".") {
		return "", fmt.Errorf("%q is not an email address with a domain", s)
	}
	return strings.ToLower(a.Address), nil
}

var leadIDEnc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// LeadID derives the stable id of a lead from its normalized email, so the same
// person arriving twice (or a retried webhook) maps to one lead.
func LeadID(normalizedEmail string) string {
	sum := sha256.Sum256([]byte("lead\x00" + normalizedEmail))
	return "ld_" + leadIDEnc.EncodeToString(sum[:10])
}

var leadIDRe = regexp.MustCompile(`^ld_[a-kmnp-z2-9]{16}$`) // leadIDEnc's alphabet: no l, o, 0 or 1

// ValidLeadID reports whether s has the shape LeadID produces.
func ValidLeadID(s string) bool { return leadIDRe.MatchString(s) }

// FieldError names one bad field of a request and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// FieldErrors is a validation failure that lists every bad field.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Detail
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add appends one error; Err returns nil when nothing was added.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Err returns the errors sorted by field, or nil.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	sort.SliceStable(fe, func(i, j int) bool { return fe[i].Field < fe[j].Field })
	return fe
}

// LeadRequest is a lead as a source submits it.
type LeadRequest struct {
	Campaign string `json:"campaign"`
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Company  string `json:"company,omitempty"`
	Country  string `json:"country,omitempty"`
	Score    *int   `json:"score,omitempty"`
	Source   string `json:"source,omitempty"`
	// Phone is optional (see NormalizePhone for what is accepted).
	Phone string `json:"phone,omitempty"`

	// Optional fields territory rules may route on.
	Region      string `json:"region,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
}

// CheckText refuses a request whose text fields hold a control character,
// a bidirectional control or invalid UTF-8 (see TextProblem), naming each.
func (r LeadRequest) CheckText() error {
	var fe FieldErrors
	fe.CheckText("campaign", r.Campaign)
	fe.CheckText("email", r.Email)
	fe.CheckText("name", r.Name)
	fe.CheckText("company", r.Company)
	fe.CheckText("country", r.Country)
	fe.CheckText("source", r.Source)
	fe.CheckText("phone", r.Phone)
	fe.CheckText("region", r.Region)
	fe.CheckText("industry", r.Industry)
	fe.CheckText("company_size", r.CompanySize)
	return fe.Err()
}

var countryRe = regexp.MustCompile(`^[A-Z]{2}$`)

// MaxScore bounds a lead score; anything above is a bug in the source.
const MaxScore = 1000

// Normalize validates a lead request and returns it cleaned up (email
// normalized, country upper-cased, text trimmed), or FieldErrors naming every
// bad field.
func (r LeadRequest) Normalize() (LeadRequest, error) {
	if err := r.CheckText(); err != nil {
		return r, err
	}
	var fe FieldErrors
	out := r
	out.Campaign = strings.TrimSpace(r.Campaign)
	if out.Campaign == "" {
		fe.Add("campaign", "is required")
	} else if !ValidSlug(out.Campaign) {
		fe.Add("campaign", "%q is not a campaign id (lower-case letters, digits and dashes)", out.Campaign)
	}
	if e, err := NormalizeEmail(r.Email); err != nil {
		fe.Add("email", "%s", err.Error())
	} else {
		out.Email = e
	}
	out.Name = strings.TrimSpace(r.Name)
	out.Company = strings.TrimSpace(r.Company)
	out.Source = strings.TrimSpace(r.Source)
	if len(out.Name) > 200 {
		fe.Add("name", "is longer than 200 characters")
	}
	if len(out.Company) > 200 {
		fe.Add("company", "is longer than 200 characters")
	}
	if len(out.Source) > 100 {
		fe.Add("source", "is longer than 100 characters")
	}
	out.Region, out.Industry, out.CompanySize = strings.TrimSpace(r.Region), strings.TrimSpace(r.Industry), strings.TrimSpace(r.CompanySize)
	for field, v := range map[string]string{"region": out.Region, "industry": out.Industry, "company_size": out.CompanySize} {
		if len(v) > 100 {
			fe.Add(field, "is longer than 100 characters")
		}
	}
	out.Country = strings.ToUpper(strings.TrimSpace(r.Country))
	if out.Country != "" && !countryRe.MatchString(out.Country) {
		fe.Add("country", "%q is not an ISO 3166-1 alpha-2 code such as DE or US", r.Country)
	}
	if r.Score != nil && (*r.Score < 0 || *r.Score > MaxScore) {
		fe.Add("score", "%d is outside 0..%d", *r.Score, MaxScore)
	}
	if p, err := NormalizePhone(r.Phone); err != nil {
		fe.Add("phone", "%s", err.Error())
	} else {
		out.Phone = p
	}
	return out, fe.Err()
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s is usable as an id of a team, person or campaign.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }
