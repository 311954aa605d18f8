package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPAMFullserverLoginAsRoot: started as root with passdb = pam, the
// fullserver drops to mail_owner but a system user still logs in over
// IMAP with the password pam_unix checks in /etc/shadow, because PAM runs
// in the auth worker, which stayed root. The host process is not root;
// the worker is. A wrong password is refused; with the worker killed,
// logins are refused as temporarily unavailable, never as a wrong
// password, and the host stays up.
//
// .ci/run makes the system user and its PAM service
// (YUBIN_PAM_TEST_*) and runs this with -tags pam as root.
func TestPAMFullserverLoginAsRoot(t *testing.T) {
	if !pamBuilt {
		t.Skip("built without PAM (go test -tags pam)")
	}
	service, user, pass := os.Getenv("YUBIN_PAM_TEST_SERVICE"), os.Getenv("YUBIN_PAM_TEST_USER"), os.Getenv("YUBIN_PAM_TEST_PASSWORD")
	if service == "" || user == "" || pass == "" {
		testutil.Unavailable(t, "YUBIN_PAM_TEST_SERVICE, _USER and _PASSWORD name a system user and its PAM service (.ci/run sets them)")
	}
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "the fullserver must be started as root to drop privileges")
	}
	in := newInstance(t, "passdb = pam:"+service+"\nuserdb = passwd\nmail_location = maildir:"+filepath.Join(testutil.SharedDir(t), "mail")+"/%n\ndisable_plaintext_auth = no\n")
	in.start()
	imap := in.addr("imap")

	host := in.cmd.Process.Pid
	if uid := procUID(t, host); uid == 0 {
		t.Fatalf("the host process %d runs as root", host)
	}
	worker := childWith(t, host, authWorkerCommand)
	if worker == 0 {
		t.Fatalf("no auth worker among the host's children; stderr:\n%s", in.stderr.String())
	}
	if uid := procUID(t, worker); uid != 0 {
		t.Fatalf("the auth worker %d runs as uid %d, not root", worker, uid)
	}

	if ans, _, err := imapLogin(imap, user, pass); err != nil || !strings.HasPrefix(ans, "a OK") {
		t.Fatalf("login with the system password: %q, %v\nstderr:\n%s", ans, err, in.stderr.String())
	}
	if ans, _, err := imapLogin(imap, user, pass+"x"); err != nil || !strings.HasPrefix(ans, "a NO") || strings.Contains(ans, "UNAVAILABLE") {
		t.Fatalf("login with a wrong password: %q, %v", ans, err)
	}

	syscall.Kill(worker, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ans, _, err := imapLogin(imap, user, pass)
		if err == nil && strings.HasPrefix(ans, "a NO [UNAVAILABLE]") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login with the worker killed: %q, %v (want NO [UNAVAILABLE])", ans, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if procUID(t, host) < 0 {
		t.Fatal("the host exited when its auth worker died")
	}
}

// procUID is the real uid of a running process, -1 when it is gone.
func procUID(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// childWith finds a child process of parent whose command line holds
// word, waiting a little for it to appear.
func childWith(t *testing.T, parent int, word string) int {
	return testutil.WaitChild(parent, 5*time.Second, func(p testutil.Proc) bool {
		return strings.Contains(testutil.Cmdline(p.PID), word)
	})
}
