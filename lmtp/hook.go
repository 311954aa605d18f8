package lmtp

import "time"

// hookState is what Server.CommandHook learns of the replies of the
// command in hand: the code of the last one, and whether any was 4xx or
// 5xx.
type hookState struct {
	last   int
	failed bool
}

func (h *hookState) reply(code int) {
	h.last = code
	if code >= 400 {
		h.failed = true
	}
}

// hookVerbs are the verbs CommandHook reports by name; any other is
// "UNKNOWN".
var hookVerbs = map[string]bool{
	"LHLO": true, "HELO": true, "EHLO": true, "STARTTLS": true, "MAIL": true, "RCPT": true,
	"DATA": true, "BDAT": true, "RSET": true, "NOOP": true, "VRFY": true, "QUIT": true,
}

// hookedCommand runs one command like command and reports it to
// Server.CommandHook.
func (ss *session) hookedCommand(line []byte, err error) (end bool) {
	ss.hook = hookState{}
	start := time.Now()
	verb, end := ss.command(line, err)
	if !hookVerbs[verb] {
		verb = "UNKNOWN"
	}
	ok := !ss.hook.failed && ss.hook.last >= 200 && ss.hook.last < 300
	ss.srv.CommandHook(verb, ok, time.Since(start))
	return end
}
