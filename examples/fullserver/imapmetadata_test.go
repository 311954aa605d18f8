package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const pyMetadata = `
imaplib.Commands['GETMETADATA'] = ('AUTH', 'SELECTED')
imaplib.Commands['SETMETADATA'] = ('AUTH', 'SELECTED')
def get(m, box, entries):
    typ, dat = m._simple_command('GETMETADATA', box, entries)
    assert typ == 'OK', (typ, dat)
    typ, dat = m._untagged_response(typ, dat, 'METADATA')
    out = ''
    for d in dat:
        for x in (d if isinstance(d, tuple) else (d,)):
            if x is not None:
                out += x.decode() if isinstance(x, bytes) else x
    return out
def sset(m, box, entries):
    typ, dat = m._simple_command('SETMETADATA', box, entries)
    assert typ == 'OK', (typ, dat)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, caps = m.capability()
`

// TestImaplibMetadataPersisted: the fullserver offers METADATA (RFC
// 5464) with each user's entries in yubin-metadata.json in the user's
// Maildir: set with Python's imaplib, they are read back after a
// restart, RENAME carries a mailbox's entries, and another user does
// not see them.
func TestImaplibMetadataPersisted(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+pyMetadata+`
assert b'METADATA' in caps[0].split(), caps
sset(m, '""', '(/private/vendor/yubin/a "server wide")')
sset(m, 'INBOX', '(/private/comment "bob\'s inbox" /shared/comment "seen by all")')
m.create('Work')
sset(m, 'Work', '(/private/comment "work notes")')
typ, dat = m.rename('Work', 'Job')
assert typ == 'OK', dat
m.logout()
print('OK')
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
	file := filepath.Join(in.data, "mail", "localhost", "bob", "Maildir", metadataFileName)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("metadata file: %v", err)
	}
	var onDisk map[string]map[string]string
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatalf("%s: %v\n%s", file, err, data)
	}
	if onDisk["Job"]["/private/comment"] != "work notes" || onDisk["Work"] != nil {
		t.Errorf("RENAME did not move the entries: %s", data)
	}

	// Restart: the entries come from the file.
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		t.Fatal("fullserver did not stop")
	}
	again := &instance{t: t, data: in.data, cfg: in.cfg, ports: map[string]int{}, done: make(chan struct{})}
	again.start()
	out = again.python(pyPrelude+pyMetadata+`
r = get(m, 'INBOX', '(/private/comment /shared/comment)')
assert "bob's inbox" in r and "seen by all" in r, r
print('INBOX', r)
print('SERVER', get(m, '""', '/private/vendor/yubin/a'))
print('JOB', get(m, 'Job', '/private/comment'))
m.logout()
a = imaplib.IMAP4('127.0.0.1', P('IMAP'))
a.starttls(ssl_context=ctx)
a.login('alice@localhost', 'pw-alice')
print('ALICE', get(a, 'INBOX', '(/private/comment /shared/comment)'))
a.logout()
print('OK')
`, "IMAP="+strconv.Itoa(again.ports["imap"]))
	for _, want := range []string{"bob's inbox", "seen by all", "server wide", "work notes", "OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("after restart, no %q in:\n%s", want, out)
		}
	}
	if i := strings.Index(out, "ALICE"); i < 0 || strings.Contains(out[i:], "bob's") || strings.Contains(out[i:], "seen by all") {
		t.Errorf("alice sees bob's entries or none printed:\n%s", out)
	}
}
