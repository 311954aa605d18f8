package mbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// openFile opens a store whose INBOX holds content and returns it with
// the messages yubin reads and the log.
func openFile(t *testing.T, content string) (*Store, string, []string, *logBuffer) {
	t.Helper()
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	if err := os.WriteFile(inbox, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	lb := &logBuffer{}
	s, err := Open(filepath.Join(dir, "mail"), Options{Inbox: inbox, Logger: slog.New(slog.NewTextHandler(lb, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, inbox, readBodies(t, s), lb
}

func readBodies(t *testing.T, s *Store) []string {
	t.Helper()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var out []string
	err = mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		r, err := mb.Open(c, mi.UID)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if int64(len(b)) != r.Size() {
			t.Errorf("UID %d: read %d bytes, Size %d", mi.UID, len(b), r.Size())
		}
		if crlf, _ := store.CRLFSize(bytes.NewReader(b)); crlf != mi.Size {
			t.Errorf("UID %d: Size %d, CRLF size of the bytes %d", mi.UID, mi.Size, crlf)
		}
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const from1 = "From alice@example.org  Mon Jan 01 12:00:00 2024\n"
const from2 = "From bob@example.org Tue Jan  2 12:00:00 2024\n"

func TestMissingTrailingNewline(t *testing.T) {
	s, inbox, got, lb := openFile(t, from1+"Subject: a\n\nfirst\n\n"+from2+"Subject: b\n\nno newline at the end")
	if len(got) != 2 || got[0] != "Subject: a\n\nfirst\n" || got[1] != "Subject: b\n\nno newline at the end" {
		t.Fatalf("read %q", got)
	}
	if !strings.Contains(lb.String(), "no newline at the end") {
		t.Errorf("damage not reported: %s", lb)
	}
	// An append after it keeps the last message whole.
	appendTo(t, s, "Subject: c\n\nthird\n")
	if got := readBodies(t, s); len(got) != 3 || got[1] != "Subject: b\n\nno newline at the end" || got[2] != "Subject: c\n\nthird\n" {
		t.Fatalf("after append %q", got)
	}
	// So does a fresh reader of the file.
	s2, err := Open(filepath.Join(filepath.Dir(inbox), "mail"), Options{Inbox: inbox})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := readBodies(t, s2); len(got) != 3 || !strings.HasPrefix(got[1], "Subject: b\n\nno newline at the end") {
		t.Fatalf("reopened %q", got)
	}
}

func appendTo(t *testing.T, s *Store, body string) uint32 {
	t.Helper()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	res, err := mb.Append(c, strings.NewReader(body), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.UID
}

// TestFromLinesInBodies: an mboxo file without Content-Length splits only
// at From_ lines after an empty line; quoted lines stay quoted (as
// Dovecot reads them); yubin's own messages carry Content-Length, so an
// unquoted "From " line after an empty line stays in the body.
func TestFromLinesInBodies(t *testing.T) {
	content := from1 + "Subject: a\n\nhello\nFrom me to you\n>From quoted\n\n" + from2 + "Subject: b\n\nbye\n\n"
	s, _, got, _ := openFile(t, content)
	if len(got) != 2 || got[0] != "Subject: a\n\nhello\nFrom me to you\n>From quoted\n" || got[1] != "Subject: b\n\nbye\n" {
		t.Fatalf("read %q", got)
	}
	tricky := "Subject: c\n\nparagraph\n\nFrom the start of a line after an empty one\n\nFrom x  Mon Jan 01 12:00:00 2024\n"
	appendTo(t, s, tricky)
	if got := readBodies(t, s); len(got) != 3 || got[2] != tricky {
		t.Fatalf("after append %q", got)
	}
}

// TestLyingContentLength: a Content-Length that does not end at a From_
// line is ignored (the damage logged) and the splitter finds the
// messages; nothing is lost.
func TestLyingContentLength(t *testing.T) {
	for name, cl := range map[string]string{"short": "3", "long": "5000", "garbage": "x1"} {
		t.Run(name, func(t *testing.T) {
			content := from1 + "Subject: a\nContent-Length: " + cl + "\n\nbody one\nline two\n\n" + from2 + "Subject: b\n\nbody two\n\n"
			_, inbox, got, lb := openFile(t, content)
			if len(got) != 2 || got[0] != "Subject: a\n\nbody one\nline two\n" || got[1] != "Subject: b\n\nbody two\n" {
				t.Fatalf("read %q", got)
			}
			if name != "garbage" && !strings.Contains(lb.String(), "Content-Length") {
				t.Errorf("damage not reported: %s", lb)
			}
			data, _ := os.ReadFile(inbox)
			for _, s := range []string{"body one\nline two\n", "body two\n", "Subject: a\n", "Subject: b\n"} {
				if !strings.Contains(string(data), s) {
					t.Errorf("%q lost from the file:\n%s", s, data)
				}
			}
		})
	}
}

func TestZeroByteAndGarbageFiles(t *testing.T) {
	_, _, got, lb := openFile(t, "")
	if len(got) != 0 || lb.String() != "" {
		t.Fatalf("empty file: %q, log %s", got, lb)
	}
	// Text before the first From_ line is kept through a rewrite.
	junk := "this is not mail\n\x00\xff binary\n\n"
	s, inbox, got, lb := openFile(t, junk+from1+"Subject: a\n\nbody\n\n")
	if len(got) != 1 || got[0] != "Subject: a\n\nbody\n" || !strings.Contains(lb.String(), "before the first From_ line") {
		t.Fatalf("junk prefix: %q, log %s", got, lb)
	}
	c := context.Background()
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	if _, _, err := mb.SetFlags(c, nil, store.FlagsAdd, store.Flags{System: store.Seen}, 0); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(inbox)
	if !strings.HasPrefix(string(data), junk) {
		t.Fatalf("prefix lost:\n%q", data)
	}
	// Pure garbage: no From_ line at all.
	_, _, got, lb = openFile(t, "\x00\x01\x02 garbage\nmore\n")
	if len(got) != 0 || !strings.Contains(lb.String(), "no From_ line") {
		t.Fatalf("garbage: %q, log %s", got, lb)
	}
}

// TestTornAppend: a message cut off in the middle (a crash during
// another program's append) is read as far as it goes and reported.
func TestTornAppend(t *testing.T) {
	content := from1 + "Subject: a\nX-UID: 1\nContent-Length: 5\n\nfirst\n" + from2 + "Subject: b\nX-UID: 2\nContent-Length: 500\n\npartial bo"
	_, _, got, lb := openFile(t, content)
	if len(got) != 2 || got[0] != "Subject: a\n\nfirst" || got[1] != "Subject: b\n\npartial bo" {
		t.Fatalf("read %q", got)
	}
	if !strings.Contains(lb.String(), "Content-Length 500") {
		t.Errorf("damage not reported: %s", lb)
	}
}
