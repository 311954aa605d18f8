package queue

import (
	"fmt"
	"strconv"
	"time"
)

// maxQueueIDLen bounds a queue ID (it is a file name).
const maxQueueIDLen = 64

// validQueueID reports whether id can be a queue ID: 1 to 64 ASCII letters
// and digits, so that it is a safe file name.
func validQueueID(id string) bool {
	if id == "" || len(id) > maxQueueIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// claimID gives env an ID when it has none, or checks the one it has,
// and reserves it among the live messages.
func (s *spool) claimID(env *Envelope) error {
	s.idmu.Lock()
	defer s.idmu.Unlock()
	if env.ID == "" {
		for {
			id := s.newIDLocked()
			if _, dup := s.ids[id]; !dup {
				env.ID = id
				break
			}
		}
	} else {
		if !validQueueID(env.ID) {
			return fmt.Errorf("queue spool: bad queue id %q", env.ID)
		}
		if _, dup := s.ids[env.ID]; dup {
			return fmt.Errorf("queue spool: queue id %s is in use", env.ID)
		}
	}
	s.ids[env.ID] = struct{}{}
	return nil
}

// newIDLocked returns a new queue ID (s.idmu held): the microseconds
// since 1970 in 13 upper-case hex digits, one more than the last when
// the clock has not moved, so IDs sort by time of arrival, like
// Postfix's long queue IDs do.
func (s *spool) newIDLocked() string {
	n := uint64(time.Now().UnixMicro())
	if n <= s.lastID {
		n = s.lastID + 1
	}
	s.lastID = n
	return fmt.Sprintf("%013X", n)
}

// noteID keeps the generator ahead of a recovered ID of its own form.
func (s *spool) noteID(id string) {
	if len(id) != 13 {
		return
	}
	if n, err := strconv.ParseUint(id, 16, 64); err == nil && n > s.lastID && n < uint64(time.Now().Add(24*time.Hour).UnixMicro()) {
		s.lastID = n
	}
}
