package imap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
)

// After a restart, SORT takes the keys the store kept (maildir's
// yubin-msgdata) instead of reading the messages again: the message
// files' Date: fields are changed behind the server's back, and the
// restarted server still sorts by the dates it stored.
func TestSortKeysKeptAcrossRestart(t *testing.T) {
	root := t.TempDir()
	env := newTestEnvAt(t, root, nil)
	c := env.login(t, "alice", "secret")
	for _, d := range []string{"03", "01", "02"} {
		m := "Subject: x\r\nDate: Mon, " + d + " Jan 2024 10:00:00 +0000\r\n\r\nx"
		c.ok("APPEND INBOX {" + itoa(uint32(len(m))) + "+}\r\n" + m)
	}
	c.ok("SELECT INBOX")
	if l := c.ok("SORT (DATE) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 2 3 1" {
		t.Fatalf("first SORT: %q", l)
	}
	if changed := editBehindRestart(t, env, c, root, strings.NewReplacer("Mon, 03 Jan", "Mon, 01 Jan", "Mon, 01 Jan", "Mon, 03 Jan").Replace); changed != 2 {
		t.Fatalf("changed %d files", changed)
	}

	env2 := newTestEnvAt(t, root, nil)
	c2 := env2.login(t, "alice", "secret")
	c2.ok("SELECT INBOX")
	if l := c2.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (DATE)]"); !strings.Contains(strings.Join(l, ""), "01 Jan") {
		t.Fatalf("the file was not changed: %q", l)
	}
	if l := c2.ok("SORT (DATE) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 2 3 1" {
		t.Fatalf("SORT after restart read the messages again: %q", l)
	}
}

func TestSortKeysDataRoundTrip(t *testing.T) {
	h, _ := imapmsg.ReadHeader(strings.NewReader("From: \"Ann\" <ann@example.org>\r\nTo: bob@example.org\r\nCc: c@example.org\r\nSubject: Re: [list] hello\r\nDate: Tue, 2 Jan 2024 10:00:00 +0900\r\nMessage-ID: <a@b>\r\nReferences: <x@y> <z@w>\r\n\r\n"), 200, imapmsg.Limits{})
	k := imapmsg.SortKeysOf(h)
	got, err := decodeSortKeys(encodeSortKeys(nil, k))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Date.Equal(k.Date) {
		t.Fatalf("date %v, want %v", got.Date, k.Date)
	}
	got.Date = k.Date
	if !reflect.DeepEqual(got, k) {
		t.Fatalf("round trip:\n%+v\n%+v", got, k)
	}
	data, err := DeriveMessageData(bytes.NewReader([]byte("Subject: s\r\n\r\n")), 14)
	if err != nil || len(data[SortKeysDataName]) == 0 {
		t.Fatalf("DeriveMessageData: %v %v", data, err)
	}
}

// FuzzSortKeysData decodes arbitrary stored sort keys: an error or keys
// that encode back to the same bytes, never a panic.
func FuzzSortKeysData(f *testing.F) {
	f.Add(encodeSortKeys(nil, &imapmsg.SortKeys{Subject: "s", From: "f", MessageID: "m", References: []string{"a", "b"}, HasDate: true, Date: time.Unix(1e9, 0)}))
	f.Add([]byte{0, 0})
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeSortKeys(b)
		if err != nil {
			return
		}
		if again := encodeSortKeys(nil, k); len(again) > len(b)+16 {
			t.Fatalf("%d bytes decoded into keys of %d", len(b), len(again))
		}
	})
}

// editBehindRestart logs c out, shuts env's server down and applies edit
// to every message file of alice's under root, as someone editing the
// files behind a stopped server; it returns how many files changed.
func editBehindRestart(t *testing.T, env *testEnv, c *client, root string, edit func(string) string) int {
	t.Helper()
	c.ok("LOGOUT")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	env.srv.Shutdown(ctx)
	files, _ := filepath.Glob(filepath.Join(maildirRoot(root, "alice"), "*", "*"))
	changed := 0
	for _, f := range files {
		if dir := filepath.Base(filepath.Dir(f)); dir != "cur" && dir != "new" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		nb := edit(string(b))
		if nb == string(b) {
			continue
		}
		changed++
		if err := os.WriteFile(f, []byte(nb), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return changed
}
