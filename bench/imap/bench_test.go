package imapbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
)

// anyPassword accepts every login, like the static passdb with
// nopassword=y the private Dovecot uses: both servers do the same work.
type anyPassword struct{}

func (anyPassword) Mechanisms(*auth.ConnInfo) []string   { return []string{"PLAIN"} }
func (anyPassword) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (anyPassword) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return nil, auth.ErrUnsupportedMechanism
}
func (anyPassword) Login(_ context.Context, _ *auth.ConnInfo, user, _ string) (*auth.Identity, error) {
	return &auth.Identity{User: user}, nil
}

// startYubin serves the Maildirs under homeDir/<user>/Maildir.
func startYubin(tb testing.TB, homeDir string) string {
	noSync := os.Getenv("BENCH_NOSYNC") == "1"
	srv := &imap.Server{
		Authenticator:        anyPassword{},
		MaxUserIPConnections: -1,
		// BenchmarkIdle10k holds 10,000 sessions from one address.
		MaxConnections:           -1,
		LoginMaxConnectionsPerIP: -1,
		// One shared Store per user, as a program would wire it.
		Backend: maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return filepath.Join(homeDir, user, "Maildir"), nil
		}, maildir.Options{NoSync: noSync}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, imap.ErrServerClosed) {
			tb.Error(err)
		}
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// startDovecot runs a private Dovecot 2.3 at its fastest for this load:
// login processes kept warm and reused (service_count = 0).
func startDovecot(tb testing.TB) (*testutil.Dovecot, string) {
	d := testutil.StartDovecot(tb, testutil.DovecotConfig{
		Protocols: "imap",
		Listeners: []string{"imap-login/imap"},
		Extra: fmt.Sprintf(`
default_process_limit = 2000
default_client_limit = 4000
service imap-login {
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = 2000
}
protocol imap {
  mail_max_userip_connections = 10000
}
mail_fsync = %s
`, fsyncMode()),
	})
	return d, d.Addr(tb, "imap-login/imap")
}

// fsyncMode is Dovecot's mail_fsync matching yubin's maildir setting.
func fsyncMode() string {
	if os.Getenv("BENCH_NOSYNC") == "1" {
		return "never"
	}
	return "optimized"
}

// seed appends n messages to the user's INBOX through addr.
func seed(tb testing.TB, addr, user, pass string, n int) {
	l := Load{Addr: addr, User: user, Password: pass}
	c, err := net.Dial("tcp", l.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	cc := &conn{nc: c, br: newReader(c)}
	cc.br.ReadString('\n')
	if _, err := cc.cmd("LOGIN " + user + " " + pass); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("From: seed%d@example.org\r\nTo: %s@example.org\r\nSubject: seed message %d\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <seed%d@bench>\r\n\r\n", i, user, i, i)
		for j := 0; j < 40; j++ {
			body += "A line of text in a seeded message body, long enough to matter.\r\n"
		}
		if _, err := cc.cmd(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(body), body)); err != nil {
			tb.Fatal(err)
		}
	}
	cc.cmd("LOGOUT")
}

// BenchmarkMixedVsDovecot runs the mixed workload from 10 and 50 clients
// against a private Dovecot and against yubin serving the same Maildir,
// one after the other, MIXED_ROUNDS times (default 3), and reports the
// median rates and the median of the per-round ratios; it fails on any
// protocol error the clients' checkers find. Run with
//
//	go test -run '^$' -bench MixedVsDovecot -benchtime 1x ./bench/imap/
//
// BENCH_SECONDS sets each run's length (default 10); BENCH_NOSYNC=1
// turns fsync off in both servers (maildir NoSync, mail_fsync = never).
func BenchmarkMixedVsDovecot(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	rounds := 3
	if s, err := strconv.Atoi(os.Getenv("MIXED_ROUNDS")); err == nil && s > 0 {
		rounds = s
	}
	d, dovecotAddr := startDovecot(b)
	home := filepath.Join(d.Dir, "home")
	seed(b, dovecotAddr, "bench", "x", 300)
	// yubin runs as root here: the Maildir stays owned by Dovecot's user
	// (maildir gives new files to the owner of the tree).
	yubinAddr := startYubin(b, home)
	type rates struct{ dovecot, yubin, ratio []float64 }
	all := map[int]*rates{10: {}, 50: {}}
	for i := 0; i < b.N*rounds; i++ {
		for _, clients := range []int{10, 50} {
			run := func(addr string) Result {
				return Load{Addr: addr, User: "bench", Password: "x", Clients: clients, Duration: time.Duration(secs) * time.Second}.Run(context.Background())
			}
			dv := run(dovecotAddr)
			yb := run(yubinAddr)
			b.Logf("%d clients: dovecot %v; yubin %v; ratio %.2f", clients, dv, yb, yb.PerSecond()/dv.PerSecond())
			if dv.Errors+yb.Errors > 0 {
				b.Logf("errors: dovecot %q yubin %q", dv.FirstErrors, yb.FirstErrors)
			}
			for _, e := range yb.FirstProtocolErrors {
				b.Errorf("yubin protocol error: %s", e)
			}
			for _, e := range dv.FirstProtocolErrors {
				b.Errorf("dovecot protocol error: %s", e)
			}
			if dv.ProtocolErrors+yb.ProtocolErrors > 0 {
				b.Fatalf("protocol errors: dovecot %d, yubin %d", dv.ProtocolErrors, yb.ProtocolErrors)
			}
			r := all[clients]
			r.dovecot = append(r.dovecot, dv.PerSecond())
			r.yubin = append(r.yubin, yb.PerSecond())
			r.ratio = append(r.ratio, yb.PerSecond()/dv.PerSecond())
		}
	}
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	for _, clients := range []int{10, 50} {
		r := all[clients]
		b.Logf("%d clients, medians of %d rounds: dovecot %.0f cmd/s, yubin %.0f cmd/s, yubin/dovecot %.2f (per-round ratios %.2f)",
			clients, len(r.ratio), median(r.dovecot), median(r.yubin), median(r.ratio), r.ratio)
		b.ReportMetric(median(r.dovecot), fmt.Sprintf("dovecot-cmd/s-%dc", clients))
		b.ReportMetric(median(r.yubin), fmt.Sprintf("yubin-cmd/s-%dc", clients))
		b.ReportMetric(median(r.ratio), fmt.Sprintf("ratio-%dc", clients))
	}
}
