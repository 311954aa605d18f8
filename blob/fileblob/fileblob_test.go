package fileblob_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/blobtest"
	"github.com/yubinmail/yubin/blob/fileblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// A crash part way through Put leaves a file in tmp: New removes it once
// it is an hour old and keeps younger ones (another process may be
// writing them).
func TestNewRemovesOldTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := fileblob.New(dir); err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, "tmp", "old"), filepath.Join(dir, "tmp", "young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := fileblob.New(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("a 2-hour-old temporary file is still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// Put leaves no temporary file behind, on success and on failure.
func TestPutLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	s, err := fileblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte("hello")
	if err := s.Put(t.Context(), blob.Key(b), bytesReader(b), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), blob.Key([]byte("other")), bytesReader(b), 6); err == nil {
		t.Fatal("short Put succeeded")
	}
	ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(ents) != 0 {
		t.Errorf("tmp holds %d files (%v), want none", len(ents), err)
	}
}
