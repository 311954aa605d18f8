package sievestore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ensureDirs creates Dir and Dir/tmp (mode 0700, as Pigeonhole does).
func (s *Store) ensureDirs() error {
	for _, d := range []string{s.Dir, filepath.Join(s.Dir, "tmp")} {
		err := os.Mkdir(d, 0o700)
		if err == nil {
			s.chown(d)
			continue
		}
		if errors.Is(err, fs.ErrNotExist) && d == s.Dir {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
			s.chown(d)
			continue
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

func (s *Store) chown(path string) {
	if s.UID > 0 && s.GID > 0 {
		os.Lchown(path, s.UID, s.GID)
	}
}

// tmpName is a unique file name in the style of Pigeonhole's temporary
// files ("name_time.Mrandom.host" there; no host here).
func tmpName(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "_" + strconv.FormatInt(time.Now().Unix(), 10) + ".M" + hex.EncodeToString(b[:])
}

// writeAtomic writes data to tmp/, syncs it, renames it to NAME.sieve
// and syncs the directory.
func (s *Store) writeAtomic(name string, data []byte) error {
	tmp := filepath.Join(s.Dir, "tmp", tmpName("script"))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	s.chown(tmp)
	if err := os.Rename(tmp, s.path(name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(s.Dir)
}

// link points the active link at name's script: a new link next to
// it, renamed over it. A regular file in the link's place is first
// moved into the storage as "dovecot.orig".
func (s *Store) link(name string) error {
	active := s.activePath()
	if fi, err := os.Lstat(active); err == nil && fi.Mode().IsRegular() {
		if err := s.ensureDirs(); err != nil {
			return err
		}
		orig := s.path("dovecot.orig")
		if err := os.Link(active, orig); err != nil {
			return err
		}
		if err := os.Remove(active); err != nil {
			return err
		}
	}
	dir := filepath.Dir(active)
	target, err := filepath.Rel(dir, s.path(name))
	if err != nil {
		target = s.path(name)
	}
	tmp := filepath.Join(dir, filepath.Base(active)+"."+tmpName("link"))
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	s.chown(tmp)
	if err := os.Rename(tmp, active); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// removeActive removes the active link (only a link: a regular file
// there is the user's and stays).
func (s *Store) removeActive() error {
	active := s.activePath()
	fi, err := os.Lstat(active)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	if err := os.Remove(active); err != nil {
		return err
	}
	return syncDir(filepath.Dir(active))
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
