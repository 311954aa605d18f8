package queue

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestControlPeerCredentials: even through a socket anyone may open, a
// client running as another user (nobody) is refused by SO_PEERCRED and
// its command does not reach the Admin.
func TestControlPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "running a client as another user needs root")
	}
	// Debian's python3: another user cannot run one under /root.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testutil.Unavailable(t, "%s not found (Debian package python3)", python)
	}
	a := &fakeAdmin{}
	path := startControl(t, a)
	os.Chmod(filepath.Dir(path), 0o755)
	os.Chmod(path, 0o666)
	cmd := exec.Command(python, "-c", `import socket,sys
s=socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"flush\n")
s.shutdown(socket.SHUT_WR)
out=b""
while True:
    b=s.recv(4096)
    if not b: break
    out+=b
sys.stdout.write(out.decode())`, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client as nobody: %v\n%s", err, out)
	}
	if string(out) != "error permission denied\n" {
		t.Errorf("reply %q", out)
	}
	if calls := a.Calls(); len(calls) != 0 {
		t.Errorf("Admin called: %q", calls)
	}
	// As root the same command is served.
	cmd = exec.Command(python, "-c", `import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(b"flush\n"); s.shutdown(socket.SHUT_WR)
sys.stdout.write(s.makefile().read())`, path)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok\n") {
		t.Errorf("root: %q %v", out, err)
	}
}
