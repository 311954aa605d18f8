package managesieve

import (
	"context"
	"errors"
	"strconv"

	"github.com/yubinmail/yubin/sieve/sievestore"
)

// scriptCommand runs a command of the authenticated state.
func (s *session) scriptCommand(c command) {
	switch c.name {
	case "PUTSCRIPT":
		if a, ok := s.stringArgs(c, 2); ok {
			s.putScript(a[0], []byte(a[1]))
		}
	case "CHECKSCRIPT":
		if a, ok := s.stringArgs(c, 1); ok {
			s.checkScript([]byte(a[0]))
		}
	case "HAVESPACE":
		s.cmdHaveSpace(c)
	case "LISTSCRIPTS":
		if s.noArgs(c) {
			s.listScripts()
		}
	case "SETACTIVE":
		if a, ok := s.stringArgs(c, 1); ok {
			s.setActive(a[0])
		}
	case "GETSCRIPT":
		if a, ok := s.stringArgs(c, 1); ok {
			s.getScript(a[0])
		}
	case "DELETESCRIPT":
		if a, ok := s.stringArgs(c, 1); ok {
			s.deleteScript(a[0])
		}
	case "RENAMESCRIPT":
		if a, ok := s.stringArgs(c, 2); ok {
			s.renameScript(a[0], a[1])
		}
	}
}

// storeError maps a Scripts error to its response, as Pigeonhole words
// them; name is the script the command was about.
func (s *session) storeError(err error, name string) error {
	var qe *sievestore.QuotaError
	switch {
	case errors.As(err, &qe):
		return &Error{Code: "QUOTA/" + string(qe.Kind), Text: qe.Error()}
	case errors.Is(err, sievestore.ErrNotFound):
		return &Error{Code: CodeNonexistent, Text: "Sieve script `" + name + "' not found"}
	case errors.Is(err, sievestore.ErrExists):
		return &Error{Code: CodeAlreadyExists, Text: "A sieve script with that name already exists."}
	case errors.Is(err, sievestore.ErrActive):
		return &Error{Code: CodeActive, Text: "Cannot delete the active Sieve script."}
	case errors.Is(err, sievestore.ErrInvalidName):
		return invalidName(name)
	}
	return err // an *Error, or logged and answered TRYLATER
}

// invalidName is PUTSCRIPT's answer to a bad name; badName is the
// other commands', in Pigeonhole's words.
func invalidName(name string) *Error {
	return &Error{Text: "Invalid Sieve script name `" + sanitize(name) + "'."}
}

func badName(name string) *Error {
	return &Error{Text: "Invalid script name `" + sanitize(name) + "'."}
}

// sanitize keeps control characters of a client's string out of a
// reply and shortens it to 80 bytes, as Dovecot's str_sanitize.
func sanitize(s string) string {
	const max = 80
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	if len(b) > max {
		n := max - 3
		for n > 0 && b[n]&0xc0 == 0x80 {
			n-- // not inside a UTF-8 sequence
		}
		b = append(b[:n:n], "..."...)
	}
	return string(b)
}

// check runs Server.Check; err is nil when the script compiles, and
// warnings then holds what the OK's WARNINGS code carries, if anything.
func (s *session) check(name string, script []byte) (warnings string, err error) {
	if s.srv.Check == nil {
		return "", nil
	}
	ctx := s.ctx
	if s.scripts != nil {
		ctx = context.WithValue(ctx, scriptsKey{}, s.scripts)
	}
	err = s.srv.Check(ctx, name, script)
	var se *ScriptError
	var sw *ScriptWarnings
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &sw):
		return sw.Text, nil
	case errors.As(err, &se):
		return "", &Error{Text: se.Text}
	}
	s.log.Warn("managesieve: script check failed", "err", err)
	return "", errInternal
}

// okWarnings answers a command that succeeded, with the script's
// warnings when there are any.
func (s *session) okWarnings(warnings, text string) {
	if warnings != "" {
		s.ok(CodeWarnings, warnings)
		return
	}
	s.ok("", text)
}

// putScript is PUTSCRIPT (RFC 5804 section 2.6): quota, compile,
// store.
func (s *session) putScript(name string, script []byte) {
	if !sievestore.ValidName(name) {
		s.reply(invalidName(name))
		return
	}
	if err := s.scripts.HaveSpace(s.ctx, name, int64(len(script))); err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	warnings, err := s.check(name, script)
	if err != nil {
		s.reply(err)
		return
	}
	if err := s.scripts.Put(s.ctx, name, script); err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	s.log.Info("managesieve: putscript", "script", name, "size", len(script))
	s.okWarnings(warnings, "PUTSCRIPT completed.")
}

// checkScript is CHECKSCRIPT (RFC 5804 section 2.12).
func (s *session) checkScript(script []byte) {
	if max := orDefault(s.srv.MaxScriptSize, DefaultMaxScriptSize); int64(len(script)) > max {
		s.fail(&Error{Code: CodeQuotaMaxSize, Text: "Script is too large (max " + itoa(max) + " bytes)."})
		return
	}
	warnings, err := s.check("", script)
	if err != nil {
		s.reply(err)
		return
	}
	s.okWarnings(warnings, "Script checked successfully.")
}

// cmdHaveSpace is HAVESPACE name size (RFC 5804 section 2.5), with
// Pigeonhole's answers to bad arguments.
func (s *session) cmdHaveSpace(c command) {
	switch {
	case len(c.args) < 2:
		s.fail(argError(c, "Missing arguments."))
		return
	case len(c.args) > 2:
		s.fail(argError(c, "Too many arguments."))
		return
	case c.args[0].kind != argString:
		s.reply(&Error{Text: "Invalid string for scriptname."})
		return
	}
	size, err := strconv.ParseUint(c.args[1].s, 10, 64)
	if c.args[1].kind != argAtom || err != nil {
		s.reply(&Error{Text: "Invalid scriptsize argument."})
		return
	}
	name := c.args[0].s
	if !sievestore.ValidName(name) {
		s.reply(&Error{Text: "Invalid script name."})
		return
	}
	if max := orDefault(s.srv.MaxScriptSize, DefaultMaxScriptSize); size > uint64(max) {
		s.reply(&Error{Code: CodeQuotaMaxSize, Text: "Script is too large (max " + itoa(max) + " bytes)."})
		return
	}
	if err := s.scripts.HaveSpace(s.ctx, name, int64(size)); err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	s.ok("", "Putscript would succeed.")
}

// listScripts is LISTSCRIPTS (RFC 5804 section 2.7).
func (s *session) listScripts() {
	list, err := s.scripts.List(s.ctx)
	if err != nil {
		s.reply(s.storeError(err, ""))
		return
	}
	for _, sc := range list {
		b := appendString(nil, sc.Name)
		if sc.Active {
			b = append(b, " ACTIVE"...)
		}
		s.write(append(b, "\r\n"...))
	}
	s.ok("", "Listscripts completed.")
}

// setActive is SETACTIVE (RFC 5804 section 2.8); "" deactivates.
func (s *session) setActive(name string) {
	if name == "" {
		list, err := s.scripts.List(s.ctx)
		if err != nil {
			s.reply(s.storeError(err, ""))
			return
		}
		active := false
		for _, sc := range list {
			active = active || sc.Active
		}
		if err := s.scripts.SetActive(s.ctx, ""); err != nil {
			s.reply(s.storeError(err, ""))
			return
		}
		if active {
			s.ok("", "Active script is now deactivated.")
		} else {
			s.ok("", "No scripts currently active.")
		}
		return
	}
	if !sievestore.ValidName(name) {
		s.reply(badName(name))
		return
	}
	if err := s.scripts.SetActive(s.ctx, name); err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	s.log.Info("managesieve: setactive", "script", name)
	s.ok("", "Setactive completed.")
}

// getScript is GETSCRIPT (RFC 5804 section 2.9).
func (s *session) getScript(name string) {
	if !sievestore.ValidName(name) {
		s.reply(badName(name))
		return
	}
	body, err := s.scripts.Get(s.ctx, name)
	if err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	s.write([]byte("{" + strconv.Itoa(len(body)) + "}\r\n"))
	s.write(body)
	s.write([]byte("\r\n"))
	s.ok("", "Getscript completed.")
}

// deleteScript is DELETESCRIPT (RFC 5804 section 2.10).
func (s *session) deleteScript(name string) {
	if !sievestore.ValidName(name) {
		s.reply(badName(name))
		return
	}
	if err := s.scripts.Delete(s.ctx, name); err != nil {
		s.reply(s.storeError(err, name))
		return
	}
	s.log.Info("managesieve: deletescript", "script", name)
	s.ok("", "Deletescript completed.")
}

// renameScript is RENAMESCRIPT (RFC 5804 section 2.11.1).
func (s *session) renameScript(oldName, newName string) {
	// Pigeonhole's order: the old name, that it exists, the new name.
	if !sievestore.ValidName(oldName) {
		s.reply(badName(oldName))
		return
	}
	if !sievestore.ValidName(newName) {
		if _, err := s.scripts.Get(s.ctx, oldName); err != nil {
			s.reply(s.storeError(err, oldName))
			return
		}
		s.fail(&Error{Text: "Invalid new Sieve script name `" + sanitize(newName) + "'."})
		return
	}
	if err := s.scripts.Rename(s.ctx, oldName, newName); err != nil {
		s.reply(s.storeError(err, oldName))
		return
	}
	s.log.Info("managesieve: renamescript", "script", oldName, "new", newName)
	s.ok("", "Renamescript completed.")
}
