package maildir

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/dovecotroot"
	"github.com/yubinmail/yubin/store"
)

func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{
		"1795325161.M264479P20900.vm,S=163,W=171:2,Sa",
		"1795325161.M297591P20901.vm,S=87,W=92:2,FRbc",
		"1700000000.P1Q1.thirdparty",
		"x:2,DFPRSTabz,extra",
		"x:1,experimental",
		"a,S=,W=-1:2,",
		"a,S=99999999999999999999999:2,XYZ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		fn := parseFileName(name)
		if strings.Contains(fn.Base, ":") {
			t.Fatalf("base %q has ':'", fn.Base)
		}
		if fn.Other != "" || !fn.HasInfo {
			return
		}
		// Reassembling keeps the flags and the base.
		again := parseFileName(fn.String())
		if again.Base != fn.Base || again.System != fn.System || again.Keywords != fn.Keywords || again.Rest != fn.Rest || again.String() != fn.String() {
			t.Fatalf("%q -> %q: %+v vs %+v", name, fn.String(), fn, again)
		}
	})
}

func FuzzParseUIDList(f *testing.F) {
	f.Add([]byte("3 V1795325161 N6 Gfce6c30fe97c026ba451000083ecc375\n1 :1795325161.M264479P20900.vm,S=163,W=171\n2 :b\n4 S32 W35 :1700000000.P1Q1.thirdparty\n"))
	f.Add([]byte("1 1795325161 3\n1 a\n2 b\n"))
	f.Add([]byte("3 V1 N1 X\n5 :a\n3 :b\n7 :c"))
	f.Add([]byte("3 V0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseUIDList(string(data))
		if err != nil {
			return
		}
		var last uint32
		for _, r := range p.Records {
			if r.UID <= last || r.UID > p.MaxUID || r.Base == "" {
				t.Fatalf("records %+v (max %d)", p.Records, p.MaxUID)
			}
			last = r.UID
		}
		if p.Header.UIDValidity == 0 {
			t.Fatal("zero UIDVALIDITY accepted")
		}
		// What yubin writes back parses to the same records.
		out := []byte(formatUIDListHeader(p.Header))
		for _, r := range p.Records {
			if strings.ContainsAny(r.Base, "\n") || strings.ContainsAny(r.Ext, ":\n") {
				return
			}
			out = appendUIDRecord(out, r)
		}
		q, err := parseUIDList(string(out))
		if err != nil || len(q.Records) != len(p.Records) || q.Header.UIDValidity != p.Header.UIDValidity {
			t.Fatalf("rewrite of %q = %q: %v", data, out, err)
		}
		for i := range q.Records {
			if q.Records[i].UID != p.Records[i].UID || q.Records[i].Base != p.Records[i].Base {
				t.Fatalf("record %d: %+v vs %+v", i, q.Records[i], p.Records[i])
			}
		}
	})
}

func FuzzSubscriptionsAndKeywords(f *testing.F) {
	f.Add([]byte("V\t2\n\nSent\nArchive\t2024\nEntw&APw-rfe\n"))
	f.Add([]byte("0 $Important\n1 NonJunk\n25 z\n26 over\n-1 neg\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, n := range dovecotroot.ParseSubscriptions(data) {
			if strings.Contains(n, "..") && strings.Contains(n, "/../") {
				t.Fatalf("escaping name %q", n)
			}
			if got := dovecotroot.ParseSubscriptions([]byte("V\t2\n\n" + dovecotroot.FormatSubscription(n) + "\n")); len(got) != 1 || got[0] != n {
				t.Fatalf("subscription %q round-trips to %q", n, got)
			}
		}
		kl := parseKeywords(data)
		if again := parseKeywords(kl.format()); again != kl {
			t.Fatalf("keywords %v round-trip to %v", kl, again)
		}
		parseMaildirsize(data)
	})
}

// FuzzIndex reads damaged yubin-index files: loading never panics, and
// when the file's stamp matches the disk (the harness makes it match)
// the fast open yields messages in strictly ascending UID order with the
// names and sizes the file holds.
func FuzzIndex(f *testing.F) {
	seed := func() []byte {
		root := f.TempDir()
		s, err := Open(root, Options{NoSync: true})
		if err != nil {
			f.Fatal(err)
		}
		c := context.Background()
		for i := 0; i < 3; i++ {
			s.Deliver(c, store.Inbox, strings.NewReader("Subject: x\n\nbody\n"), store.AppendOptions{Flags: store.Flags{System: store.SystemFlags(i)}})
		}
		s.Close()
		data, _ := os.ReadFile(filepath.Join(root, indexFile))
		return data
	}
	f.Add(seed())
	f.Add([]byte("YBIX\x01\x00\x00\x00"))
	// One folder for every input: only yubin-index changes, which is not
	// part of the stamp.
	root := f.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		os.Mkdir(filepath.Join(root, d), 0o700)
	}
	os.WriteFile(filepath.Join(root, "dovecot-uidlist"), []byte("3 V1700000000 N1 G0123456789abcdef0123456789abcdef\n"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "new"), old, old)
	os.Chtimes(filepath.Join(root, "cur"), old, old)
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	newM, _ := dirMtime(filepath.Join(root, "new"))
	curM, _ := dirMtime(filepath.Join(root, "cur"))
	fi, _ := os.Stat(filepath.Join(root, "dovecot-uidlist"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		if len(data) >= indexHeader2 {
			// Make the stamp match this disk, and UIDVALIDITY the uidlist.
			data = append([]byte(nil), data...)
			le := binary.LittleEndian
			le.PutUint32(data[8:], 1700000000)
			le.PutUint64(data[40:], uint64(newM))
			le.PutUint64(data[48:], uint64(curM))
			le.PutUint64(data[56:], uint64(time.Now().UnixNano()))
			le.PutUint64(data[64:], fi.Sys().(*syscall.Stat_t).Ino)
			le.PutUint64(data[72:], uint64(fi.Size()))
			le.PutUint64(data[80:], uint64(fi.ModTime().UnixNano()))
		}
		if err := os.WriteFile(filepath.Join(root, indexFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		m := newMbox(s, store.Inbox, root)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.loadCache()
		m.cache.records()
		ents := m.cache.ents
		if !m.loadFromIndex(newM, curM) {
			return
		}
		if len(m.msgs) != len(ents) {
			t.Fatalf("%d messages from %d records", len(m.msgs), len(ents))
		}
		for i, x := range m.msgs {
			if i > 0 && x.uid <= m.msgs[i-1].uid {
				t.Fatalf("UIDs out of order: %d after %d", x.uid, m.msgs[i-1].uid)
			}
			if x.size < 0 || x.vsize < 0 || x.name == "" {
				t.Fatalf("record %+v", x)
			}
		}
		if n := len(m.msgs); n > 0 && m.nextUID <= m.msgs[n-1].uid {
			t.Fatalf("UIDNEXT %d not above %d", m.nextUID, m.msgs[n-1].uid)
		}
	})
}
