package imap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranscriptFiles replays every testdata/transcripts/*.txt (C:/S:
// lines; S: lines starting with "re:" are regular expressions; "#"
// starts a comment) against a fresh server.
func TestTranscriptFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			env := newTestEnv(t, nil)
			env.dial(t).transcript(strings.Join(lines, "\n"))
		})
	}
}
