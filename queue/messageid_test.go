package queue

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The Message-ID field is found as cleanup finds it: any case, folded
// lines joined, the first one kept, none in the body.
func TestHopReaderMessageID(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"Message-ID: <a@x>\r\nSubject: s\r\n\r\nbody\r\n", "<a@x>"},
		{"Subject: s\r\nmessage-id:\r\n   <b@x>\r\nTo: t\r\n\r\n", "<b@x>"},
		{"Message-Id: <c@x>\nMessage-Id: <d@x>\n\n", "<c@x>"},
		{"Subject: s\r\n\r\nMessage-ID: <body@x>\r\n", ""},
		{"Message-ID: <e@x>", "<e@x>"}, // no empty line, no body
		{"Message-IDs: <f@x>\n\n", ""},
		{"Message-ID:\n\n", " "},
	} {
		h := newHopReader(iotest.OneByteReader(strings.NewReader(tc.msg)))
		io.Copy(io.Discard, h)
		h.endMessageID()
		if h.messageID != tc.want {
			t.Errorf("%q: message-id %q, want %q", tc.msg, h.messageID, tc.want)
		}
	}
}
