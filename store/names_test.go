package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"INBOX", "Sent", "Archive/2024", "Entwürfe", "a.b", "x y", strings.Repeat("a", 255)}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "/etc", "a/", "a//b", "..", "a/../b", ".", "a/./b", "nul\x00x", "tab\tx",
		"\xff\xfe", strings.Repeat("a", 256), strings.Repeat("a/", 600) + "a"}
	for _, n := range bad {
		if err := ValidateName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{"inbox": "INBOX", "InBoX/Sub": "INBOX/Sub", "Inboxes": "Inboxes", "Sent": "Sent"} {
		if got := CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"INBOX", "a/../b", "/x", "a\x00", "Archive/2024"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		// A valid name never climbs out of the directory it is joined to.
		for _, level := range strings.Split(name, "/") {
			if level == ".." || level == "." || level == "" || strings.ContainsRune(level, 0) {
				t.Fatalf("accepted %q", name)
			}
		}
	})
}
