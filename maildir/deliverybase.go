package maildir

import (
	"os"
	"strconv"
	"time"
)

// pid is this process's ID, in every delivered file's name; asked once
// (os.Getpid is a system call each time).
var pid = strconv.Itoa(os.Getpid())

// deliveryBase is a new message file's base name, as Dovecot makes it:
// "<seconds>.M<microseconds>P<pid>Q<seq>.<host>".
func deliveryBase(now time.Time, seq uint64, host string) string {
	b := make([]byte, 0, 48+len(host))
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = append(b, pid...)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '.')
	b = append(b, host...)
	return string(b)
}
