package mutf7

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKnownNames(t *testing.T) {
	for _, c := range []struct{ name, enc string }{
		{"Entwürfe", "Entw&APw-rfe"},
		{"a&b", "a&-b"},
		{"日本語", "&ZeVnLIqe-"},
		{"INBOX", "INBOX"},
	} {
		if got := Encode(c.name); got != c.enc {
			t.Errorf("Encode(%q) = %q, want %q", c.name, got, c.enc)
		}
		if got, err := Decode(c.enc); err != nil || got != c.name {
			t.Errorf("Decode(%q) = %q, %v", c.enc, got, err)
		}
	}
	for _, bad := range []string{"&", "&Jjo", "&AGE-"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"Entwürfe", "&", "日本語", "a&b", "\U0001F600x", "~peter/mail/台北/日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := Decode(s); err == nil && Encode(d) != s {
			// Several encodings of one name are not all canonical; the
			// canonical one must round-trip.
			if d2, err := Decode(Encode(d)); err != nil || d2 != d {
				t.Fatalf("decode %q = %q does not round-trip", s, d)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		enc := Encode(s)
		dec, err := Decode(enc)
		if strings.ContainsRune(s, utf8.RuneError) {
			return
		}
		if err != nil || dec != s {
			t.Fatalf("%q -> %q -> %q, %v", s, enc, dec, err)
		}
	})
}

// TestDecodeStrict: RFC 3501's rules for client names on top of
// Decode's: adjacent encoded runs are refused by DecodeStrict only; "&-"
// after a run is an ampersand for both.
func TestDecodeStrict(t *testing.T) {
	for in, want := range map[string]string{"&AOE-&-": "á&", "x&AOEA4Q-y": "xááy", "plain": "plain", "&-": "&"} {
		for _, dec := range []func(string) (string, error){Decode, DecodeStrict} {
			if got, err := dec(in); err != nil || got != want {
				t.Errorf("%q = %q, %v; want %q", in, got, err, want)
			}
		}
	}
	if got, err := Decode("&AOE-&AOE-"); err != nil || got != "áá" {
		t.Errorf("Decode of adjacent runs = %q, %v", got, err)
	}
	for _, bad := range []string{"&AOE-&AOE-", "&AOE", "&AGE-", "caf\xc3\xa9", "&AOE-&AOE"} {
		if got, err := DecodeStrict(bad); err == nil {
			t.Errorf("DecodeStrict(%q) = %q, accepted", bad, got)
		}
	}
}
