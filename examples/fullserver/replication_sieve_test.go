package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// sieveConnect runs the real ManageSieve client against an instance.
func sieveConnect(t *testing.T, bin string, in *instance, user string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--server", "127.0.0.1", "--port", strconv.Itoa(in.ports["sieve"]),
		"--user", user + "@localhost", "--passwordfd", "0", "--notlsverify", "--authmech", "PLAIN"}, args...)...)
	cmd.Stdin = strings.NewReader("pw-" + user + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestReplicationSieveScriptsReachPartner: a script uploaded and
// activated with sieve-connect (ManageSieve) on server A is on server B,
// active, within seconds; one deleted on B goes from A and does not come
// back to B. (Its deletion once never reached A: syncs driven by A and by
// B kept a State each, and a sync A drove took A's copy of the deleted
// script for new; replicate's TestBothDirectionsOneState.)
func TestReplicationSieveScriptsReachPartner(t *testing.T) {
	t.Parallel()
	bin := testutil.RequireBinary(t, "sieve-connect")
	p := newReplicaPairWith(t, "protocols = imap sieve\nmanagesieve_port = 0\n", "alice")
	if p.a.ports["sieve"] == 0 || p.b.ports["sieve"] == 0 {
		t.Fatal("no ManageSieve listener")
	}
	home := func(in *instance) string { return filepath.Join(in.data, "mail", "localhost", "alice") }
	local := filepath.Join(t.TempDir(), "lists.sieve")
	script := "require \"fileinto\";\nif header :contains \"subject\" \"[list]\" { fileinto \"Lists\"; }\n"
	os.WriteFile(local, []byte(script), 0o600)
	sieveConnect(t, bin, p.a, "alice", "--localsieve", local, "--remotesieve", "lists", "--upload")
	sieveConnect(t, bin, p.a, "alice", "--remotesieve", "lists", "--activate")
	os.WriteFile(local, []byte("keep;\n"), 0o600)
	sieveConnect(t, bin, p.b, "alice", "--localsieve", local, "--remotesieve", "other", "--upload")
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not replicated within 20 s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("script and active link on B", func() bool {
		b, err := os.ReadFile(filepath.Join(home(p.b), "sieve", "lists.sieve"))
		target, _ := os.Readlink(filepath.Join(home(p.b), ".dovecot.sieve"))
		return err == nil && string(b) == script && target == "sieve/lists.sieve"
	})
	wait("B's script on A", func() bool {
		_, err := os.Stat(filepath.Join(home(p.a), "sieve", "other.sieve"))
		return err == nil
	})
	// Listed by ManageSieve on B as active.
	if out := sieveConnect(t, bin, p.b, "alice", "--list"); !strings.Contains(out, "lists") || !strings.Contains(out, "other") {
		t.Errorf("LISTSCRIPTS on B: %q", out)
	}
	sieveConnect(t, bin, p.b, "alice", "--remotesieve", "other", "--delete")
	wait("delete on A", func() bool {
		_, err := os.Stat(filepath.Join(home(p.a), "sieve", "other.sieve"))
		return os.IsNotExist(err)
	})
	// A change on A: A drives a sync, which must not bring it back.
	os.WriteFile(local, []byte("discard;\n"), 0o600)
	sieveConnect(t, bin, p.a, "alice", "--localsieve", local, "--remotesieve", "third", "--upload")
	wait("A's third script on B", func() bool {
		_, err := os.Stat(filepath.Join(home(p.b), "sieve", "third.sieve"))
		return err == nil
	})
	for _, in := range []*instance{p.a, p.b} {
		if _, err := os.Stat(filepath.Join(home(in), "sieve", "other.sieve")); !os.IsNotExist(err) {
			t.Errorf("the deleted script is back in %s", home(in))
		}
	}
}
