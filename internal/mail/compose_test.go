package mail_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin resolves the same on every machine
	"unicode/utf8"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/mail"
	"github.com/batonhq/baton/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	testFrom    = "Baton <baton@example.com>"
	testReplyTo = "olga.owner@example.com"
)

// deadline is Fri 2026-11-20 18:00 UTC, which is 19:00 CET in Berlin.
var deadline = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

var (
	rep     = domain.PersonRef{ID: "p-sam", Name: "Sam Rivera", Email: "sam.rivera@example.com", TimeZone: "Europe/Berlin"}
	nextRep = domain.PersonRef{ID: "p-kim", Name: "Kim Park", Email: "kim.park@example.com", TimeZone: "Europe/Berlin"}
	manager = domain.PersonRef{ID: "p-mia", Name: "Mia Wolf", Email: "mia.wolf@example.com", TimeZone: "Europe/Berlin"}
	owner   = domain.PersonRef{ID: "p-olga", Name: "Olga Owner", Email: testReplyTo, TimeZone: "Europe/Berlin"}
)

// notice is the fixed notice of one kind every test in this package uses.
func notice(kind string) mail.Notice {
	n := mail.Notice{
		Kind: kind,
		Key:  "lead-42:" + kind + ":1:" + rep.ID,
		To:   rep,
		Lead: domain.LeadSnapshot{
			ID: "lead-42", Email: "dana.lee@acme.example", Name: "Dana Lee", Company: "Acme",
			Country: "DE", Score: 72, CampaignID: "c-webinar-q3", Owner: rep, Attempt: 1,
		},
		Campaign: domain.CampaignInfo{
			ID: "c-webinar-q3", Name: "Webinar Q3", Owner: owner, TeamID: "t-emea", Status: "active",
			MinScore: 50, AcceptWindow: 4 * time.Hour, RequiredFields: []string{"company", "country"},
			Collateral: []domain.Collateral{
				{Name: "Webinar recording", URL: "https://example.com/webinar-q3", Stage: "offered"},
				{Name: "Pricing one-pager", URL: "https://example.com/pricing.pdf", Stage: "accepted"},
				{Name: "Case study: Globex", URL: "https://example.com/globex", Stage: "offered"},
			},
		},
		Rep:      rep,
		Deadline: deadline,
	}
	switch kind {
	case mail.KindOffer:
		n.Links = []store.Link{{Label: "Accept lead", URL: "https://baton.example.com/a/tok-offer?x=1&y=2"},
			{Label: "Decline", URL: "https://baton.example.com/a/tok-reject"}}
		n.Timeline = []store.TimelineItem{
			{Kind: "captured", Source: "webinar-form", Score: "40", At: deadline.Add(-50 * time.Hour)},
			{Kind: "touch", Source: "pricing-page", Score: "72", At: deadline.Add(-5 * time.Hour)},
		}
	case mail.KindReassigned:
		n.NextRep = nextRep
	case mail.KindEscalation:
		n.To = manager
		n.Key = "lead-42:" + kind + ":2:" + manager.ID
		n.Lead.Attempt = 2
		n.LeadURL = "https://baton.example.com/leads/lead-42?t=tok-view"
		n.Links = []store.Link{{Label: "Open the lead", URL: n.LeadURL},
			{Label: "Send to the next rep", URL: "https://baton.example.com/a/tok-reassign"},
			{Label: "Take it myself", URL: "https://baton.example.com/a/tok-takeover"},
			{Label: "Extend once", URL: "https://baton.example.com/a/tok-extend"}}
	case mail.KindReminder:
		n.Phase = "accept"
		n.Level = 1
		n.Links = []store.Link{{Label: "Accept lead", URL: "https://baton.example.com/a/tok-offer"}}
	case mail.KindLeader:
		n.To = manager
		n.Level = 3
		n.LeadURL = "https://baton.example.com/leads/lead-42?t=tok-view"
		n.Links = []store.Link{{Label: "Open the lead", URL: n.LeadURL}}
	case mail.KindHanded:
		n.To, n.Rep, n.From = nextRep, nextRep, manager
		n.Phase = "contact"
		n.Reason = "Sam is out sick"
		n.LeadURL = "https://baton.example.com/leads/lead-42?t=tok-view"
		n.Links = []store.Link{{Label: "Log contact", URL: "https://baton.example.com/a/tok-contact"}, {Label: "Open the lead", URL: n.LeadURL}}
	case mail.KindNudge:
		n.From = manager
		n.Phase = "contact"
		n.Reason = "they asked for a call today"
		n.Links = []store.Link{{Label: "Log contact", URL: "https://baton.example.com/a/tok-contact"}}
	case mail.KindUnreachable:
		n.To = manager
		n.Key = "lead-42:" + kind + ":accept:1:0:" + manager.ID
		n.Reason = "the offer bounced (550 5.1.1 mailbox does not exist)"
		n.LeadURL = "https://baton.example.com/leads/lead-42?t=tok-view"
		n.Links = []store.Link{{Label: "Open the lead", URL: n.LeadURL}}
	}
	return n
}

func compose(t *testing.T, n mail.Notice) store.Message {
	t.Helper()
	replyTo := ""
	if n.Kind == mail.KindOffer {
		replyTo = testReplyTo
	}
	m, err := mail.Compose(n, testFrom, replyTo)
	if err != nil {
		t.Fatalf("Compose(%s): %v", n.Kind, err)
	}
	return m
}

var kinds = []string{mail.KindOffer, mail.KindReassigned, mail.KindEscalation, mail.KindReminder, mail.KindLeader, mail.KindUnreachable,
	mail.KindHanded, mail.KindNudge}

func TestComposeGolden(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			m := compose(t, notice(kind))
			golden(t, kind+".txt", m.Text)
			golden(t, kind+".html", m.HTML)
		})
	}
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./internal/mail -run TestComposeGolden -update` to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (rerun with -update if the change is intended)\n%s", name, path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines that differ; enough to see what moved.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		if shown++; shown == 5 {
			b.WriteString("…\n")
			break
		}
	}
	return b.String()
}

func TestSubjects(t *testing.T) {
	want := map[string]string{
		mail.KindOffer:       "Accept by Fri 19:00 — Dana Lee, Acme (Webinar Q3)",
		mail.KindReassigned:  "Reassigned to Kim Park — Dana Lee, Acme (Webinar Q3)",
		mail.KindEscalation:  "Escalation: Sam Rivera missed the acceptance SLA — Dana Lee, Acme",
		mail.KindReminder:    "Reminder: accept by Fri 19:00 — Dana Lee, Acme (Webinar Q3)",
		mail.KindLeader:      "Leadership alert: Sam Rivera missed 3 SLA deadlines — Dana Lee, Acme",
		mail.KindUnreachable: "Unreachable: Sam Rivera did not get the offer — Dana Lee, Acme",
		mail.KindHanded:      "Handed to you: contact by Fri 19:00 — Dana Lee, Acme (Webinar Q3)",
		mail.KindNudge:       "Mia Wolf asks: log your first contact — Dana Lee, Acme",
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			n := notice(kind)
			if got := n.Subject(); got != want[kind] {
				t.Errorf("Subject() = %q, want %q", got, want[kind])
			}
			m := compose(t, n)
			if m.Subject != want[kind] {
				t.Errorf("Compose subject = %q, want %q", m.Subject, want[kind])
			}
			// Short: fits one RFC 5322 line and a phone's inbox row.
			if l := utf8.RuneCountInString(m.Subject); l > 78 {
				t.Errorf("subject is %d characters, want at most 78: %q", l, m.Subject)
			}
			if strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject has a line break: %q", m.Subject)
			}
			// Specific: names the lead, and the offer names its deadline.
			if !strings.Contains(m.Subject, "Dana Lee, Acme") {
				t.Errorf("subject does not name the lead: %q", m.Subject)
			}
		})
	}
}

func TestSubjectTimeZone(t *testing.T) {
	n := notice(mail.KindOffer)
	n.To.TimeZone = "America/New_York" // 13:00 EST
	if got, want := n.Subject(), "Accept by Fri 13:00 — Dana Lee, Acme (Webinar Q3)"; got != want {
		t.Errorf("New York: Subject() = %q, want %q", got, want)
	}
	for _, tz := range []string{"", "Not/AZone"} {
		n.To.TimeZone = tz
		if got, want := n.Subject(), "Accept by Fri 18:00 — Dana Lee, Acme (Webinar Q3)"; got != want {
			t.Errorf("time zone %q: Subject() = %q, want UTC %q", tz, got, want)
		}
		m := compose(t, n)
		if !strings.Contains(m.Text, "Fri 20 Nov 18:00 UTC") {
			t.Errorf("time zone %q: text does not show the deadline in UTC:\n%s", tz, m.Text)
		}
	}
}

func TestBodiesShowDeadlineInRecipientZone(t *testing.T) {
	for _, kind := range kinds {
		m := compose(t, notice(kind))
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if !strings.Contains(body, "Fri 20 Nov 19:00 CET") {
				t.Errorf("%s %s body does not show the deadline in Berlin time", kind, part)
			}
		}
	}
}

func TestWho(t *testing.T) {
	for _, c := range []struct {
		name, email, company, want string
	}{
		{"Dana Lee", "dana@acme.example", "Acme", "Dana Lee, Acme"},
		{"Dana Lee", "dana@acme.example", "", "Dana Lee"},
		{"", "dana@acme.example", "Acme", "dana@acme.example, Acme"},
		{"", "dana@acme.example", "", "dana@acme.example"},
	} {
		n := mail.Notice{Lead: domain.LeadSnapshot{Name: c.name, Email: c.email, Company: c.company}}
		if got := n.Who(); got != c.want {
			t.Errorf("Who(%q, %q, %q) = %q, want %q", c.name, c.email, c.company, got, c.want)
		}
	}
}

func TestComposeMessageFields(t *testing.T) {
	n := notice(mail.KindOffer)
	m := compose(t, n)
	if m.Key != n.Key || m.Kind != mail.KindOffer || m.To != rep.Email || m.ToName != rep.Name ||
		m.From != testFrom || m.ReplyTo != testReplyTo {
		t.Errorf("message fields: %+v", m)
	}
	if len(m.Links) != 2 || m.Links[0] != n.Links[0] || m.Links[1] != n.Links[1] {
		t.Errorf("links = %+v, want %+v", m.Links, n.Links)
	}
	if !strings.HasSuffix(m.Text, "\n") || strings.HasSuffix(m.Text, "\n\n") {
		t.Errorf("text should end in exactly one newline: %q", m.Text[max(0, len(m.Text)-20):])
	}
}

func TestComposeUnknownKind(t *testing.T) {
	if _, err := mail.Compose(notice("nonsense"), testFrom, ""); err == nil {
		t.Fatal("Compose of an unknown kind: want an error")
	}
}

func TestHTMLEscapesLeadFields(t *testing.T) {
	const evil = `Dana <script>alert("x")</script> Lee`
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			n := notice(kind)
			n.Lead.Name = evil
			n.Lead.Company = `Acme & <b>Sons</b>`
			m := compose(t, n)
			if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "<b>Sons") {
				t.Errorf("HTML carries unescaped markup from the lead:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "&lt;script&gt;") {
				t.Errorf("HTML does not show the escaped name:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "Acme &amp; &lt;b&gt;Sons&lt;/b&gt;") {
				t.Errorf("HTML does not show the escaped company:\n%s", m.HTML)
			}
			// Plain text is not HTML: it shows the name as typed.
			if !strings.Contains(m.Text, evil) {
				t.Errorf("text does not show the name as typed:\n%s", m.Text)
			}
		})
	}
}

// hostile is text an attacker can put in a lead, a person's or a campaign's
// name: a header break, a terminal escape, a bidirectional override, a C1 CSI.
const hostile = "Eve\r\nBcc: all@evil.example\x1b[2J\u202egnp.exe\u2066\u0085\u009b31m\x00"

func wantCleanHeader(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if mail.Unsafe(r) {
			t.Errorf("%s %q holds %U", what, s, r)
		}
	}
	if strings.Contains(s, "  ") || s != strings.TrimSpace(s) {
		t.Errorf("%s %q has runs of spaces", what, s)
	}
}

// Issue 15, finding 5: CR, LF, ESC and bidirectional controls reached email
// subjects and display names.
func TestHeadersCarryNoControlCharacters(t *testing.T) {
	for _, kind := range kinds {
		n := notice(kind)
		n.Lead.Name, n.Lead.Company, n.Campaign.Name = hostile, hostile, hostile
		n.Rep.Name, n.NextRep.Name, n.To.Name = hostile, hostile, hostile
		m := compose(t, n)
		wantCleanHeader(t, kind+" subject", m.Subject)
		wantCleanHeader(t, kind+" to name", m.ToName)
		if !strings.Contains(m.Subject, "Eve Bcc: all@evil.example [2J gnp.exe 31m") && !strings.Contains(m.Subject, "Eve Bcc") {
			t.Errorf("%s subject lost the visible text: %q", kind, m.Subject)
		}
	}
	for _, kind := range mail.CampaignKinds {
		n := campaignNotice(kind)
		n.Campaign.Name, n.To.Name = hostile, hostile
		m, err := mail.ComposeCampaign(n, testFrom)
		if err != nil {
			t.Fatal(err)
		}
		wantCleanHeader(t, kind+" subject", m.Subject)
		wantCleanHeader(t, kind+" to name", m.ToName)
	}
	if got := mail.HeaderText("a\tb\xffc"); got != "a b\uFFFDc" {
		t.Errorf("HeaderText: %q", got)
	}
}

// TestPhoneIsATelLink: the offer and the first-contact reminder carry the
// lead's phone as a tel: link (and the reminder a mailto); a phone not in
// the stored form never becomes a link.
func TestPhoneIsATelLink(t *testing.T) {
	offer := notice(mail.KindOffer)
	offer.Lead.Phone = "+4930123456"
	m := compose(t, offer)
	if !strings.Contains(m.HTML, `<a href="tel:&#43;4930123456">&#43;4930123456</a>`) || !strings.Contains(m.Text, "Phone:     +4930123456 (tel:+4930123456)") {
		t.Fatalf("offer without its tel link:\n%s\n%s", m.HTML, m.Text)
	}
	rem := notice(mail.KindReminder)
	rem.Phase, rem.Lead.Phone = "contact", "+4930123456"
	m = compose(t, rem)
	if !strings.Contains(m.HTML, `Call <a href="tel:&#43;4930123456">`) || !strings.Contains(m.HTML, `href="mailto:`+rem.Lead.Email+`"`) ||
		!strings.Contains(m.Text, "Call:      +4930123456") {
		t.Fatalf("first-contact reminder without call and mail links:\n%s\n%s", m.HTML, m.Text)
	}
	rem.Phase = "accept" // an accept reminder is before the rep holds the lead
	if m = compose(t, rem); strings.Contains(m.HTML, "tel:") {
		t.Fatal("accept reminder shows the phone link")
	}
	offer.Lead.Phone = "javascript:alert(1)"
	if m = compose(t, offer); strings.Contains(m.HTML, "javascript") && strings.Contains(m.HTML, `href="javascript`) || strings.Contains(m.HTML, "tel:") {
		t.Fatalf("a bad phone became a link:\n%s", m.HTML)
	}
	offer.Lead.Phone = ""
	if m = compose(t, offer); strings.Contains(m.HTML, "Phone") || strings.Contains(m.Text, "Phone:") {
		t.Fatal("no phone, yet a phone row")
	}
}

// TestComposeBatch: one email for the queued escalations, each lead's
// section under its own heading with its own links, in arrival order; a
// viewport for phones; a subject that names no lead.
func TestComposeBatch(t *testing.T) {
	var items []store.BatchItem
	for _, who := range []string{"Dana Lee", "Lee Park"} {
		n := notice(mail.KindEscalation)
		n.Lead.Name, n.Phase = who, "contact"
		n.Links = []store.Link{{Label: "Open the lead", URL: "https://baton.example.com/leads/" + strings.ReplaceAll(who, " ", "") + "?t=x"}}
		m := compose(t, n)
		if m.Part == nil || !strings.HasPrefix(m.Part.Text, "--- "+m.Subject) {
			t.Fatalf("escalation part: %+v", m.Part)
		}
		items = append(items, store.BatchItem{Key: who, Subject: m.Subject, Part: *m.Part, Links: m.Links})
	}
	m, err := mail.ComposeBatch(store.Batch{Key: "batch:escalation:max@example.com:1", Recipient: "max@example.com", Kind: mail.KindEscalation,
		ToName: "Max Becker", Items: items}, "baton@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "2 escalations need you" || strings.Contains(m.Subject, "Dana") || m.Kind != mail.KindEscalation || len(m.Links) != 2 {
		t.Fatalf("batch: %q %q %d links", m.Subject, m.Kind, len(m.Links))
	}
	if !strings.Contains(m.HTML, `name="viewport"`) || strings.Index(m.HTML, "Dana Lee") > strings.Index(m.HTML, "Lee Park") ||
		strings.Count(m.HTML, "<h2") != 2 || !strings.Contains(m.Text, "https://baton.example.com/leads/LeePark?t=x") {
		t.Fatalf("batch body:\n%s\n%s", m.HTML, m.Text)
	}
}
