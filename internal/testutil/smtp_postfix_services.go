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

// Reconfigure sets main.cf parameters in place with "postconf -e" (so
// that no parameter appears twice: every Postfix process warns about a
// repeated one, and a master that logs many warnings before postlogd
// runs can block), appends masterLines to master.cf (for example
// discard(8) services standing in for transports, to see in the maillog
// where Postfix routes each recipient), and reloads Postfix, waiting for
// the master to say it reloaded. mainCF is main.cf text: "name = value"
// lines, continuation lines starting with white space, # comments.
func (p *SMTPPostfix) Reconfigure(t testing.TB, mainCF, masterLines string) {
	t.Helper()
	bin := RequireBinary(t, "postconf")
	args := []string{"-c", p.Dir, "-e"}
	for _, line := range strings.Split(mainCF, "\n") {
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(args) == 3 {
				t.Fatalf("Reconfigure: continuation line first: %q", line)
			}
			args[len(args)-1] += " " + strings.TrimSpace(line)
		default:
			name, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("Reconfigure: not a parameter line: %q", line)
			}
			args = append(args, strings.TrimSpace(name)+"="+strings.TrimSpace(value))
		}
	}
	if len(args) > 3 {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("postconf -e: %v\n%s", err, out)
		}
	}
	if masterLines != "" {
		f, err := os.OpenFile(filepath.Join(p.Dir, "master.cf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(masterLines, "\n") {
			masterLines += "\n"
		}
		_, err = f.WriteString(masterLines)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	before := strings.Count(p.Log(), "reload -- version")
	// "postfix reload" is a SIGHUP to the master; the postfix command's
	// helpers keep its output open, so signal the master directly.
	pidText, err := os.ReadFile(filepath.Join(p.Queue, "pid", "master.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(pidText)), &pid); err != nil || pid <= 1 {
		t.Fatalf("master.pid: %q", pidText)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatalf("reload postfix: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.Log(), "reload -- version") <= before {
		if time.Now().After(deadline) {
			t.Fatalf("postfix did not reload:\n%s", p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
