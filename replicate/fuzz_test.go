package replicate

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the frame reader and request
// decoder the server runs on what a partner sends.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, frameRequest, []byte(`{"op":"hello","secret":"x","version":1}`))
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, frameRequest, []byte(`{"op":"append","mailbox":"INBOX","msg":{"uid":3,"guid":"g","flags":{"System":1,"Keywords":["$a"]}}}`))
	writeFrame(&b, frameData, []byte("hello"))
	writeFrame(&b, frameEnd, nil)
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, frameRequest, []byte(`{"op":"commit","gen":2,"commits":[{"mailbox":"A/B","put":{"g":{"u":1,"f":{}}}}]}`))
	f.Add(b.Bytes())
	f.Add([]byte("\x00\x00\x00\x05Q{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 8; i++ {
			kind, p, err := readFrame(r, 1<<16)
			if err != nil {
				return
			}
			if len(p) > 1<<16 {
				t.Fatalf("frame of %d bytes over the limit", len(p))
			}
			if kind == frameRequest {
				q, err := decodeRequest(p)
				if err == nil && q.Op == "" {
					t.Fatal("request without op accepted")
				}
			}
			if kind == frameData {
				d := &dataReader{r: r, max: 1 << 16}
				d.drain()
			}
		}
	})
}
