package blobtest_test

import (
	"testing"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/blobtest"
	"github.com/yubinmail/yubin/blob/fileblob"
)

// An implementation's test runs the suite on fresh, empty stores; here
// fileblob in a new directory per subtest.
func Example() {
	_ = func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store {
			s, err := fileblob.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	}
}
