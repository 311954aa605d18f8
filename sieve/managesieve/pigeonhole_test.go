package managesieve

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// pigeonholeSessions are scripted sessions, each for its own user,
// sent to Dovecot's managesieved and to yubin. "{}" at a line's end is
// a {n+} literal of the rest of the command.
var pigeonholeSessions = []struct {
	user string
	cmds []string
}{
	{"scripts", []string{
		"CAPABILITY",
		`AUTHENTICATE "PLAIN" "` + plainResp("scripts", "pw") + `"`,
		"CAPABILITY",
		"LISTSCRIPTS",
		"PUTSCRIPT \"foo\" {}\nrequire \"fileinto\";\nif header :contains \"subject\" \"spam\" { fileinto \"Junk\"; }\n",
		"PUTSCRIPT \"bad\" {}\nfoo;\nif true",
		"PUTSCRIPT \"bad2\" {}\nrequire \"nosuchext\";\nkeep;\n",
		"LISTSCRIPTS",
		`SETACTIVE "foo"`,
		"LISTSCRIPTS",
		`GETSCRIPT "foo"`,
		`GETSCRIPT "nope"`,
		`DELETESCRIPT "foo"`,
		"PUTSCRIPT \"bar\" {}\nkeep;\n",
		"PUTSCRIPT \"baz\" {}\ndiscard;\n",
		"PUTSCRIPT \"four\" {}\nkeep;\n",
		"PUTSCRIPT \"bar\" {}\nstop;\n",
		`RENAMESCRIPT "foo" "bar"`,
		`RENAMESCRIPT "nope" "other"`,
		`RENAMESCRIPT "foo" "new"`,
		"LISTSCRIPTS",
		`HAVESPACE "x" 100000`,
		`HAVESPACE "x" 10`,
		`HAVESPACE "new" 10`,
		`HAVESPACE "new" 1990`,
		`HAVESPACE "new" 2000000`,
		`SETACTIVE "nope"`,
		`SETACTIVE ""`,
		`SETACTIVE ""`,
		`DELETESCRIPT "bar"`,
		`DELETESCRIPT "bar"`,
		`SETACTIVE "new"`,
		"LISTSCRIPTS",
		"CHECKSCRIPT {}\nkeep;\n",
		"CHECKSCRIPT {}\nfoo;\n",
		`NOOP`,
		`NOOP "tag"`,
		`LOGOUT`,
	}},
	{"syntax", []string{
		`AUTHENTICATE "PLAIN" "` + plainResp("syntax", "pw") + `"`,
		`GETSCRIPT`,
		`GETSCRIPT "a" "b"`,
		`DELETESCRIPT`,
		`RENAMESCRIPT "a"`,
		`LISTSCRIPTS "x"`,
		"PUTSCRIPT \"a/b\" {}\nkeep;\n",
		"PUTSCRIPT \"\" {}\nkeep;\n",
		"PUTSCRIPT \".x\" {}\nkeep;\n",
		"PUTSCRIPT \"tmp\" {}\nkeep;\n",
		`GETSCRIPT ".x"`,
		`FOO`,
		`foo bar`,
		"LISTSCRIPTS",
		`LOGOUT`,
	}},
	{"prelogin", []string{
		"LISTSCRIPTS",
		"PUTSCRIPT \"x\" {}\nkeep;\n",
		"FOO",
	}},
	{"auth1", []string{
		"NOOP",
		"STARTTLS",
		`AUTHENTICATE "PLAIN"`,
		`"*"`,
		"LOGOUT",
	}},
	{"auth3", []string{
		`AUTHENTICATE "PLAIN"`,
		`"` + plainResp("auth3", "pw") + `"`,
		"LISTSCRIPTS",
		"LOGOUT",
	}},
	{"auth4", []string{
		`AUTHENTICATE "LOGIN"`,
		`"` + b64("auth4") + `"`,
		`"` + b64("pw") + `"`,
		"LISTSCRIPTS",
		"LOGOUT",
	}},
	{"auth5", []string{
		`AUTHENTICATE "PLAIN" {` + strconv.Itoa(len(plainResp("auth5", "pw"))) + "+}\n" + plainResp("auth5", "pw"),
		"LOGOUT",
	}},
	{"auth2", []string{
		`AUTHENTICATE "FOO"`,
		`AUTHENTICATE "PLAIN" "***"`,
		"LOGOUT",
	}},
	{"edge", []string{
		`AUTHENTICATE "PLAIN" "` + plainResp("edge", "pw") + `"`,
		"PUTSCRIPT \".\" {}\nkeep;\n",
		"PUTSCRIPT \"..\" {}\nkeep;\n",
		"LISTSCRIPTS",
		`DELETESCRIPT "."`,
		`DELETESCRIPT ".."`,
		"PUTSCRIPT \"日本語\" {}\nkeep;\n",
		"PUTSCRIPT \"a\\\"b\" {}\nkeep;\n",
		"PUTSCRIPT \"" + strings.Repeat("n", 257) + "\" {}\nkeep;\n",
		"LISTSCRIPTS",
		`GETSCRIPT "日本語"`,
		`DELETESCRIPT "日本語"`,
		`DELETESCRIPT "a\"b"`,
		"PUTSCRIPT \"sync\" {5}\nkeep;",
		`PUTSCRIPT "quoted" "keep;"`,
		`GETSCRIPT "quoted"`,
		`RENAMESCRIPT "sync" "sync"`,
		`RENAMESCRIPT "sync" "../x"`,
		`RENAMESCRIPT "../x" "sync"`,
		`RENAMESCRIPT "nope" "../x"`,
		`DELETESCRIPT "../sync"`,
		`GETSCRIPT "../sync"`,
		`SETACTIVE "../sync"`,
		`HAVESPACE "../sync" 10`,
		"CHECKSCRIPT \"keep;\"",
		"LOGOUT",
	}},
	{"edge2", []string{
		`AUTHENTICATE "PLAIN" "` + plainResp("edge2", "pw") + `"`,
		`HAVESPACE "x" abc`,
		`HAVESPACE "x" -1`,
		`HAVESPACE "x" 99999999999`,
		`HAVESPACE "x" 99999999999999999999999`,
		`HAVESPACE "x"`,
		`HAVESPACE x 10`,
		`HAVESPACE "x" "10"`,
		`SETACTIVE a`,
		`GETSCRIPT a`,
		`PUTSCRIPT a "keep;"`,
		`PUTSCRIPT "a" 10`,
		`NOOP "a" "b"`,
		`NOOP a`,
		`CAPABILITY "x"`,
		`LOGOUT "x"`,
		"LOGOUT",
	}},
	{"badrun", append(append(append([]string{
		`AUTHENTICATE "PLAIN" "` + plainResp("badrun", "pw") + `"`},
		repeat("XYZZY", 19)...),
		`GETSCRIPT "a/b"`, "PUTSCRIPT \"x\" {}\nfoo;\n", "CHECKSCRIPT {}\nbar;\n", `GETSCRIPT "nope"`),
		append(repeat("XYZZY", 19), `DELETESCRIPT "nope"`, "XYZZY", `LOGOUT`)...)},
	{"badrun2", append(append([]string{
		`AUTHENTICATE "PLAIN" "` + plainResp("badrun2", "pw") + `"`},
		repeat("XYZZY", 19)...), `HAVESPACE "x" abc`, `HAVESPACE x 10`, `HAVESPACE "a/b" 10`, "XYZZY", `HAVESPACE "x"`, "NOOP")},
	{"big", []string{
		`AUTHENTICATE "PLAIN" "` + plainResp("big", "pw") + `"`,
		"PUTSCRIPT \"big\" {}\n" + strings.Repeat("# comment line to pad the script out\n", 50000),
		"NOOP",
		"LISTSCRIPTS",
		"LOGOUT",
	}},
}

// TestPigeonholeManageSieveDifferential sends the same sessions to
// Dovecot's managesieved (Pigeonhole 2.3) and to yubin, both with
// sieve_quota_max_scripts = 3 and sieve_quota_max_storage = 2000, and
// compares the replies and then the users' storages. yubin compiles
// with sievec, Pigeonhole's own compiler, so script errors agree word
// for word. Legitimately different and normalised away: the
// IMPLEMENTATION string and the greeting's text; yubin's
// "UNAUTHENTICATE" capability (Pigeonhole 2.3 lacks the command);
// the order of LISTSCRIPTS lines (Pigeonhole's is readdir's, yubin's
// sorted).
func TestPigeonholeManageSieveDifferential(t *testing.T) {
	t.Parallel()
	testutil.RequireBinary(t, "sievec")
	if testutil.LookBinary("managesieve") == "" || testutil.LookBinary("managesieve-login") == "" {
		testutil.Unavailable(t, "Dovecot's managesieve not found (Debian package dovecot-managesieved)")
	}
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "sieve",
		Listeners: []string{"managesieve-login/sieve"},
		Extra:     "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n  sieve_quota_max_scripts = 3\n  sieve_quota_max_storage = 2000\n}\n",
	})
	root := t.TempDir()
	srv := &Server{
		Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1},
		Backend:       storeBackend(root, sievestore.Store{MaxScripts: 3, MaxStorage: 2000}),
		Check:         sievecCheck(t),
	}
	yaddr := startServer(t, srv)
	daddr := d.Addr(t, "managesieve-login/sieve")
	for _, sess := range pigeonholeSessions {
		dc, yc := dial(t, daddr), dial(t, yaddr)
		dg, yg := normalize(dc.response()), normalize(yc.response())
		if dg != yg {
			t.Errorf("%s: greeting differs:\ndovecot:\n%s\nyubin:\n%s", sess.user, dg, yg)
		}
		for _, cmd := range sess.cmds {
			dr, yr := normalize(dc.cmd(cmd)), normalize(yc.cmd(cmd))
			if dr != yr {
				shown := cmd
				if len(shown) > 80 {
					shown = shown[:80] + "..."
				}
				t.Errorf("%s: C: %s\ndovecot:\n%s\nyubin:\n%s", sess.user, shown, dr, yr)
			}
		}
		if dt, yt := storageTree(t, d.Home(sess.user)), storageTree(t, filepath.Join(root, sess.user)); dt != yt {
			t.Errorf("%s: storages differ:\ndovecot:\n%s\nyubin:\n%s", sess.user, dt, yt)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// normalize removes from a response what legitimately differs between
// Pigeonhole and yubin.
func normalize(s string) string {
	lines := strings.SplitAfter(s, "\r\n")
	var out, list []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, `"IMPLEMENTATION" `):
			l = "\"IMPLEMENTATION\" <impl>\r\n"
		case l == "\"UNAUTHENTICATE\"\r\n":
			continue
		case strings.HasSuffix(l, " ready.\"\r\n") && strings.HasPrefix(l, "OK "):
			l = "OK <greeting>\r\n"
		case strings.HasPrefix(l, `"`) && !strings.HasPrefix(l, `"IMPL`) && !strings.Contains(s, "Capability completed") && !strings.Contains(s, "<greeting>") && strings.Contains(s, "Listscripts completed"):
			list = append(list, l)
			continue
		}
		out = append(out, l)
	}
	sort.Strings(list)
	return strings.Join(list, "") + strings.Join(out, "")
}

// storageTree lists a home's script storage: the files of sieve/ and
// where the active link points.
func storageTree(t *testing.T, home string) string {
	var b strings.Builder
	ents, _ := os.ReadDir(filepath.Join(home, "sieve"))
	for _, e := range ents {
		b.WriteString(e.Name())
		if e.IsDir() {
			b.WriteString("/")
		}
		b.WriteString("\n")
	}
	if target, err := os.Readlink(filepath.Join(home, ".dovecot.sieve")); err == nil {
		b.WriteString(".dovecot.sieve -> " + target + "\n")
	}
	return b.String()
}
