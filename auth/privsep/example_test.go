package privsep_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/privsep"
)

// A worker serves a password database over one end of a connection; the
// server checks passwords through the other. In a real server the
// worker is a separate process that stays root (for PAM) while the
// server drops privileges; here both ends run in one process.
func Example() {
	dir, _ := os.MkdirTemp("", "privsep")
	defer os.RemoveAll(dir)
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("alice:{PLAIN}secret\n"), 0o600)

	serverEnd, workerEnd := net.Pipe()
	worker := &privsep.Server{DBs: map[string]auth.PassDB{"local": &auth.PasswdFile{Path: passwd}}}
	go worker.Serve(context.Background(), workerEnd)

	client := privsep.NewClient(serverEnd)
	defer client.Close()
	db := client.PassDB("local")
	id, err := db.Authenticate(context.Background(), "alice", "secret")
	fmt.Println(id.User, err)
	_, err = db.Authenticate(context.Background(), "alice", "guess")
	fmt.Println(err)
	// Output:
	// alice <nil>
	// auth: authentication failed
}
