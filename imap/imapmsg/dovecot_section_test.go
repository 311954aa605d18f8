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

// sectionSpecs are the FETCH sections compared with Dovecot, with
// optional partial ranges.
var sectionSpecs = []string{
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "2.MIME", "3", "3.HEADER", "3.TEXT",
	"3.1", "3.MIME", "4", "4.1", "4.2", "4.2.MIME", "1.1", "2.1",
	"HEADER.FIELDS (From Subject)", "HEADER.FIELDS.NOT (From Content-Type)",
	"3.HEADER.FIELDS (subject)", "1.HEADER", "1.TEXT", "HEADER.FIELDS (X-None)",
	"1.2", "5", "1.HEADER.FIELDS (Subject)",
}

var sectionPartials = []string{"", "<0.10>", "<5.7>", "<100000.5>", "<3>"}

// dovecotSections returns, per corpus message, Dovecot's answers to each
// BODY.PEEK[spec]partial in sectionSpecs x sectionPartials, keyed by the
// echoed item name.
func dovecotSections(t *testing.T) []map[string]string {
	t.Helper()
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
	var script strings.Builder
	script.WriteString("a select INBOX\r\n")
	for i := range corpus {
		for _, spec := range sectionSpecs {
			for _, p := range sectionPartials {
				fmt.Fprintf(&script, "f fetch %d (BODY.PEEK[%s]%s)\r\n", i+1, spec, p)
			}
		}
	}
	script.WriteString("z logout\r\n")
	out := testutil.PreauthIMAPUntil(t, "bob", home, "maildir:~/Maildir", script.String(), "\r\nz OK")
	// Dovecot may run pipelined FETCHes in parallel, so replies are
	// matched by their echoed item name, unique per message.
	res := make([]map[string]string, len(corpus))
	for i := range corpus {
		res[i] = map[string]string{}
		prefix := fmt.Sprintf("* %d FETCH (", i+1)
		rest := out
		for {
			k := strings.Index(rest, prefix)
			if k < 0 {
				break
			}
			rest = rest[k+len(prefix):]
			e := strings.IndexByte(rest, ']')
			sp := e + strings.IndexByte(rest[e:], ' ')
			item := rest[:sp]
			res[i][item] = imapValue(rest[sp+1:])
		}
	}
	return res
}

// TestDovecotSections compares BODY[section]<partial> with Dovecot 2.3
// for every corpus message: the echoed item name and the bytes.
func TestDovecotSections(t *testing.T) {
	want := dovecotSections(t)
	for i, c := range corpus {
		r := strings.NewReader(c.msg)
		m, err := Parse(r, int64(len(c.msg)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, specStr := range sectionSpecs {
			for _, ps := range sectionPartials {
				spec, err := ParseSectionSpec(specStr)
				if err != nil {
					t.Fatalf("ParseSectionSpec(%q): %v", specStr, err)
				}
				var partial *Partial
				echo := "BODY[" + spec.String() + "]"
				if ps != "" {
					partial = &Partial{Count: -1}
					if strings.Contains(ps, ".") {
						fmt.Sscanf(ps, "<%d.%d>", &partial.Offset, &partial.Count)
					} else {
						fmt.Sscanf(ps, "<%d>", &partial.Offset)
					}
					echo += fmt.Sprintf("<%d>", partial.Offset)
				}
				got := "NIL"
				rd, n, err := m.Section(r, spec, partial)
				switch err {
				case nil:
					b, err := io.ReadAll(rd)
					if err != nil {
						t.Fatal(err)
					}
					if int64(len(b)) != n {
						t.Errorf("%s [%s]%s: length %d, read %d", c.name, specStr, ps, n, len(b))
					}
					got = fmt.Sprintf("{%d}\r\n%s", len(b), b)
				case ErrNoSuchPart:
				default:
					t.Fatal(err)
				}
				w, ok := want[i][echo]
				if !ok {
					t.Errorf("%s %s%s: Dovecot did not answer %s", c.name, specStr, ps, echo)
					continue
				}
				if dv := normalizeValue(w); got != dv {
					t.Errorf("%s %s:\n got %q\nwant %q", c.name, echo, got, dv)
				}
			}
		}
	}
}

// normalizeValue turns a quoted string into the equivalent literal.
func normalizeValue(v string) string {
	if strings.HasPrefix(v, `"`) {
		s := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v[1 : len(v)-1])
		return fmt.Sprintf("{%d}\r\n%s", len(s), s)
	}
	return v
}
