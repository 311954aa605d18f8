package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPgsqlPerUserLocation: the userdb's mail field chooses the store
// per user. With mail_location a Maildir and userdb = passwd-file,
// bob's passwd-file entry says
// userdb_mail=pgsql:postgres://...: an LMTP delivery to alice lands in
// her Maildir and none in the database, one to bob in the database and
// none on disk, and both read it back over IMAP.
func TestPgsqlPerUserLocation(t *testing.T) {
	c, err := testutil.StartPGCluster()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	db := c.NewDatabase(t)
	in := newInstance(t, "userdb = passwd-file\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	passwd := filepath.Join(in.data, "passwd")
	b, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}
	loc := fmt.Sprintf("pgsql:postgres:///%s?host=%s&port=%d&user=postgres", db, c.SocketDir, c.Port)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(l, "bob@") {
			f := strings.SplitN(l, ":", 8)
			for len(f) < 8 {
				f = append(f, "")
			}
			f[7] = strings.TrimSpace(f[7] + " userdb_mail=" + loc)
			l = strings.Join(f, ":")
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(passwd, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.start()
	for _, u := range []string{"alice", "bob"} {
		if r := lmtpDeliver(t, in, u+"@localhost", "Subject: for "+u+"\n\nhello\n"); !strings.HasPrefix(r, "250") {
			t.Fatalf("LMTP to %s: %s", u, r)
		}
	}
	onDisk := func(user string) int {
		var n int
		filepath.WalkDir(in.data, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, user) && (filepath.Base(filepath.Dir(p)) == "new" || filepath.Base(filepath.Dir(p)) == "cur") {
				n++
			}
			return nil
		})
		return n
	}
	inDB := func(user string) string {
		out, err := c.Exec(db, "SELECT count(*) FROM pgstore_messages m JOIN pgstore_mailboxes b ON b.id = m.mailbox_id JOIN pgstore_users u ON u.id = b.user_id WHERE u.name = '"+user+"@localhost'")
		if err != nil {
			t.Fatal(err, out)
		}
		return strings.TrimSpace(out)
	}
	if n, m := onDisk("alice"), inDB("alice"); n != 1 || m != "0" {
		t.Errorf("alice (Maildir): %d files on disk, %s rows", n, m)
	}
	if n, m := onDisk("bob"), inDB("bob"); n != 0 || m != "1" {
		t.Errorf("bob (pgsql): %d files on disk, %s rows", n, m)
	}
	for _, u := range []string{"alice", "bob"} {
		ic := dialIMAPAs(t, in, u)
		var got string
		for _, l := range ic.cmd("SELECT INBOX") {
			if strings.HasSuffix(l, " EXISTS") {
				got = l
			}
		}
		if got != "* 1 EXISTS" {
			t.Errorf("%s: SELECT gives %q", u, got)
		}
		if l := strings.Join(ic.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"), "\n"); !strings.Contains(l, "Subject: for "+u) {
			t.Errorf("%s: FETCH %q", u, l)
		}
	}
}
