package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fileTracker is a user's Sieve tracking file (vacation replies sent,
// duplicate message ids), the role of Pigeonhole's .dovecot.lda-dupes:
// one "hash expiry-unix-seconds" line per key, rewritten atomically,
// expired lines dropped. Keys are hashed so no address is stored.
type fileTracker struct {
	path string
	mu   sync.Mutex
	// run serialises the user's Sieve runs (see Deliver).
	run sync.Mutex
}

// maxTrackEntries bounds the file; the oldest entries go first.
const maxTrackEntries = 10000

func trackHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:16])
}

func (t *fileTracker) read(now time.Time) map[string]int64 {
	m := map[string]int64{}
	f, err := os.Open(t.path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(m) < maxTrackEntries {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil || exp <= now.Unix() {
			continue
		}
		m[k] = exp
	}
	return m
}

// Seen implements sieve.Tracker.
func (t *fileTracker) Seen(_ context.Context, key string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.read(time.Now())[trackHash(key)]
	return ok, nil
}

// Record implements sieve.Tracker.
func (t *fileTracker) Record(_ context.Context, key string, period time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	m := t.read(now)
	m[trackHash(key)] = now.Add(period).Unix()
	var b strings.Builder
	n := 0
	for k, v := range m {
		if n >= maxTrackEntries {
			break
		}
		fmt.Fprintf(&b, "%s %d\n", k, v)
		n++
	}
	tmp := filepath.Join(filepath.Dir(t.path), ".yubin-sieve-track.tmp")
	if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, t.path)
}
