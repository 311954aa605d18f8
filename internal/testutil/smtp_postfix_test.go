package testutil

import (
	"net"
	"strings"
	"testing"
)

// TestPostfixStartRetriesBusyPort: when the port chosen for Postfix's
// smtpd is taken by the time its master binds it, the instance starts
// again on another port instead of failing the test.
func TestPostfixStartRetriesBusyPort(t *testing.T) {
	if testing.Short() {
		t.Skip("two Postfix starts take about ten seconds")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	tries := 0
	p := startSMTPPostfix(t, "", func() int {
		tries++
		if tries == 1 {
			return busyPort
		}
		return FreePort(t)
	})
	if tries != 2 || p.SMTPPort == busyPort {
		t.Fatalf("%d tries, port %d (busy %d)", tries, p.SMTPPort, busyPort)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "220 ") {
		t.Fatalf("greeting %q", buf[:n])
	}
}

func TestMergeMainCFReplacesRepeatedParameters(t *testing.T) {
	got := mergeMainCF("a = 1\nb = 2\n  more\n# note\nc = 3\n", "b = 20\nd = 4\na = 10\n")
	want := "a = 10\nb = 20\nc = 3\nd = 4\n"
	if got != want {
		t.Errorf("mergeMainCF:\n%s\nwant:\n%s", got, want)
	}
}
