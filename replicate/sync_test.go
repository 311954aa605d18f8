package replicate

import (
	"testing"

	"github.com/yubinmail/yubin/store"
)

func TestSyncCopiesBothWays(t *testing.T) {
	p := newPair(t)
	appendMsg(t, p.A, "INBOX", "Subject: a\r\n\r\nA\r\n", store.Flags{System: store.Seen})
	appendMsg(t, p.B, "INBOX", "Subject: b\r\n\r\nB\r\n", store.Flags{Keywords: []string{"$Work"}})
	p.sync()
	snap := p.same()
	if n := len(snap["INBOX"].Msgs); n != 2 {
		t.Fatalf("INBOX has %d messages, want 2", n)
	}
	// A second sync changes nothing.
	if st := p.sync(); st.Copied+st.Renumbered+st.Expunged+st.FlagUpdates != 0 {
		t.Errorf("idle sync did %+v", st)
	}
	p.same()
}
