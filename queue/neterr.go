package queue

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// connErrText is the reason of a failed connection as Postfix words it
// ("Connection refused", "Connection timed out"), without Go's
// decoration.
func connErrText(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return capitalize(errno.Error())
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "Connection timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	return "connection failed"
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func splitHostPort(s string) (string, string, error) { return net.SplitHostPort(s) }
