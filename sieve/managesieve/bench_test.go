package managesieve

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// benchScript is a 1 KB filter script of the usual shape.
var benchScript = "require [\"fileinto\", \"envelope\"];\r\n" + strings.Repeat("if header :contains \"subject\" \"[list-abcdef]\" { fileinto \"Lists\"; stop; }\r\n", 13)

// BenchmarkPigeonholePUTSCRIPT stores (replacing) one 1 KB script per
// operation over one logged-in connection, against yubin and, in the
// same run, Dovecot's managesieved (which also compiles the script;
// yubin's Check is nil here, the sieve parser not being wired yet, so
// the figure is the protocol and storage path only).
func BenchmarkPigeonholePUTSCRIPT(b *testing.B) {
	cmd := fmt.Sprintf("PUTSCRIPT \"bench\" {%d+}\r\n%s", len(benchScript), benchScript)
	// run does b.N PUTSCRIPTs and reports the CPU time per operation
	// that cpu (nil: none) measures.
	run := func(b *testing.B, addr string, cpu func() time.Duration) {
		c := dial(b, addr)
		c.response()
		if r := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("bench", "pw") + `"`); !strings.HasPrefix(r, "OK") {
			b.Fatal(r)
		}
		var before time.Duration
		if cpu != nil {
			before = cpu()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.conn.SetDeadline(timeNow().Add(benchDeadline))
			if r := c.cmd(cmd); r != "OK \"PUTSCRIPT completed.\"\r\n" {
				b.Fatal(r)
			}
		}
		b.StopTimer()
		if cpu != nil {
			b.ReportMetric(float64((cpu()-before).Microseconds())/float64(b.N), "cpu-us/op")
		}
	}
	b.Run("yubin", func(b *testing.B) {
		root := b.TempDir()
		srv := &Server{
			Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true},
			Backend:       storeBackend(root, sievestore.Store{}),
		}
		// The whole test process: server and client.
		run(b, startServer(b, srv), selfCPU)
	})
	b.Run("dovecot", func(b *testing.B) {
		if testutil.LookBinary("managesieve") == "" {
			testutil.Unavailable(b, "Dovecot's managesieve not found (Debian package dovecot-managesieved)")
		}
		d := testutil.StartDovecot(b, testutil.DovecotConfig{
			Protocols: "sieve",
			Listeners: []string{"managesieve-login/sieve"},
			Extra:     "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n",
		})
		// Dovecot's managesieve process serving the connection.
		run(b, d.Addr(b, "managesieve-login/sieve"), func() time.Duration { return childCPU(d.Conf, "managesieve") })
	})
}

// selfCPU is the CPU time the test process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPU is the CPU time of the processes named comm whose parent is
// the Dovecot master started with config conf (Linux /proc; 0
// elsewhere).
func childCPU(conf, comm string) time.Duration {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	master := ""
	for _, p := range procs {
		if cl, err := os.ReadFile(filepath.Join(p, "cmdline")); err == nil && strings.Contains(string(cl), conf) && strings.HasPrefix(string(cl), "/usr/sbin/dovecot") {
			master = filepath.Base(p)
		}
	}
	var total time.Duration
	for _, p := range procs {
		st, err := os.ReadFile(filepath.Join(p, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15), in clock ticks.
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "("+comm) {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) < 13 || f[1] != master {
			continue
		}
		ut, _ := strconv.Atoi(f[11])
		stt, _ := strconv.Atoi(f[12])
		total += time.Duration(ut+stt) * 10 * time.Millisecond // USER_HZ = 100
	}
	return total
}
