package imapmsg

import (
	"io"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentUse shares one cached *Message between goroutines that
// fetch sections, BINARY (whose sizes are memoised) and search, as IMAP
// sessions on one mailbox do; run with -race.
func TestConcurrentUse(t *testing.T) {
	msg := corpusMsg(t, "qp-and-base64")
	c := NewCache(0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				r := strings.NewReader(msg)
				m, err := c.Load("k", r, int64(len(msg)), Limits{})
				if err != nil {
					errs <- err
					return
				}
				rd, n, _, err := m.Binary(r, []int{1}, nil)
				if err != nil {
					errs <- err
					return
				}
				if b, _ := io.ReadAll(rd); int64(len(b)) != n || !strings.Contains(string(b), "Caf\xe9") {
					t.Errorf("BINARY[1] = %q (%d)", b, n)
				}
				if n, err := m.BinarySize(r, nil); err != nil || n <= 0 {
					t.Errorf("BINARY.SIZE[] = %d, %v", n, err)
				}
				if ok, err := m.MatchText(r, "crème"); !ok || err != nil {
					t.Errorf("MatchText = %v, %v", ok, err)
				}
				m.WriteBodyStructure(io.Discard, true)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
