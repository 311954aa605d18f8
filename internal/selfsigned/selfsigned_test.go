package selfsigned_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/selfsigned"
)

func Example() {
	certPEM, keyPEM, err := selfsigned.New("mail.example.jp", "example", 24*time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	fmt.Println(err, cert.Leaf.Subject.CommonName, cert.Leaf.DNSNames)
	// Output: <nil> mail.example.jp [mail.example.jp localhost]
}

// The certificate verifies as its own root for its names, for a server.
func TestNewVerifies(t *testing.T) {
	certPEM, keyPEM, err := selfsigned.New("mx.example.jp", "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, name := range []string{"mx.example.jp", "localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example"}); err == nil {
		t.Error("verified for a name it does not carry")
	}
}
