package blobtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/blobtest"
	"github.com/yubinmail/yubin/blob/fileblob"
)

// broken wraps fileblob with one fault, named by $BLOBTEST_FAULT.
type broken struct {
	*fileblob.Store
	fault string
}

func (s broken) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	switch s.fault {
	case "overwrite": // replaces what is stored
		s.Store.Delete(ctx, key)
	case "lenient": // stores what the reader yields up to size, short or not
		var b bytes.Buffer
		for int64(b.Len()) < size && ctx.Err() == nil {
			if _, err := io.CopyN(&b, r, min(size-int64(b.Len()), 64<<10)); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.Store.Put(ctx, key, &b, int64(b.Len()))
	}
	return s.Store.Put(ctx, key, r, size)
}

func (s broken) Open(ctx context.Context, key string) (blob.Reader, error) {
	r, err := s.Store.Open(ctx, key)
	if s.fault == "plainerror" && errors.Is(err, blob.ErrNotFound) {
		return nil, errors.New("no such blob")
	}
	return r, err
}

// TestBrokenStore runs the suite on a faulty store when the parent test
// asks for it.
func TestBrokenStore(t *testing.T) {
	fault := os.Getenv("BLOBTEST_FAULT")
	if fault == "" {
		t.Skip("run by TestSuiteFindsFaults")
	}
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fileblob.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return broken{s, fault}
	})
}

// The suite fails a store with a fault, in the subtest about it.
func TestSuiteFindsFaults(t *testing.T) {
	for fault, subtests := range map[string][]string{
		"overwrite":  {"PutExisting"},
		"lenient":    {"PutShortReader", "PutLongReader"},
		"plainerror": {"OpenMissing", "Delete"},
	} {
		t.Run(fault, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBrokenStore$", "-test.v", "-test.timeout=4m")
			cmd.Env = append(os.Environ(), "BLOBTEST_FAULT="+fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with fault %s", fault)
			}
			for _, name := range subtests {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenStore/"+name+" ") {
					t.Errorf("fault %s: subtest %s did not fail:\n%s", fault, name, out)
				}
			}
		})
	}
}
