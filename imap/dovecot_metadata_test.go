package imap

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// metadataSteps exercise GETMETADATA and SETMETADATA (RFC 5464) on the
// server and on mailboxes: private and shared entries, NIL deletes,
// DEPTH and MAXSIZE, literals, case, bad names, missing mailboxes, and
// entries following RENAME and going with DELETE.
var metadataSteps = []string{
	`GETMETADATA "" /private/comment`,
	`SETMETADATA "" (/private/comment "server note")`,
	`GETMETADATA "" /private/comment`,
	`GETMETADATA "" (/private/comment /shared/comment)`,
	`SETMETADATA INBOX (/private/comment "inbox note" /shared/comment "shared")`,
	`GETMETADATA INBOX (/private/comment /shared/comment /private/nosuch)`,
	`SETMETADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/b {3+}` + "\r\nabc" + ` /private/vendor/x/b/c "deep")`,
	`GETMETADATA (DEPTH 1) INBOX /private/vendor/x`,
	`GETMETADATA (DEPTH infinity) INBOX /private/vendor`,
	`GETMETADATA (DEPTH 0) INBOX /private/vendor/x/a`,
	`GETMETADATA (MAXSIZE 2) INBOX (/private/comment /private/vendor/x/a)`,
	`GETMETADATA (MAXSIZE 2 DEPTH infinity) INBOX /private`,
	`GETMETADATA INBOX /PRIVATE/COMMENT`,
	`SETMETADATA INBOX (/private/comment NIL)`,
	`GETMETADATA INBOX /private/comment`,
	`SETMETADATA INBOX (/comment "x")`,
	`SETMETADATA INBOX (/private/a* "x")`,
	`SETMETADATA INBOX (/private//a "x")`,
	`SETMETADATA INBOX (/private/a/ "x")`,
	`SETMETADATA nosuch (/private/comment "x")`,
	`GETMETADATA nosuch /private/comment`,
	`GETMETADATA INBOX`,
	`GETMETADATA (DEPTH 2) INBOX /private/comment`,
	`GETMETADATA (FOO 1) INBOX /private/comment`,
	`SETMETADATA INBOX /private/comment "x"`,
	`SETMETADATA INBOX ()`,
	`CREATE meta`,
	`SETMETADATA meta (/private/comment "follows" /shared/comment "me")`,
	`RENAME meta meta2`,
	`GETMETADATA meta2 (/private/comment /shared/comment)`,
	`GETMETADATA meta /private/comment`,
	`DELETE meta2`,
	`CREATE meta2`,
	`GETMETADATA meta2 (/private/comment /shared/comment)`,
	`SELECT INBOX`,
	`GETMETADATA INBOX /shared/comment`,
	`GETMETADATA "" /shared/comment`,
}

// TestDovecotMetadata compares METADATA with Dovecot 2.3
// (imap_metadata = yes, attributes in a file dict).
func TestDovecotMetadata(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	conf := dovecotIMAPConf(t, dvRoot)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "mail_attribute_dict = file:%h/dovecot-attributes\nprotocol imap {\n  imap_metadata = yes\n}\n")
	f.Close()
	dv := startDovecotSession(t, conf, "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, func(s *Server) {
		s.Metadata = &FileMetadata{Path: func(user string) string { return filepath.Join(yRoot, user, "yubin-metadata.json") }}
	})
	yb := yubinDiffSession{env.login(t, "alice", "secret")}
	runDiffSteps(t, dv, yb, metadataSteps)
}
