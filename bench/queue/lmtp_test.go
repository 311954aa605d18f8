package queuebench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkLMTPCompare: LMTP deliveries into Maildir through the
// fullserver binary's LMTP listener (lmtp_inet_listener, the deliverer
// that syncs every message before its 250) against Dovecot 2.3's LMTP
// (mail_fsync = optimized, its default), in the same run, driven by
// smtp-source -L with one message per connection. Both deliver during
// DATA, so "accepted" and "delivered" are the same time.
func BenchmarkLMTPCompare(b *testing.B) {
	e := setup(b)
	e.lmtp = true
	e.rcpts = recipients(min(e.k.boxes, 50), "example.jp")
	s := startSink(b)
	fs := startFullserver(b, 50, s.port, "protocols = lmtp\nlmtp_unix_listener =\nlmtp_inet_listener = 127.0.0.1:0\n"+e.k.fsExtra, e.k.profile != "")
	addr := fs.Addr("lmtp")
	if addr == "" {
		b.Fatalf("fullserver has no lmtp listener: %v", fs.Addrs)
	}
	pid := fs.PID()
	fsc := &contender{name: "fullserver", addr: addr, pids: func() []int { return []int{pid} },
		cpu:       func() time.Duration { return treeCPU(pid) },
		delivered: func() int { return countMaildirs(fs.data + "/mail/example.jp/*/Maildir") }}
	if e.k.profile != "" {
		fsc.profOn, fsc.profOff = fs.startProfile, fs.stopProfile
		b.Cleanup(func() { fs.saveProfiles(b, e.k.profile) })
	}
	d := testutil.StartDovecot(b, testutil.DovecotConfig{
		Protocols: "lmtp",
		Listeners: []string{"lmtp/lmtp"},
		Extra:     "service lmtp {\n  process_limit = 100\n}\n",
	})
	master := d.PID()
	dc := &contender{name: "dovecot", addr: d.Addr(b, "lmtp/lmtp"), pids: func() []int { return tree(master) },
		cpu:       func() time.Duration { return treeCPU(master) },
		delivered: func() int { return countMaildirs(filepath.Join(d.Dir, "home", "*", "Maildir")) }}
	e.compare(b, "lmtp", []*contender{fsc, dc})
}
