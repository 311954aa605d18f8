package auth

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestVerboseLoginLine: a successful login is logged at Info only with
// Verbose (Dovecot's auth_verbose = yes), at Debug otherwise; a failed
// one is logged either way.
func TestVerboseLoginLine(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		s := &Service{PassDB: memDB{"u@d": "pw"}, FailureDelay: -1, PenaltyBase: -1, AllowPlaintext: true, Logger: log, Verbose: verbose}
		c := &ConnInfo{Service: "imap", RemoteAddr: tcpAddr("203.0.113.9:5000")}
		if _, err := s.Login(context.Background(), c, "u@d", "pw"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "auth: login"); got != verbose {
			t.Errorf("Verbose %v: login line at Info %v:\n%s", verbose, got, buf.String())
		}
		buf.Reset()
		if _, err := s.Login(context.Background(), c, "u@d", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
		if buf.Len() == 0 {
			t.Errorf("Verbose %v: a failed login logged nothing at Info", verbose)
		}
	}
}
