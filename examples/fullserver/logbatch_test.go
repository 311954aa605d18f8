package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes it gets.
type countingWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.b.Write(p)
}

func (c *countingWriter) state() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String(), c.writes
}

// TestBatchWriterGathersLines: lines logged within the delay reach the
// file in one write, in order and whole; nothing is written before the
// delay or a Flush.
func TestBatchWriterGathersLines(t *testing.T) {
	w := &countingWriter{}
	b := newBatchWriter(w, time.Hour)
	var want strings.Builder
	for i := range 100 {
		line := strings.Repeat("x", i) + "\n"
		b.Write([]byte(line))
		want.WriteString(line)
	}
	if got, n := w.state(); n != 0 || got != "" {
		t.Fatalf("written before the delay: %d writes", n)
	}
	b.Flush()
	got, n := w.state()
	if n != 1 || got != want.String() {
		t.Fatalf("%d writes, %d bytes; want 1 write of %d bytes", n, len(got), want.Len())
	}
}

// TestBatchWriterTimerFlushes: without a Flush, a line is written once
// the delay has passed.
func TestBatchWriterTimerFlushes(t *testing.T) {
	w := &countingWriter{}
	b := newBatchWriter(w, 5*time.Millisecond)
	b.Write([]byte("one\n"))
	b.Write([]byte("two\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := w.state(); got == "one\ntwo\n" {
			break
		}
		if time.Now().After(deadline) {
			got, _ := w.state()
			t.Fatalf("after 5 s the file holds %q", got)
		}
		time.Sleep(time.Millisecond)
	}
	b.Write([]byte("three\n"))
	for {
		if got, _ := w.state(); got == "one\ntwo\nthree\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second batch was never written")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBatchWriterErrorLineIsWrittenAtOnce: the maillog handler flushes
// after a line at error level (a fatal error is on disk before the
// process goes), not after an info line.
func TestBatchWriterErrorLineIsWrittenAtOnce(t *testing.T) {
	w := &countingWriter{}
	b := newBatchWriter(w, time.Hour)
	log := newLogger(b, "", "mx.example.jp", "yubin")
	log.Info("connect from unknown[127.0.0.1]")
	if got, _ := w.state(); got != "" {
		t.Fatalf("info line written at once: %q", got)
	}
	log.ErrorContext(context.Background(), "queue file write error")
	got, n := w.state()
	if n != 1 || !strings.Contains(got, "connect from") || !strings.Contains(got, "error: queue file write error") {
		t.Fatalf("%d writes: %q", n, got)
	}
}
