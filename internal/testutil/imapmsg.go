package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PreauthIMAPUntil is PreauthIMAP for long pipelined scripts: it keeps
// Dovecot's stdin open until the output contains until (say the tagged
// reply to a final LOGOUT), so that Dovecot does not see end of input and
// disconnect before it has answered every command. It fails the test
// after 60 seconds without until.
func PreauthIMAPUntil(t testing.TB, user, home, mailLocation, script, until string) string {
	t.Helper()
	bin := RequireBinary(t, "imap")
	dir := SharedDir(t)
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf("base_dir = %s\nstate_dir = %s\nlog_path = /dev/stderr\nssl = no\nprotocols = imap\nmail_location = %s\n", dir, dir, mailLocation)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Env = []string{"USER=" + user, "HOME=" + home, "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: PlainUID, Gid: PlainGID}}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		stdin.Write([]byte(script))
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), until) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dovecot imap: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, until) {
		t.Fatalf("dovecot imap never said %q:\n%s", until, s)
	}
	return s
}
