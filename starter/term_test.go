package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// hostile is what a lead's form could have stored: a terminal escape that
// clears the screen, a carriage return that overwrites the line, a newline
// that forges one, a bidirectional override, a C1 CSI, invalid UTF-8.
const hostile = "Eve\x1b[2J\rOK\nLead: ld_fake\u202etxt.exe\u2066\u009b31m\xff"

func wantTerminalSafe(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		for _, r := range line {
			if unsafeRune(r) && r != '\t' {
				t.Fatalf("printed %U raw:\n%q", r, out)
			}
		}
	}
	if strings.Contains(out, "\xff") {
		t.Fatalf("printed invalid UTF-8 raw: %q", out)
	}
}

// Issue 15, finding 5: CR, LF, ESC and bidirectional controls from the
// database reached the terminal of `starter lead show`.
func TestLeadShowEscapesStoredText(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	v := store.LeadView{ID: "ld_abcdefghijkmnpqr", Email: "eve@evil.example", Name: hostile, Company: hostile, CampaignName: hostile,
		Campaign: "webinar-q3", State: "Offered", Owner: &store.OwnerView{Name: hostile, Email: "ana@example.com"}, Reason: hostile,
		Events: []store.EventView{{Kind: "rejected", Actor: "rep:" + hostile, Reason: hostile, At: at}}}
	var buf bytes.Buffer
	printLead(&buf, v)
	out := buf.String()
	wantTerminalSafe(t, out)
	if strings.Count("\n"+out, "\nLead:") != 1 {
		t.Fatalf("a stored newline forged a line:\n%s", out)
	}
	if !strings.Contains(out, `Eve\x1b[2J\x0dOK\x0aLead: ld_fake\u202etxt.exe\u2066\x9b31m\xff`) {
		t.Fatalf("the name is not shown escaped:\n%s", out)
	}

	// --json: valid JSON, the same strings once decoded, nothing raw.
	buf.Reset()
	if err := newJSON(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	wantTerminalSafe(t, strings.TrimSuffix(buf.String(), "\n"))
	var back store.LeadView
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Reason != strings.ToValidUTF8(hostile, "\uFFFD") {
		t.Fatalf("JSON round trip: %v %q", err, back.Reason)
	}
}

func TestTerm(t *testing.T) {
	for in, want := range map[string]string{
		"Dana Lee": "Dana Lee", "Zoë Ñúñez 李": "Zoë Ñúñez 李", "a\tb": `a\x09b`, "\x00": `\x00`, "\x7f": `\x7f`,
		"\u200e\u200f\u061c\u2028": `\u200e\u200f\u061c\u2028`, "\xc3": `\xc3`,
	} {
		if got := term(in); got != want {
			t.Errorf("term(%q) = %q, want %q", in, got, want)
		}
	}
}
