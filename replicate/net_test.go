package replicate

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

func testTLS(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "replica"}, DNSNames: []string{"replica"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	cli := &tls.Config{RootCAs: pool, ServerName: "replica", MinVersion: tls.VersionTLS12}
	return srv, cli
}

// netPair serves B's store on 127.0.0.1 over TLS; A syncs to it.
func netPair(t *testing.T, secret string, maxMsg int64) (*pair, *Dialer, string) {
	t.Helper()
	p := newPair(t)
	srvTLS, cliTLS := testTLS(t)
	srv := &Server{Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		if user != "u" {
			return nil, store.ErrNoSuchUser
		}
		return nopClose{p.B.(maildirLike)}, nil
	}), States: p.eb.States, Secret: "s3cret", TLSConfig: srvTLS, MaxMessageSize: maxMsg}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p, &Dialer{Addr: ln.Addr().String(), TLSConfig: cliTLS, Secret: secret, Partner: "a"}, ln.Addr().String()
}

// nopClose keeps the test's store open when the server closes it; its
// optional interfaces stay visible.
type nopClose struct{ maildirLike }

// maildirLike is a store with maildir's optional interfaces.
type maildirLike interface {
	store.Store
	store.Replica
	store.SpecialUseSetter
}

func (nopClose) Close() error { return nil }

func TestNetworkSyncOverTLS(t *testing.T) {
	p, d, _ := netPair(t, "s3cret", 0)
	appendMsg(t, p.A, "INBOX", "Subject: a\r\n\r\n"+strings.Repeat("x", 200000)+"\r\n", store.Flags{System: store.Seen})
	appendMsg(t, p.B, "INBOX", "Subject: b\r\n\r\nB\r\n", store.Flags{})
	p.B.CreateMailbox(context.Background(), "Remote", store.CreateOptions{})
	for i := 0; i < 2; i++ {
		netSync(t, p, d)
	}
	p.same()
}

// netSync syncs A with the partner reached through d. The partner
// releases the user when it sees the previous session end, which may be
// just after this side closed it: a sync that finds the user busy is
// retried, as the Replicator does.
func netSync(t *testing.T, p *pair, d *Dialer) Stats {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(5 * time.Second); ; {
		re, err := d.Dial(ctx, "u")
		var st Stats
		if err == nil {
			st, err = (&Syncer{}).Sync(ctx, p.ea, re)
			re.Close()
		}
		if errors.Is(err, ErrBusy) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

func TestNetworkWrongSecretRefused(t *testing.T) {
	_, d, _ := netPair(t, "wrong", 0)
	if _, err := d.Dial(context.Background(), "u"); !errors.Is(err, ErrAuth) {
		t.Fatalf("dial with a wrong secret: %v, want ErrAuth", err)
	}
}

// Garbage on one connection closes it; the server goes on serving.
func TestNetworkGarbageThenGoodSync(t *testing.T) {
	p, d, addr := netPair(t, "s3cret", 0)
	c, err := tls.Dial("tcp", addr, d.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("\xff\xff\xff\xffQ garbage garbage"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		// any reply is fine as long as the connection ends
	}
	c.Close()
	re, err := d.Dial(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if _, err := (&Syncer{}).Sync(context.Background(), p.ea, re); err != nil {
		t.Fatal(err)
	}
}

// A message over this side's limit is refused; the rest of the sync
// goes on and nothing is deleted.
func TestNetworkOversizedMessageRefused(t *testing.T) {
	p, d, _ := netPair(t, "s3cret", 1000)
	appendMsg(t, p.A, "INBOX", "big\r\n"+strings.Repeat("x", 5000), store.Flags{})
	appendMsg(t, p.A, "INBOX", "small\r\n", store.Flags{})
	re, err := d.Dial(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	(&Syncer{}).Sync(context.Background(), p.ea, re)
	sb, _ := snapshot(t, p.B)
	got := bodies(sb["INBOX"])
	if _, ok := got["small\r\n"]; !ok {
		t.Error("small message not replicated after the big one was refused")
	}
	if len(got) != 1 {
		t.Errorf("B has %d messages, want 1", len(got))
	}
	sa, _ := snapshot(t, p.A)
	if len(sa["INBOX"].Msgs) != 2 {
		t.Error("A lost a message")
	}
}

// Requests a partner cannot make: invalid mailbox names, appends that
// would reuse a UID, expunges naming another message.
func TestNetworkBadRequestsRefused(t *testing.T) {
	p, d, _ := netPair(t, "s3cret", 0)
	ctx := context.Background()
	uid := appendMsg(t, p.B, "INBOX", "keep\r\n", store.Flags{})
	re, err := d.Dial(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if _, err := re.Begin(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := re.CreateMailbox(ctx, "../../etc", ""); err == nil {
		t.Error("invalid mailbox name accepted")
	}
	re, _ = d.Dial(ctx, "u") // the bad request closed the connection
	defer re.Close()
	re.Begin(ctx, 0)
	if err := re.Append(ctx, "INBOX", Msg{UID: uid, GUID: "replayed"}, strings.NewReader("x\r\n")); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("append under a used UID: %v", err)
	}
	if err := re.Expunge(ctx, "INBOX", []UIDGUID{{uid, "not-its-guid"}}); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("expunge naming another GUID: %v, want store.ErrNoSuchMessage", err)
	}
	sb, _ := snapshot(t, p.B)
	if _, ok := bodies(sb["INBOX"])["keep\r\n"]; !ok {
		t.Error("message removed by an expunge naming another GUID")
	}
}
