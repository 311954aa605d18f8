package queue

import (
	"fmt"
	"os"
	"sync"
)

// dirSyncer coalesces the fsyncs of one directory, as the group commit
// does for segments: a caller whose rename or create must be durable
// waits for an fsync of the directory that started after it asked, and
// callers that ask while one runs share the next one. Concurrent deferTo
// calls thus cost one directory fsync per batch, not one each.
type dirSyncer struct {
	mu      sync.Mutex
	asked   uint64        // tickets handed out
	done    uint64        // every ticket up to here is covered
	running chan struct{} // non-nil while an fsync runs; closed at its end
}

// syncDir makes the names in dir (one of the spool's directories)
// durable.
func (s *spool) syncDir(dir string) error {
	d := s.dirs[dir]
	if d == nil {
		return s.fsyncDir(dir)
	}
	d.mu.Lock()
	d.asked++
	t := d.asked
	for d.done < t {
		if ch := d.running; ch != nil {
			d.mu.Unlock()
			<-ch
			d.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		d.running = ch
		start := d.asked
		d.mu.Unlock()
		err := s.fsyncDir(dir)
		d.mu.Lock()
		d.running = nil
		close(ch)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.done = max(d.done, start)
	}
	d.mu.Unlock()
	return nil
}

// fsyncDir fsyncs dir.
func (s *spool) fsyncDir(dir string) error {
	s.fsyncs.Add(1)
	if s.dirSyncHook != nil {
		s.dirSyncHook()
	}
	if s.noSync {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	return nil
}
