package sdbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/yubinmail/yubin/store"
)

// staleDotlock is the age after which a dotlock that was not refreshed
// is taken as abandoned (Dovecot's subscriptions.lock uses 120 s).
const staleDotlock = 120 * time.Second

// dotlock is a Dovecot-style dotlock (subscriptions.lock): a file made
// with O_CREAT|O_EXCL holding "<pid>:<host>".
type dotlock struct{ path string }

func (s *Store) lock(ctx context.Context, path string) (*dotlock, error) {
	deadline := time.Now().Add(s.opts.lockTimeout())
	wait := time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.WriteString(strconv.Itoa(os.Getpid()) + ":" + s.host)
			f.Close()
			s.chown(path)
			return &dotlock{path: path}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("sdbox: lock %s: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleDotlock {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("sdbox: timed out waiting for %s: %w", path, store.ErrTemporary)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

func (l *dotlock) unlock() { os.Remove(l.path) }
