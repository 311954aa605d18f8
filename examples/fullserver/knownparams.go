package main

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/config"
)

//go:generate go test -run ^TestKnownParamsCurrent$ -update-known

// The parameter names and defaults of the programs whose configuration
// this host reads, as "postconf -d" (Postfix 3.7) and "doveconf -d"
// (Dovecot 2.3, top-level settings only) print them. A name in them
// that this host does not implement is accepted with a check warning
// instead of refused, and $name expands to its default there. Postfix's
// per-transport names are stored as "*_time_limit" and the like, for
// any transport (dovecot_destination_recipient_limit).
// TestKnownParamsCurrent runs both programs and fails when a list is
// out of date; go generate rewrites them.
var (
	//go:embed knownparams_postfix.txt
	knownPostfixText string
	//go:embed knownparams_dovecot.txt
	knownDovecotText string
)

// The programs the lists come from, as check names them.
const (
	knownPostfix = "Postfix 3.7"
	knownDovecot = "Dovecot 2.3"
)

// knownLists parses the embedded lists once; they never change.
var knownLists = sync.OnceValues(func() (postfix, dovecot map[string]string) {
	return parseKnown(knownPostfixText), parseKnown(knownDovecotText)
})

// parseKnown reads "name = value" lines; # comments and blank lines are
// skipped.
func parseKnown(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " =")
		if !ok {
			continue
		}
		out[name] = strings.TrimSpace(value)
	}
	return out
}

// addKnownNames lets s accept every Postfix and Dovecot name it does not
// implement itself (Postfix's meaning first where both know a name).
func addKnownNames(s *config.Schema) {
	postfix, dovecot := knownLists()
	s.AddKnown(knownPostfix, postfix)
	s.AddKnown(knownDovecot, dovecot)
}

// knownOnly reports whether name is a Postfix or Dovecot name that this
// host accepts without implementing it.
func knownOnly(s *config.Schema, name string) bool {
	_, ok := s.Known(name)
	return ok
}

// knownWhy is check's reason for warning about a setting of a name
// knownOnly reports.
func knownWhy(s *config.Schema, name string) string {
	program, _ := s.Known(name)
	return "accepted; has no effect in yubin: a " + program + " setting it does not implement"
}
