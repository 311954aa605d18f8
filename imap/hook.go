package imap

import "time"

// hookState is what Server.CommandHook learns of the command in hand:
// its verb as read, whether it is a UID command, and the kind of the
// tagged reply written for it ("OK", "NO", "BAD"; "" for none).
type hookState struct {
	verb   string
	uid    bool
	tagged string
}

// runHook reports the command that started at start to
// Server.CommandHook.
func (c *conn) runHook(start time.Time) {
	c.srv.CommandHook(hookName(c.hook.verb, c.hook.uid), c.hook.tagged == "OK", time.Since(start))
}

// hookName bounds a client's verb to the commands the server knows:
// "FETCH", "UID FETCH", and "UNKNOWN" for anything else, so that the
// name is safe as a metric label.
func hookName(verb string, uid bool) string {
	cmd, ok := commands[verb]
	switch {
	case !ok || uid && !cmd.uid:
		return "UNKNOWN"
	case uid:
		return uidNames[verb]
	}
	return verb
}

// uidNames are the names of the UID forms, built once so that the hook
// does not allocate.
var uidNames = map[string]string{}

func init() {
	for verb, cmd := range commands {
		if cmd.uid {
			uidNames[verb] = "UID " + verb
		}
	}
}
