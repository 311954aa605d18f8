package sievestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	home := t.TempDir()
	return &Store{Dir: filepath.Join(home, "sieve")}, home
}

func TestStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	s, home := newStore(t)
	if l, err := s.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty List = %v, %v", l, err)
	}
	if err := s.Put(ctx, "one", []byte("keep;\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "two", []byte("discard;\r\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(home, "sieve", "tmp")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("tmp dir: %v %v", fi, err)
	}
	if err := s.SetActive(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(home, ".dovecot.sieve"))
	if err != nil || target != "sieve/one.sieve" {
		t.Fatalf("active link = %q, %v; want sieve/one.sieve as Pigeonhole writes it", target, err)
	}
	l, _ := s.List(ctx)
	want := []Script{{"one", 7, true}, {"two", 10, false}}
	if !reflect.DeepEqual(l, want) {
		t.Fatalf("List = %+v, want %+v", l, want)
	}
	if err := s.Delete(ctx, "one"); !errors.Is(err, ErrActive) {
		t.Fatalf("Delete active = %v", err)
	}
	if err := s.Rename(ctx, "one", "two"); !errors.Is(err, ErrExists) {
		t.Fatalf("Rename onto existing = %v", err)
	}
	if err := s.Rename(ctx, "one", "uno"); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.ActiveName(ctx); a != "uno" {
		t.Fatalf("active after rename = %q", a)
	}
	if b, err := s.Get(ctx, "uno"); err != nil || string(b) != "keep;\r\n" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	if _, err := s.Get(ctx, "one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get old name = %v", err)
	}
	if err := s.Put(ctx, "uno", []byte("stop;\r\n")); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.ActiveName(ctx); a != "uno" {
		t.Fatalf("replacing the active script deactivated it: %q", a)
	}
	if err := s.SetActive(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(home, ".dovecot.sieve")); !os.IsNotExist(err) {
		t.Fatalf("link still there after deactivation: %v", err)
	}
	if err := s.SetActive(ctx, ""); err != nil {
		t.Fatalf("deactivating twice: %v", err)
	}
	if err := s.Delete(ctx, "uno"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "uno"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice = %v", err)
	}
	if err := s.SetActive(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetActive missing = %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(home, "sieve", "tmp"))
	if len(ents) != 0 {
		t.Fatalf("tmp/ not empty: %v", ents)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.MaxScripts, s.MaxStorage, s.MaxScriptSize = 2, 20, 15
	var qe *QuotaError
	if err := s.Put(ctx, "a", make([]byte, 16)); !errors.As(err, &qe) || qe.Kind != QuotaMaxSize || qe.Limit != 15 {
		t.Fatalf("too large: %v", err)
	}
	if err := s.Put(ctx, "a", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b", make([]byte, 11)); !errors.As(err, &qe) || qe.Kind != QuotaMaxStorage {
		t.Fatalf("storage: %v", err)
	}
	if err := s.Put(ctx, "b", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "c", nil); !errors.As(err, &qe) || qe.Kind != QuotaMaxScripts || qe.Limit != 2 {
		t.Fatalf("count: %v", err)
	}
	// Replacing frees the old size and adds no script.
	if err := s.HaveSpace(ctx, "b", 10); err != nil {
		t.Fatalf("replace same size: %v", err)
	}
	if err := s.HaveSpace(ctx, "b", 11); !errors.As(err, &qe) || qe.Kind != QuotaMaxStorage {
		t.Fatalf("replace larger: %v", err)
	}
	if got := qe.Error(); got != "Script storage quota exceeded (max 20 bytes)." {
		t.Fatalf("text %q", got)
	}
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	s, home := newStore(t)
	for _, n := range []string{"", "../x", "a/b", "/etc/passwd", "a\x00b", "a\nb", "a\x7fb", "a\u0085b", "a\u2028b", "\xff", strings.Repeat("x", 257), strings.Repeat("x", 250), strings.Repeat("é", 125)} {
		if ValidName(n) {
			t.Errorf("ValidName(%q) = true", n)
		}
		if err := s.Put(ctx, n, []byte("keep;")); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Put(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"a", ".", "..", ".x", "tmp", "日本語", "a b", `a\b`, strings.Repeat("x", 249), strings.Repeat("é", 124)} {
		if !ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
	}
	// "tmp" is a script (tmp.sieve) distinct from the tmp/ directory.
	if err := s.Put(ctx, "tmp", []byte("keep;")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(home)
	if len(ents) != 1 || ents[0].Name() != "sieve" {
		t.Fatalf("files outside the storage: %v", ents)
	}
}

// A link pointing outside the storage, or a regular file in its place,
// is no active script; SetActive keeps such a file as "dovecot.orig".
func TestForeignActive(t *testing.T) {
	ctx := context.Background()
	s, home := newStore(t)
	if err := s.Put(ctx, "mine", []byte("keep;")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, ".dovecot.sieve")
	outside := filepath.Join(home, "mine.sieve")
	os.WriteFile(outside, []byte("discard;"), 0o600)
	os.Symlink(outside, link)
	if a, err := s.ActiveName(ctx); a != "" || err != nil {
		t.Fatalf("link outside storage: active %q, %v", a, err)
	}
	os.Remove(link)
	os.WriteFile(link, []byte("redirect \"x@example.jp\";"), 0o600)
	if a, err := s.ActiveName(ctx); a != "" || err != nil {
		t.Fatalf("regular file: active %q, %v", a, err)
	}
	if err := s.SetActive(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Get(ctx, "dovecot.orig"); err != nil || string(b) != "redirect \"x@example.jp\";" {
		t.Fatalf("dovecot.orig = %q, %v", b, err)
	}
	if a, _ := s.ActiveName(ctx); a != "mine" {
		t.Fatalf("active = %q", a)
	}
	// An absolute link into the storage counts.
	os.Remove(link)
	os.Symlink(filepath.Join(home, "sieve", "mine.sieve"), link)
	if a, _ := s.ActiveName(ctx); a != "mine" {
		t.Fatalf("absolute link: active = %q", a)
	}
}
