package imapmsg

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

var binarySections = [][]int{nil, {1}, {2}, {3}, {1, 1}, {3, 1}, {9}}

// TestDovecotBinary compares BINARY[part] and BINARY.SIZE[part] with
// Dovecot 2.3 for every corpus message, including its [UNKNOWN-CTE]
// refusals.
func TestDovecotBinary(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	home := testutil.SharedDir(t)
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range corpus {
		name := fmt.Sprintf("%d.M%dP1.yubin:2,", 1000000000+i, i)
		if err := os.WriteFile(filepath.Join(md, "cur", name), []byte(c.msg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	path := func(p []int) string {
		s := make([]string, len(p))
		for i, n := range p {
			s[i] = fmt.Sprint(n)
		}
		return strings.Join(s, ".")
	}
	var script strings.Builder
	script.WriteString("a select INBOX\r\n")
	for i := range corpus {
		for j, p := range binarySections {
			fmt.Fprintf(&script, "b%d.%d fetch %d (BINARY.PEEK[%s])\r\n", i+1, j, i+1, path(p))
			fmt.Fprintf(&script, "s%d.%d fetch %d (BINARY.SIZE[%s])\r\n", i+1, j, i+1, path(p))
		}
	}
	script.WriteString("z logout\r\n")
	out := testutil.PreauthIMAPUntil(t, "bob", home, "maildir:~/Maildir", script.String(), "\r\nz OK")

	for i, c := range corpus {
		r := strings.NewReader(c.msg)
		m, err := Parse(r, int64(len(c.msg)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range binarySections {
			bTag := fmt.Sprintf("\r\nb%d.%d ", i+1, j)
			k := strings.Index(out, bTag)
			if k < 0 {
				t.Fatalf("no reply to %s", bTag)
			}
			tagged := out[k+2 : k+2+strings.Index(out[k+2:], "\r\n")]
			rd, n, _, err := m.Binary(r, p, nil)
			if strings.Contains(tagged, "NO") {
				if !strings.Contains(tagged, "[UNKNOWN-CTE]") || err != ErrUnknownCTE {
					t.Errorf("%s BINARY[%s]: Dovecot said %q, we %v", c.name, path(p), tagged, err)
				}
				continue
			}
			prefix := fmt.Sprintf("* %d FETCH (BINARY[%s] ", i+1, path(p))
			// Replies are found by item name: Dovecot may run pipelined
			// FETCHes in parallel.
			k = strings.Index(out, prefix)
			if k < 0 {
				t.Fatalf("%s: no %q in\n%s", c.name, prefix, out)
			}
			rest := out[k+len(prefix):]
			want := imapValue(rest)
			got := "NIL"
			if err == nil {
				b, _ := io.ReadAll(rd)
				if int64(len(b)) != n {
					t.Errorf("%s BINARY[%s]: size %d, read %d", c.name, path(p), n, len(b))
				}
				got = fmt.Sprintf("{%d}\r\n%s", len(b), b)
				if strings.HasPrefix(want, "~") {
					got = "~" + got
				}
			} else if err != ErrNoSuchPart {
				t.Errorf("%s BINARY[%s]: %v", c.name, path(p), err)
			}
			if normalizeValue(want) != got {
				t.Errorf("%s BINARY[%s]:\n got %q\nwant %q", c.name, path(p), got, want)
			}
			// BINARY.SIZE must be the length of what BINARY sends (RFC
			// 3516). Dovecot 2.3 sometimes disagrees with itself: it says
			// 0 for multiparts and miscounts some quoted-printable parts,
			// so we compare with the length of its BINARY literal.
			sprefix := fmt.Sprintf("* %d FETCH (BINARY.SIZE[%s] ", i+1, path(p))
			if k := strings.Index(out, sprefix); k >= 0 {
				var dn int64
				fmt.Sscanf(out[k+len(sprefix):], "%d", &dn)
				var sent int64
				fmt.Sscanf(strings.TrimPrefix(normalizeValue(want), "~"), "{%d}", &sent)
				gn, err := m.BinarySize(r, p)
				if err != nil || gn != sent {
					t.Errorf("%s BINARY.SIZE[%s] = %d, %v; Dovecot sends %d bytes", c.name, path(p), gn, err, sent)
				}
				if dn != sent {
					t.Logf("%s: Dovecot's BINARY.SIZE[%s] is %d but its BINARY has %d bytes", c.name, path(p), dn, sent)
				}
			}
		}
	}
}
