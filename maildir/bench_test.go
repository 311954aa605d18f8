package maildir

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// cpuTime is the process's user+system CPU time: on a loaded machine it
// says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendFsync appends with every fsync Append does (file,
// directory, uidlist) on the file system holding the test's temp dir.
func BenchmarkAppendFsync(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "Maildir"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := context.Background()
			mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
			defer mb.Close()
			body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\r\n"), size/60+1)[:size]
			b.SetBytes(int64(size))
			b.ResetTimer()
			start := time.Now()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := mb.Append(c, bytes.NewReader(body), store.AppendOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkDeliverConcurrent is LMTP/SMTP delivery into one Maildir:
// G goroutines call Store.Deliver at once, with every fsync (file,
// new/, dovecot-uidlist), as many delivery sessions do.
func BenchmarkDeliverConcurrent(b *testing.B) {
	for _, g := range []int{10, 50} {
		for _, size := range []int{4 << 10, 100 << 10} {
			b.Run(fmt.Sprintf("G%d/%dKiB", g, size>>10), func(b *testing.B) {
				s, err := Open(filepath.Join(b.TempDir(), "Maildir"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				c := context.Background()
				body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\r\n"), size/60+1)[:size]
				b.SetBytes(int64(size))
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				cpu0 := cpuTime()
				for range g {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							if _, err := s.Deliver(c, store.Inbox, bytes.NewReader(body), store.AppendOptions{}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// makeBigMaildir writes n messages straight into cur/ with a current
// dovecot-uidlist and dovecot-keywords, as Dovecot would leave them.
func makeBigMaildir(tb testing.TB, n int) string {
	root := filepath.Join(tb.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	body := []byte("From: a@example.org\nTo: b@example.org\nSubject: benchmark message\nMessage-ID: <x@example.org>\n\nhello\n")
	vsize := len(body) + bytes.Count(body, []byte("\n"))
	ul := []byte("3 V1700000000 N" + strconv.Itoa(n+1) + " G0123456789abcdef0123456789abcdef\n")
	letters := []string{"", "S", "FS", "RS", "Sa", "Sab", "T"}
	for i := 1; i <= n; i++ {
		base := fmt.Sprintf("%d.M%dP%d.bench,S=%d,W=%d", 1700000000+i/10, i%1000000, 1000+i%30000, len(body), vsize)
		name := base + ":2," + letters[i%len(letters)]
		if err := os.WriteFile(filepath.Join(root, "cur", name), body, 0o600); err != nil {
			tb.Fatal(err)
		}
		ul = strconv.AppendInt(ul, int64(i), 10)
		ul = append(ul, " :"...)
		ul = append(ul, base...)
		ul = append(ul, '\n')
	}
	os.WriteFile(filepath.Join(root, "dovecot-uidlist"), ul, 0o600)
	os.WriteFile(filepath.Join(root, "dovecot-keywords"), []byte("0 $Important\n1 NonJunk\n"), 0o600)
	// A mailbox nobody changed in the last seconds.
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{"cur", "new"} {
		os.Chtimes(filepath.Join(root, d), old, old)
	}
	return root
}

var bigMaildir = map[int]string{}

func bigFixture(b *testing.B, n int) string {
	if root, ok := bigMaildir[n]; ok {
		return root
	}
	dir, err := os.MkdirTemp("", "yubin-bench-")
	if err != nil {
		b.Fatal(err)
	}
	tb := &tempTB{TB: b, dir: dir}
	root := makeBigMaildir(tb, n)
	bigMaildir[n] = root
	return root
}

// tempTB gives makeBigMaildir a TempDir that outlives one benchmark run
// (the fixture is shared by the benchmarks of one process).
type tempTB struct {
	testing.TB
	dir string
}

func (t *tempTB) TempDir() string { return t.dir }

func cleanupFixtures() {
	for _, root := range bigMaildir {
		os.RemoveAll(filepath.Dir(root))
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupFixtures()
	os.Exit(code)
}

// BenchmarkOpen100k opens a 100,000-message Maildir whose uidlist and
// yubin-index are current and lists UID, flags and size of every
// message: the index's stamp matches the disk, so neither directory is
// listed. heap-B/msg is the live heap the open store and handle keep per
// message; the B/op column divided by 100,000 is what one open allocates
// per message in total.
func BenchmarkOpen100k(b *testing.B) {
	benchOpen100k(b, nil)
}

// BenchmarkOpen100kScan is the same open just after something changed
// cur/ (its mtime is new): both directories are listed and matched
// against dovecot-uidlist, with modseqs and dates from yubin-index.
func BenchmarkOpen100kScan(b *testing.B) {
	benchOpen100k(b, func(root string) {
		now := time.Now()
		os.Chtimes(filepath.Join(root, "cur"), now, now)
	})
}

func benchOpen100k(b *testing.B, touch func(root string)) {
	const n = 100000
	root := bigFixture(b, n)
	defer func() {
		// Leave the fixture as nobody changed it lately.
		old := time.Now().Add(-time.Hour)
		os.Chtimes(filepath.Join(root, "cur"), old, old)
	}()
	c := context.Background()
	open := func() (*Store, store.Mailbox, int) {
		if touch != nil {
			touch(root)
		}
		s, err := Open(root, Options{NoInotify: true})
		if err != nil {
			b.Fatal(err)
		}
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		var sum int64
		mb.Messages(c, nil, func(mi *store.MessageInfo) error {
			count++
			sum += mi.Size + int64(mi.UID) + int64(mi.Flags.System)
			return nil
		})
		return s, mb, count
	}
	// The first open builds yubin-index if needed (not timed); the live
	// heap the second adds, with the store and the handle open, is the
	// per-message cost.
	s, mb, _ := open()
	mb.Close()
	s.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, mb, _ = open()
	runtime.GC()
	runtime.ReadMemStats(&after)
	mb.Close()
	s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s, mb, count := open()
		if count != n {
			b.Fatalf("listed %d", count)
		}
		mb.Close()
		s.Close()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "heap-B/msg")
}

// BenchmarkOpen100kNoIndex is the first open of that Maildir by yubin:
// no yubin-index, so every file is stat'ed for its date lazily and
// modseqs are assigned.
func BenchmarkOpen100kNoIndex(b *testing.B) {
	const n = 100000
	root := bigFixture(b, n)
	c := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	defer func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		os.Remove(filepath.Join(root, indexFile))
		b.StartTimer()
		s, err := Open(root, Options{NoInotify: true})
		if err != nil {
			b.Fatal(err)
		}
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		mb.Messages(c, nil, func(mi *store.MessageInfo) error { count++; return nil })
		mb.Close()
		s.Close()
		if count != n {
			b.Fatalf("listed %d", count)
		}
	}
}

// BenchmarkSetFlag100k changes the flags of one message in the
// 100,000-message mailbox (a rename in cur/ and a new modseq), with a
// read-write handle open and the inotify watcher running.
func BenchmarkSetFlag100k(b *testing.B) {
	const n = 100000
	root := bigFixture(b, n)
	c := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer mb.Close()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
	}()
	for i := 0; i < b.N; i++ {
		uid := uint32(i*7919%n + 1)
		op := store.FlagsAdd
		if i/n%2 == 1 {
			op = store.FlagsRemove
		}
		if _, _, err := mb.SetFlags(c, store.UIDSetOf(uid), op, store.Flags{System: store.Flagged}, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSyncAfterDelivery50k is a reader's open of a 50,000-message
// INBOX whose Store is kept open (as maildir.Backend keeps it) just after
// a LateUID delivery into new/ (or any other program's): the sync that
// adopts the new file still walks every message.
func BenchmarkSyncAfterDelivery50k(b *testing.B) {
	const n = 50000
	root := makeBigMaildir(b, n)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "cur"), old, old)
	c := context.Background()
	s, err := Open(root, Options{NoInotify: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	open := func(want int) {
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		mb.Messages(c, nil, func(*store.MessageInfo) error { count++; return nil })
		mb.Close()
		if count != want {
			b.Fatalf("listed %d, want %d", count, want)
		}
	}
	open(n)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := s.Deliver(c, store.Inbox, strings.NewReader("Subject: new\n\nx\n"), store.AppendOptions{LateUID: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		open(n + i + 1)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
