package replicate

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/sieve/sievestore"
	"github.com/yubinmail/yubin/store"
)

func sieveStore(t *testing.T) *sievestore.Store {
	home := t.TempDir()
	return &sievestore.Store{Dir: filepath.Join(home, "sieve"), Active: filepath.Join(home, ".dovecot.sieve")}
}

func scriptsOf(t *testing.T, s *sievestore.Store) (map[string]string, string) {
	t.Helper()
	ctx := context.Background()
	l, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	active := ""
	for _, sc := range l {
		b, err := s.Get(ctx, sc.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[sc.Name] = string(b)
		if sc.Active {
			active = sc.Name
		}
	}
	return out, active
}

func sameScripts(t *testing.T, a, b *sievestore.Store) map[string]string {
	t.Helper()
	sa, actA := scriptsOf(t, a)
	sb, actB := scriptsOf(t, b)
	if len(sa) != len(sb) || actA != actB {
		t.Fatalf("scripts differ: A %v (active %q), B %v (active %q)", sa, actA, sb, actB)
	}
	for n, x := range sa {
		if sb[n] != x {
			t.Fatalf("script %s: A %q, B %q", n, x, sb[n])
		}
	}
	return sa
}

// Scripts and the active one, as ManageSieve changes them, reach the
// other side; a script changed on both sides keeps the newer under its
// name and the older under a -conflict- name, on both.
func TestSieveScriptsReplicated(t *testing.T) {
	for _, network := range []bool{false, true} {
		name := "local"
		if network {
			name = "network"
		}
		t.Run(name, func(t *testing.T) {
			p := newPair(t)
			sa, sb := sieveStore(t), sieveStore(t)
			p.ea.Sieve, p.eb.Sieve = sa, sb
			sync := p.sync
			if network {
				sync = sieveNetSync(t, p)
			}
			ctx := context.Background()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(sa.Put(ctx, "main", []byte("keep;\n")))
			must(sa.SetActive(ctx, "main"))
			must(sb.Put(ctx, "vacation", []byte("discard;\n")))
			sync()
			got := sameScripts(t, sa, sb)
			if len(got) != 2 {
				t.Fatalf("scripts %v", got)
			}
			if _, act := scriptsOf(t, sb); act != "main" {
				t.Errorf("B's active %q, want main", act)
			}
			// Changed on one side.
			must(sb.Put(ctx, "main", []byte("keep; stop;\n")))
			must(sa.Delete(ctx, "vacation"))
			sync()
			got = sameScripts(t, sa, sb)
			if got["main"] != "keep; stop;\n" || got["vacation"] != "" {
				t.Errorf("after one-side changes: %v", got)
			}
			// Deactivated on B.
			must(sb.SetActive(ctx, ""))
			sync()
			if _, act := scriptsOf(t, sa); act != "" {
				t.Errorf("A's active %q after B deactivated", act)
			}
			// Changed on both: B's is newer.
			must(sa.Put(ctx, "main", []byte("# older\nkeep;\n")))
			old := time.Now().Add(-time.Hour)
			os.Chtimes(filepath.Join(sa.Dir, "main.sieve"), old, old)
			must(sb.Put(ctx, "main", []byte("# newer\nkeep;\n")))
			sync()
			got = sameScripts(t, sa, sb)
			if got["main"] != "# newer\nkeep;\n" {
				t.Errorf("main = %q, want the newer", got["main"])
			}
			kept := false
			for n, x := range got {
				kept = kept || strings.HasPrefix(n, "main-conflict-") && x == "# older\nkeep;\n"
			}
			if !kept {
				t.Errorf("the older text not kept aside: %v", got)
			}
		})
	}
}

// sieveNetSync serves B (with its Sieve storage) on 127.0.0.1 and
// returns a sync of A with it over the protocol.
func sieveNetSync(t *testing.T, p *pair) func() Stats {
	srv := &Server{Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return nopClose{p.B.(maildirLike)}, nil
	}), States: p.eb.States, Secret: "s", Sieve: func(ctx context.Context, user string) (*sievestore.Store, error) {
		return p.eb.Sieve, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	d := &Dialer{Addr: ln.Addr().String(), Secret: "s", Partner: "a"}
	return func() Stats { return netSync(t, p, d) }
}
