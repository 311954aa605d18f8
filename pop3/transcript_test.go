package pop3

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTranscripts replays the C:/S: transcripts in testdata/transcripts
// against a fresh server where alice (password "secret") has msg1 and
// msg2 in INBOX. "C: " lines are sent with CRLF; "S: " lines must match
// the server's next line exactly, except that "<*>" matches any text.
// "CLOSED" expects the server to have hung up. Lines starting with "#"
// are comments.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e := startServer(t, &Server{MaxBadCommands: 100})
			e.deliver("alice", msg1, msg2)
			c := e.dial0()
			for n, line := range strings.Split(string(data), "\n") {
				switch {
				case strings.HasPrefix(line, "C: "):
					c.send(line[3:])
				case strings.HasPrefix(line, "S: "):
					got := c.line()
					if !transcriptPattern(line[3:]).MatchString(got) {
						t.Fatalf("%s:%d: server said %q, want %q", f, n+1, got, line[3:])
					}
				case line == "CLOSED":
					if !c.closed() {
						t.Fatalf("%s:%d: connection still open", f, n+1)
					}
				case line == "" || strings.HasPrefix(line, "#"):
				default:
					t.Fatalf("%s:%d: bad transcript line %q", f, n+1, line)
				}
			}
		})
	}
}

func transcriptPattern(s string) *regexp.Regexp {
	parts := strings.Split(s, "<*>")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}
