package managesieve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// TestPigeonholeSharedStorage has Dovecot's managesieved and yubin work
// on one user's storage in turn: each sees, activates, renames and
// deletes what the other stored.
func TestPigeonholeSharedStorage(t *testing.T) {
	t.Parallel()
	if testutil.LookBinary("managesieve") == "" || testutil.LookBinary("managesieve-login") == "" {
		testutil.Unavailable(t, "Dovecot's managesieve not found (Debian package dovecot-managesieved)")
	}
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "sieve",
		Listeners: []string{"managesieve-login/sieve"},
		Extra:     "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n",
	})
	uid, gid := 0, 0
	if os.Geteuid() == 0 {
		uid, gid = testutil.PlainUID, testutil.PlainGID
	}
	srv := &Server{
		Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1},
		Backend: BackendFunc(func(ctx context.Context, id *auth.Identity) (Scripts, error) {
			home := d.Home(id.User)
			return &sievestore.Store{Dir: filepath.Join(home, "sieve"), Active: filepath.Join(home, ".dovecot.sieve"), UID: uid, GID: gid}, nil
		}),
	}
	yaddr := startServer(t, srv)
	login := func(addr string) *client {
		c := dial(t, addr)
		c.response()
		if r := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("shared", "pw") + `"`); !strings.HasPrefix(r, "OK") {
			t.Fatalf("login: %s", r)
		}
		return c
	}
	expect := func(who string, c *client, cmd, want string) {
		t.Helper()
		if got := c.cmd(cmd); got != want {
			t.Errorf("%s: C: %s\ngot:\n%s\nwant:\n%s", who, cmd, got, want)
		}
	}
	dc := login(d.Addr(t, "managesieve-login/sieve")) // Dovecot makes the home first
	expect("dovecot", dc, "PUTSCRIPT \"fromdovecot\" {}\nkeep;\n", "OK \"PUTSCRIPT completed.\"\r\n")
	expect("dovecot", dc, `SETACTIVE "fromdovecot"`, "OK \"Setactive completed.\"\r\n")

	yc := login(yaddr)
	expect("yubin", yc, "LISTSCRIPTS", "\"fromdovecot\" ACTIVE\r\nOK \"Listscripts completed.\"\r\n")
	expect("yubin", yc, `GETSCRIPT "fromdovecot"`, "{7}\r\nkeep;\r\n\r\nOK \"Getscript completed.\"\r\n")
	expect("yubin", yc, "PUTSCRIPT \"fromyubin\" {}\ndiscard;\n", "OK \"PUTSCRIPT completed.\"\r\n")
	expect("yubin", yc, `SETACTIVE "fromyubin"`, "OK \"Setactive completed.\"\r\n")
	expect("yubin", yc, `DELETESCRIPT "fromdovecot"`, "OK \"Deletescript completed.\"\r\n")

	expect("dovecot", dc, "LISTSCRIPTS", "\"fromyubin\" ACTIVE\r\nOK \"Listscripts completed.\"\r\n")
	expect("dovecot", dc, `GETSCRIPT "fromyubin"`, "{10}\r\ndiscard;\r\n\r\nOK \"Getscript completed.\"\r\n")
	expect("dovecot", dc, `RENAMESCRIPT "fromyubin" "renamed"`, "OK \"Renamescript completed.\"\r\n")
	expect("dovecot", dc, `DELETESCRIPT "renamed"`, "NO (ACTIVE) \"Cannot delete the active Sieve script.\"\r\n")

	expect("yubin", yc, "LISTSCRIPTS", "\"renamed\" ACTIVE\r\nOK \"Listscripts completed.\"\r\n")
	expect("yubin", yc, `SETACTIVE ""`, "OK \"Active script is now deactivated.\"\r\n")
	expect("dovecot", dc, "LISTSCRIPTS", "\"renamed\"\r\nOK \"Listscripts completed.\"\r\n")
	expect("dovecot", dc, `DELETESCRIPT "renamed"`, "OK \"Deletescript completed.\"\r\n")
	expect("yubin", yc, "LISTSCRIPTS", "OK \"Listscripts completed.\"\r\n")
}
