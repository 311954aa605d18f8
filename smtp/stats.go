package smtp

import (
	"strconv"
	"strings"
)

// statNames is the order Postfix prints its per-command counters in.
var statNames = []string{"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy", "help", "quit", "unknown"}

// commandStats counts commands and their successes for the
// "disconnect from" log line: "ehlo=1 auth=0/1 commands=1/2".
type commandStats struct {
	ok, total [14]int
}

func (c *commandStats) count(name string, ok bool) {
	for i, n := range statNames {
		if n == name {
			c.total[i]++
			if ok {
				c.ok[i]++
			}
			return
		}
	}
}

func (c *commandStats) String() string {
	var b strings.Builder
	var ok, total int
	for i, n := range statNames {
		if c.total[i] == 0 {
			continue
		}
		ok += c.ok[i]
		total += c.total[i]
		b.WriteString(n + "=" + pair(c.ok[i], c.total[i]) + " ")
	}
	if total == 0 {
		b.WriteString("commands=0/0") // as Postfix writes a session without commands
		return b.String()
	}
	b.WriteString("commands=" + pair(ok, total))
	return b.String()
}

func pair(ok, total int) string {
	if ok == total {
		return strconv.Itoa(ok)
	}
	return strconv.Itoa(ok) + "/" + strconv.Itoa(total)
}
