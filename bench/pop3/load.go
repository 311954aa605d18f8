package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what one load run measured.
type Result struct {
	Clients  int
	Sessions int64         // completed sessions
	Errors   int64         // sessions that failed
	Bytes    int64         // message octets retrieved (as LIST reports them)
	Elapsed  time.Duration // wall time of the run
	FirstErr error
}

// SessionsPerSec is completed sessions per second.
func (r Result) SessionsPerSec() float64 { return float64(r.Sessions) / r.Elapsed.Seconds() }

// MBPerSec is retrieved message megabytes (10^6 octets) per second.
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("clients=%d sessions=%d errors=%d %.1f sessions/s %.1f MB/s", r.Clients, r.Sessions, r.Errors, r.SessionsPerSec(), r.MBPerSec())
}

// Load runs clients concurrent workers against addr for d; each worker
// repeats one full session: greeting, USER/PASS, STAT, UIDL, RETR of
// every message, QUIT.
func Load(ctx context.Context, addr, user, pass string, clients int, d time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var sessions, errs, bytes atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n, err := Session(addr, user, pass)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				sessions.Add(1)
				bytes.Add(n)
			}
		}()
	}
	wg.Wait()
	r := Result{Clients: clients, Sessions: sessions.Load(), Errors: errs.Load(), Bytes: bytes.Load(), Elapsed: time.Since(start)}
	if e, ok := firstErr.Load().(error); ok {
		r.FirstErr = e
	}
	return r
}

// Session runs one POP3 session and returns the octets retrieved.
func Session(addr, user, pass string) (int64, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriter(c)
	status := func() (string, error) {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(l, "+OK") {
			return "", fmt.Errorf("server said %q", strings.TrimSpace(l))
		}
		return l, nil
	}
	cmd := func(s string) (string, error) {
		w.WriteString(s + "\r\n")
		if err := w.Flush(); err != nil {
			return "", err
		}
		return status()
	}
	body := func() (int64, error) {
		var n int64
		for {
			l, err := r.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return n, err
			}
			if len(l) == 3 && l[0] == '.' && l[1] == '\r' {
				return n, nil
			}
			n += int64(len(l))
		}
	}
	if _, err := status(); err != nil {
		return 0, err
	}
	if _, err := cmd("USER " + user); err != nil {
		return 0, err
	}
	if _, err := cmd("PASS " + pass); err != nil {
		return 0, err
	}
	st, err := cmd("STAT")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(st)
	if len(f) < 3 {
		return 0, fmt.Errorf("bad STAT reply %q", st)
	}
	count, _ := strconv.Atoi(f[1])
	if _, err := cmd("UIDL"); err != nil {
		return 0, err
	}
	if _, err := body(); err != nil {
		return 0, err
	}
	var total int64
	for i := 1; i <= count; i++ {
		l, err := cmd("RETR " + strconv.Itoa(i))
		if err != nil {
			return 0, err
		}
		size, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
		if _, err := body(); err != nil {
			return 0, err
		}
		total += size
	}
	if _, err := cmd("QUIT"); err != nil {
		return 0, err
	}
	io.Copy(io.Discard, r)
	return total, nil
}
