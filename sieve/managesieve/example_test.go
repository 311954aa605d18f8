package managesieve_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/sieve/managesieve"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// A ManageSieve server over per-user Pigeonhole storages, driven by a
// raw client that uploads and activates a script.
func Example() {
	dir, _ := os.MkdirTemp("", "managesieve-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("alice:{PLAIN}secret::::::\n"), 0o600)
	srv := &managesieve.Server{
		// Plaintext SASL is allowed on loopback connections.
		Authenticator: &auth.Service{PassDB: &auth.PasswdFile{Path: filepath.Join(dir, "passwd")}},
		Backend: managesieve.BackendFunc(func(ctx context.Context, id *auth.Identity) (managesieve.Scripts, error) {
			home := filepath.Join(dir, id.User)
			return &sievestore.Store{Dir: filepath.Join(home, "sieve"), Active: filepath.Join(home, ".dovecot.sieve")}, nil
		}),
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	c, _ := net.Dial("tcp", l.Addr().String())
	defer c.Close()
	r := bufio.NewReader(c)
	// Read to the greeting's OK, past the capabilities.
	readReply := func() string {
		for {
			line, err := r.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "NO") {
				return strings.TrimSpace(line)
			}
		}
	}
	readReply()
	script := "require \"fileinto\";\r\nfileinto \"Junk\";\r\n"
	resp := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	for _, cmd := range []string{
		`AUTHENTICATE "PLAIN" "` + resp + `"`,
		fmt.Sprintf("PUTSCRIPT \"junk\" {%d+}\r\n%s", len(script), script),
		`SETACTIVE "junk"`,
		`LOGOUT`,
	} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		fmt.Println(readReply())
	}
	link, _ := os.Readlink(filepath.Join(dir, "alice", ".dovecot.sieve"))
	fmt.Println(link)
	// Output:
	// OK "Logged in."
	// OK "PUTSCRIPT completed."
	// OK "Setactive completed."
	// OK "Logout completed."
	// sieve/junk.sieve
}
