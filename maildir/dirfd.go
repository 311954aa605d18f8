package maildir

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// msgDirs holds descriptors of a mailbox's cur/ and new/ directories
// while handles of it are open, so that opening a message looks up one
// name (openat) instead of walking the whole path from the root: a POP3
// session opens every message it sends. The descriptors are opened with
// the first message a handle opens and closed with the last handle.
// They follow the directories if the folder is renamed; a file not
// found through them is looked for by path, as before.
type msgDirs struct {
	mu     sync.RWMutex // read: an open through a descriptor; write: opening and closing them
	opened bool
	fd     [2]int // cur, new; -1 when the directory could not be opened
}

// dirIndex is x's directory in msgDirs.fd.
func dirIndex(x *msg) int {
	if x.inNew {
		return 1
	}
	return 0
}

// openDirsLocked opens the descriptors if a handle is open and they are
// not (m.mu held).
func (m *mbox) openDirsLocked() {
	if m.dirs.opened || len(m.handles) == 0 {
		return
	}
	m.dirs.mu.Lock()
	defer m.dirs.mu.Unlock()
	for i, sub := range [2]string{"cur", "new"} {
		fd, err := unix.Open(m.dir+"/"+sub, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_PATH, 0)
		if err != nil {
			fd = -1
		}
		m.dirs.fd[i] = fd
	}
	m.dirs.opened = true
}

// closeDirsLocked closes the descriptors (m.mu held), after any open
// through them has finished.
func (m *mbox) closeDirsLocked() {
	if !m.dirs.opened {
		return
	}
	m.dirs.mu.Lock()
	defer m.dirs.mu.Unlock()
	for i, fd := range m.dirs.fd {
		if fd >= 0 {
			unix.Close(fd)
		}
		m.dirs.fd[i] = -1
	}
	m.dirs.opened = false
}

// openMessage opens x's file: through the directory descriptor when
// there is one, else (or when the file is not found there) by path.
func (m *mbox) openMessage(x *msg) (*messageFile, error) {
	m.dirs.mu.RLock()
	if m.dirs.opened {
		if dfd := m.dirs.fd[dirIndex(x)]; dfd >= 0 {
			f, err := openMessageFileAt(dfd, x.name)
			if err == nil || !os.IsNotExist(err) {
				m.dirs.mu.RUnlock()
				return f, err
			}
		}
	}
	m.dirs.mu.RUnlock()
	// m.dir is clean and file names hold no "/": no filepath.Join.
	return openMessageFile(m.dir + "/" + x.sub() + "/" + x.name)
}
