package pop3

// handler runs one command. States says where the command is allowed.
type handler struct {
	auth, trans bool
	run         func(s *session, c command)
}

// commands maps keywords to handlers; one file per command.
var commands map[string]handler

func init() {
	commands = map[string]handler{
		"CAPA": {true, true, (*session).cmdCapa},
		"QUIT": {true, true, (*session).cmdQuit},
		"NOOP": {false, true, (*session).cmdNoop},
		"USER": {true, false, (*session).cmdUser},
		"PASS": {true, false, (*session).cmdPass},
		"APOP": {true, false, (*session).cmdAPOP},
		"AUTH": {true, false, (*session).cmdAuth},
		"STLS": {true, false, (*session).cmdSTLS},
		"STAT": {false, true, (*session).cmdStat},
		"LIST": {false, true, (*session).cmdList},
		"RETR": {false, true, (*session).cmdRetr},
		"TOP":  {false, true, (*session).cmdTop},
		"DELE": {false, true, (*session).cmdDele},
		"RSET": {false, true, (*session).cmdRset},
		"UIDL": {false, true, (*session).cmdUIDL},
	}
}

func (s *session) dispatch(c command) {
	h, ok := commands[c.name]
	switch {
	case !ok:
		s.fail(&Error{Text: "Unknown command: " + quoteArg(c.name)})
	case s.state == stateAuthorization && !h.auth:
		s.fail(errNotLoggedIn)
	case s.state == stateTransaction && !h.trans:
		s.fail(errLoggedIn)
	case s.state == stateTransaction && s.lockLost():
		s.endLockLost()
	case c.name == "RETR" || c.name == "TOP":
		s.countMessageCommand(h, c)
	default:
		h.run(s, c)
	}
}
