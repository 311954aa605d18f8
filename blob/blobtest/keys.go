package blobtest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/blob"
)

// invalidKeys are refused by every operation: each could name something
// outside a store's namespace, or a second name for a valid key.
var invalidKeys = []string{
	"",
	"..",
	"../" + strings.Repeat("a", 61),
	strings.Repeat("a", 63),
	strings.Repeat("a", 65),
	strings.Repeat("A", 64),
	strings.Repeat("a", 62) + "/x",
	"/" + strings.Repeat("a", 63),
	strings.Repeat("g", 64),
	strings.Repeat("a", 63) + "\x00",
	strings.Repeat("a", 63) + " ",
	strings.Repeat("é", 32),
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	body := []byte("x")
	for _, key := range invalidKeys {
		if err := s.Put(ctx, key, bytes.NewReader(body), 1); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if r, err := s.Open(ctx, key); err == nil {
			r.Close()
			t.Errorf("Open(%q) succeeded", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded", key)
		}
	}
	if got := list(t, ctx, s); len(got) != 0 {
		t.Errorf("List names %d blobs after Puts of invalid keys only", len(got))
	}
}
