package sdbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestMessageFileBytesAsDovecot: yubin writes a u.N file byte for byte
// as Dovecot's doveadm save wrote testdata's INBOX/u.2 (same time, size
// and GUID).
func TestMessageFileBytesAsDovecot(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(goldenPath(t, "INBOX"), "u.2"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("From: Carol <carol@example.org>\nTo: Bob <bob@example.com>\nSubject: Second\n\nSecond body\n")
	when := time.Unix(0x6b027bfa, 0)
	var c counter
	c.Write(body)
	got := append(fileHeaderBytes(when, int64(len(body))), body...)
	got = append(got, metadataBytes(when, c.n+c.bareLF, "", "319ad635fa7b026b0127000083ecc375", nil)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("u.2:\n got %q\nwant %q", got, want)
	}
	m, err := readMeta(bytes.NewReader(want), int64(len(want)))
	if err != nil || m.Damage != nil || m.VSize != 0x5c || m.GUID != "319ad635fa7b026b0127000083ecc375" || !m.Received.Equal(when) || m.Layout.BodySize != int64(len(body)) {
		t.Fatalf("parsed %+v %v", m, err)
	}
}

// TestHandwrittenFiles: the spec-written u.N files (CRLF, a P line, no
// G) parse, with the P line kept.
func TestHandwrittenFiles(t *testing.T) {
	for _, n := range []string{"u.3", "u.7"} {
		data, err := os.ReadFile(filepath.Join(goldenPath(t, "handwritten"), n))
		if err != nil {
			t.Fatal(err)
		}
		m, err := readMeta(bytes.NewReader(data), int64(len(data)))
		if err != nil || m.Damage != nil || m.VSize <= 0 {
			t.Fatalf("%s: %+v %v", n, m, err)
		}
		if n == "u.7" && (m.POP3UIDL != "my-uidl-7" || m.GUID != "") {
			t.Errorf("u.7: P %q G %q", m.POP3UIDL, m.GUID)
		}
	}
}

// TestCopyKeepsFileBytes: a copied message's u.N file is the source
// file byte for byte (P and unknown metadata lines included); an index-
// less dbox-Mails with files is taken in with their UIDs.
func TestCopyKeepsFileBytes(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "mailboxes", "Imported", mailDirName)
	os.MkdirAll(md, 0o700)
	src, err := os.ReadFile(filepath.Join(goldenPath(t, "handwritten"), "u.7"))
	if err != nil {
		t.Fatal(err)
	}
	// An unknown key before the end of the metadata block.
	src = append(src[:len(src)-1], []byte("Qsomething-new\n\n")...)
	os.WriteFile(filepath.Join(md, "u.7"), src, 0o600)
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := context.Background()
	mb, err := s.OpenMailbox(c, "Imported", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if got := uidsIn(t, mb); len(got) != 1 || got[0] != 7 {
		t.Fatalf("taken in %v", got)
	}
	res, err := mb.Copy(c, store.UIDSetOf(7), store.Inbox)
	if err != nil || len(res.DestUIDs) != 1 {
		t.Fatalf("copy %+v %v", res, err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "mailboxes", "INBOX", mailDirName, fmt.Sprintf("u.%d", res.DestUIDs[0])))
	if !bytes.Equal(got, src) {
		t.Fatalf("copy differs:\n%q\n%q", got, src)
	}
}
