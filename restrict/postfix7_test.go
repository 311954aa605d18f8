package restrict

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixHeaderChecksPrepend sends a message through a real Postfix
// whose header_checks PREPEND, REPLACE and IGNORE several header lines
// (and PREPEND text that is not a header line, which cleanup ignores),
// reads the queue file Postfix wrote, and compares its header with the
// one a caller builds from CheckHeaders' HeaderPrepends and HeaderEdits.
func TestPostfixHeaderChecksPrepend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	hc := writeFile(t, dir, "header_checks", `/^From: .*@partner\.example/ PREPEND X-Partner: yes
/^Subject: (.*)urgent/ PREPEND X-Urgent: $1
/^X-Bad-Prepend:/ PREPEND not a header line
/^X-Mailer:/ REPLACE X-Mailer: hidden
/^X-Originating-IP:/ IGNORE
/^X-Spaced:/ PREPEND X-Label : spaced colon
/^X-Bad-Replace:/ REPLACE no colon
`)
	queue := postfixQueueDir(t)
	mainCF := `myhostname = ms.example.jp
mydomain = example.jp
myorigin = $mydomain
mynetworks = 127.0.0.0/8
mydestination = $mydomain, $myhostname, localhost.$mydomain, localhost
local_recipient_maps =
header_checks = regexp:` + hc + `
queue_directory = ` + queue + `
`
	addr := testutil.StartPostfix(t, mainCF)
	params, err := ParseMainCF(strings.NewReader(mainCF))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(params, WithResolver(noDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	hdrs := []HeaderLine{
		{Name: "From", Value: "a@partner.example"},
		{Name: "To", Value: "b@example.jp"},
		{Name: "Subject", Value: "very urgent"},
		{Name: "X-Bad-Prepend", Value: "1"},
		{Name: "X-Mailer", Value: "Foo 1.0"},
		{Name: "X-Originating-IP", Value: "[192.0.2.1]"},
		{Name: "X-Spaced", Value: "1"},
		{Name: "X-Bad-Replace", Value: "1"},
		{Name: "Date", Value: "Tue, 1 Dec 2026 00:00:00 +0000"},
		{Name: "Message-Id", Value: "<prepend.1@example.jp>"},
	}
	reply := postfixSendMessage(t, addr, hdrs)
	qid := reply[strings.LastIndexByte(reply, ' ')+1:]
	if !strings.HasPrefix(reply, "250 ") || !strings.Contains(reply, "queued as") {
		t.Fatalf("Postfix: %s", reply)
	}
	// postcat needs a main.cf; defaults are enough to print a file.
	conf := filepath.Join(dir, "postcat")
	os.Mkdir(conf, 0o755)
	writeFile(t, conf, "main.cf", "compatibility_level = 3.6\n")
	out, err := exec.Command("postcat", "-c", conf, "-h", filepath.Join(queue, "incoming", qid)).CombinedOutput()
	if err != nil {
		t.Fatalf("postcat: %v\n%s", err, out)
	}
	var postfix []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "*** ") || line == "":
		case (line[0] == ' ' || line[0] == '\t') && len(postfix) > 0:
			postfix[len(postfix)-1] += "\n" + line
		default:
			postfix = append(postfix, line)
		}
	}
	if len(postfix) == 0 || !strings.HasPrefix(postfix[0], "Received: ") {
		t.Fatalf("Postfix's header does not start with its Received: line:\n%s", out)
	}
	postfix = postfix[1:] // smtpd's own Received:, checked but not matched

	d, err := p.CheckHeaders(context.Background(), hdrs)
	if err != nil || d.Action != Dunno {
		t.Fatalf("CheckHeaders: %v %v", d, err)
	}
	var yubin []string
	for i, h := range hdrs {
		for _, pre := range d.HeaderPrepends {
			if pre.Index == i {
				yubin = append(yubin, pre.Text)
			}
		}
		line := h.String()
		for _, e := range d.HeaderEdits {
			if e.Index == i {
				line = e.Replace // "" for IGNORE
			}
		}
		if line != "" {
			yubin = append(yubin, line)
		}
	}
	if !slices.Equal(postfix, yubin) {
		t.Errorf("header lines differ\nPostfix: %q\nyubin:   %q", postfix, yubin)
	}
}

// postfixQueueDir makes a queue directory for StartPostfix's instance
// (named by queue_directory in its main.cf, which overrides the
// helper's), so that a test can read the queue files Postfix writes.
func postfixQueueDir(t *testing.T) string {
	t.Helper()
	q := t.TempDir()
	os.Chmod(filepath.Dir(q), 0o755)
	os.Chmod(q, 0o755)
	uid := -1
	if u, err := user.Lookup("postfix"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
	}
	for _, sub := range []string{"pid", "private", "public", "incoming", "active", "maildrop", "deferred",
		"bounce", "defer", "trace", "flush", "hold", "corrupt", "saved"} {
		if err := os.MkdirAll(filepath.Join(q, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if sub != "pid" && uid >= 0 {
			os.Chown(filepath.Join(q, sub), uid, -1)
		}
	}
	return q
}
