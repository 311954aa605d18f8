package table

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// fileTable holds a parsed table and reloads it when its file changes.
type fileTable struct {
	ref, path string
	opts      Options
	parse     func(data []byte, file string) (Table, error)

	cur     atomic.Pointer[Table]
	pattern bool
	mu      sync.Mutex  // serialises reloads
	due     atomic.Bool // the reload interval has passed: stat the file
	size    int64
	mtime   time.Time
}

func newFileTable(ref, path string, opts Options, parse func([]byte, string) (Table, error)) (*fileTable, error) {
	f := &fileTable{ref: ref, path: path, opts: opts, parse: parse}
	t, fi, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cur.Store(&t)
	f.pattern = Pattern(t)
	f.size, f.mtime = fi.Size(), fi.ModTime()
	f.arm()
	return f, nil
}

func (f *fileTable) load() (Table, os.FileInfo, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, nil, &Error{File: f.ref, Msg: err.Error()}
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, &Error{File: f.ref, Msg: err.Error()}
	}
	if fi.Size() > f.opts.MaxFileSize {
		return nil, nil, &Error{File: f.path, Msg: fmt.Sprintf("file larger than %d bytes", f.opts.MaxFileSize)}
	}
	data, err := io.ReadAll(io.LimitReader(fh, f.opts.MaxFileSize+1))
	if err != nil {
		return nil, nil, &Error{File: f.path, Msg: err.Error()}
	}
	t, err := f.parse(data, f.path)
	if err != nil {
		return nil, nil, err
	}
	return t, fi, nil
}

// Pattern reports whether the underlying table is a pattern table.
func (f *fileTable) Pattern() bool { return f.pattern }

// Lookup queries the current contents, reloading first when the check
// interval has passed and the file changed.
func (f *fileTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	if f.due.Load() && f.due.CompareAndSwap(true, false) {
		f.maybeReload()
		f.arm()
	}
	return (*f.cur.Load()).Lookup(ctx, key)
}

// arm schedules the next change check. The check itself happens in the
// first lookup after the interval, so an idle table costs nothing and
// lookups never read the clock.
func (f *fileTable) arm() {
	if f.opts.ReloadInterval > 0 {
		time.AfterFunc(f.opts.ReloadInterval, func() { f.due.Store(true) })
	}
}

// Reload re-reads the file now if it changed since the last load.
func (f *fileTable) Reload() error {
	return f.maybeReload()
}

func (f *fileTable) maybeReload() error {
	if !f.mu.TryLock() {
		return nil // another goroutine is reloading; use the current contents
	}
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.opts.Logger.Warn("table file unreadable; keeping previous contents", "table", f.ref, "err", err)
		return err
	}
	if fi.Size() == f.size && fi.ModTime().Equal(f.mtime) {
		return nil
	}
	t, fi2, err := f.load()
	if err != nil {
		f.opts.Logger.Warn("table reload failed; keeping previous contents", "table", f.ref, "err", err)
		return err
	}
	f.cur.Store(&t)
	f.size, f.mtime = fi2.Size(), fi2.ModTime()
	f.opts.Logger.Info("table reloaded", "table", f.ref)
	return nil
}

// Reloader is implemented by file tables: Reload re-reads the file now if
// it changed.
type Reloader interface {
	Reload() error
}
