package capool

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

func TestLoad(t *testing.T) {
	a, b := testutil.NewTLS(t), testutil.NewTLS(t)
	dir := t.TempDir()
	pemB, _ := os.ReadFile(b.CertFile)
	os.WriteFile(filepath.Join(dir, "b.pem"), pemB, 0o644)
	os.WriteFile(filepath.Join(dir, "junk.txt"), []byte("not a certificate"), 0o644)
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.pem"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)

	pool, err := Load(a.CertFile, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Both CAs are trusted: a's from the file, b's from the directory.
	for _, tc := range []*testutil.TLSFixture{a, b} {
		if _, err := tc.Cert.Leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			t.Errorf("certificate of %s not trusted: %v", tc.CertFile, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "junk.txt"), ""); err == nil {
		t.Error("a file without certificates was accepted")
	}
	if _, err := Load("", filepath.Join(dir, "sub")); !errors.Is(err, ErrNoCertificates) {
		t.Errorf("empty directory: %v, want ErrNoCertificates", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("a missing file was accepted")
	}
}
