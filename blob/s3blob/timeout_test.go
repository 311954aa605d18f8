package s3blob_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob/s3blob"
)

// A server that accepts connections and never answers fails New within
// the timeout, with an error that names the endpoint and not the secret.
func TestHungServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	const secret = "HungServerSecret0123"
	start := time.Now()
	_, err = s3blob.OpenURL(t.Context(), "s3://key:"+secret+"@"+l.Addr().String()+"/bucket?tls=false&timeout=500ms")
	took := time.Since(start)
	if err == nil {
		t.Fatal("OpenURL of a server that never answers succeeded")
	}
	if took > 10*time.Second {
		t.Errorf("OpenURL took %v with timeout=500ms", took)
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("error %q should name the endpoint and not the secret", err)
	}
}

// Nothing listening: New fails at once with a clear error.
func TestRefusedConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = s3blob.New(ctx, s3blob.Options{Endpoint: addr, Bucket: "bucket", AccessKey: "k", SecretKey: "RefusedSecret123", Timeout: 10 * time.Second})
	if err == nil || strings.Contains(err.Error(), "RefusedSecret123") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("New with nothing listening: %v; want the refusal, without the secret", err)
	}
}
