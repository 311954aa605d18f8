package managesieve

import (
	"fmt"
	"strings"
	"testing"

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
	run := func(b *testing.B, addr string) {
		c := dial(b, addr)
		c.response()
		if r := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("bench", "pw") + `"`); !strings.HasPrefix(r, "OK") {
			b.Fatal(r)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.conn.SetDeadline(timeNow().Add(benchDeadline))
			if r := c.cmd(cmd); r != "OK \"PUTSCRIPT completed.\"\r\n" {
				b.Fatal(r)
			}
		}
	}
	b.Run("yubin", func(b *testing.B) {
		root := b.TempDir()
		srv := &Server{
			Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true},
			Backend:       storeBackend(root, sievestore.Store{}),
		}
		run(b, startServer(b, srv))
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
		run(b, d.Addr(b, "managesieve-login/sieve"))
	})
}
