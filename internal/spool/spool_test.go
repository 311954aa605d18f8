package spool

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestSpoolMemoryThenFile writes past the memory limit and reads the
// whole content back twice; the file it moved to has no name in dir.
func TestSpoolMemoryThenFile(t *testing.T) {
	dir := t.TempDir()
	for _, limit := range []int64{1 << 20, 100} {
		s := New(limit, dir)
		var want bytes.Buffer
		for i := 0; i < 50; i++ {
			line := []byte("line of the message\r\n")
			want.Write(line)
			if _, err := s.Write(line); err != nil {
				t.Fatal(err)
			}
		}
		if s.Size() != int64(want.Len()) {
			t.Errorf("limit %d: size %d, want %d", limit, s.Size(), want.Len())
		}
		for i := 0; i < 2; i++ {
			got, err := io.ReadAll(s.Reader())
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("limit %d: read %d bytes (%v), want %d", limit, len(got), err, want.Len())
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("limit %d: %d named files left in the spool directory", limit, len(ents))
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}

func Example() {
	s := New(1<<20, "")
	defer s.Close()
	io.WriteString(s, "Subject: hi\n\nbody\n")
	io.Copy(os.Stdout, s.Reader())
	// Output:
	// Subject: hi
	//
	// body
}
