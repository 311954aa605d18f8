package imapmsg

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// searchCases are SEARCH keys evaluated by Dovecot and by us on the
// corpus: the key name and its string argument.
var searchCases = []struct{ key, arg string }{
	{"SUBJECT", "café"}, {"SUBJECT", "CAFÉ"}, {"SUBJECT", "hello"}, {"SUBJECT", ""},
	{"SUBJECT", "été"}, {"SUBJECT", "=?UTF-8?B?w6k=?="}, {"SUBJECT", "é world"},
	{"FROM", "jörg"}, {"FROM", "pete"}, {"FROM", "Joe Q."}, {"TO", "mary smith"},
	{"TO", "undisclosed"}, {"CC", "giant"}, {"BCC", "quoted@"}, {"CC", "boss@nil.test"},
	{"BODY", "crème brûlée"}, {"BODY", "naïve"}, {"BODY", "hello"}, {"BODY", "<b>hi"},
	{"BODY", "PGI+"}, {"BODY", "inner body"}, {"BODY", "bin"}, {"BODY", "preamble"},
	{"BODY", "alt1"}, {"BODY", "=E8"}, {"BODY", "line2"}, {"BODY", "ÉTÉ"}, {"BODY", "plain part"},
	{"BODY", "quarterly figures"}, {"BODY", "details"}, {"BODY", "<p>html"},
	{"TEXT", "x@y"}, {"TEXT", "inner@x.test"}, {"TEXT", "hello"}, {"TEXT", "Content-Type"},
	{"TEXT", "subject: no"}, {"TEXT", "café"}, {"TEXT", "<id1>"}, {"TEXT", "report.pdf"},
	{"TEXT", "fwd.eml"}, {"TEXT", "Inner <in@x.test>"}, {"FROM", "inner <in@"}, {"TO", "a@b, c@d"},
	{"FROM", "\"a\\b\""}, {"FROM", "real name"}, {"FROM", "(comment)"}, {"REPLY-TO", "@route"},
	{"BODY", "Content-Type"}, {"BODY", "inner@x.test"}, {"BODY", "epilogue"},
}

// TestDovecotSearch compares SEARCH SUBJECT/FROM/TO/CC/BCC/BODY/TEXT
// results with Dovecot 2.3 (no full-text index) on the corpus.
func TestDovecotSearch(t *testing.T) {
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
	for j, sc := range searchCases {
		key := sc.key
		if key == "REPLY-TO" {
			key = "HEADER Reply-To"
		}
		fmt.Fprintf(&script, "s%d search return (ALL) charset utf-8 %s {%d+}\r\n%s\r\n", j, key, len(sc.arg), sc.arg)
	}
	script.WriteString("z logout\r\n")
	out := testutil.PreauthIMAPUntil(t, "bob", home, "maildir:~/Maildir", script.String(), "\r\nz OK")

	msgs := make([]*Message, len(corpus))
	for i, c := range corpus {
		msgs[i] = mustParse(t, c.msg)
	}
	for j, sc := range searchCases {
		// ESEARCH replies carry their tag: * ESEARCH (TAG "s3") ALL 1:3,5
		prefix := fmt.Sprintf("* ESEARCH (TAG \"s%d\")", j)
		k := strings.Index(out, prefix)
		if k < 0 {
			t.Fatalf("no reply to SEARCH %s %q:\n%s", sc.key, sc.arg, out)
		}
		line := out[k+len(prefix):]
		line = line[:strings.Index(line, "\r\n")]
		var want []int
		if f := strings.Fields(line); len(f) == 2 && f[0] == "ALL" {
			for _, r := range strings.Split(f[1], ",") {
				lo, hi, _ := strings.Cut(r, ":")
				a, _ := strconv.Atoi(lo)
				b := a
				if hi != "" {
					b, _ = strconv.Atoi(hi)
				}
				for n := a; n <= b; n++ {
					want = append(want, n)
				}
			}
		}
		var got []int
		for i, m := range msgs {
			r := strings.NewReader(corpus[i].msg)
			var ok bool
			var err error
			switch sc.key {
			case "BODY":
				ok, err = m.MatchBody(r, sc.arg)
			case "TEXT":
				ok, err = m.MatchText(r, sc.arg)
			case "REPLY-TO":
				ok = m.MatchHeader("Reply-To", sc.arg)
			default:
				ok = m.MatchHeader(sc.key, sc.arg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got = append(got, i+1)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("SEARCH %s %q: got %v, Dovecot %v", sc.key, sc.arg, got, want)
		}
	}
}
