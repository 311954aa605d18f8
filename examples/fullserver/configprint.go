package main

import (
	"fmt"
	"io"

	"github.com/yubinmail/yubin/config"
)

// printMainAndDovecot is "config" when a dovecot.conf was read: the
// main.cf settings that differ from their defaults as "name = value"
// lines (postconf -n), then the dovecot.conf as Dovecot's syntax
// (doveconf -n), each under a comment naming its file, so that the
// Dovecot half can be pasted back into a dovecot.conf.
func printMainAndDovecot(w io.Writer, c *config.Config, ld *loaded) {
	fmt.Fprintf(w, "# %s\n", ld.file)
	for _, s := range c.NonDefault() {
		if s.Pos.File != ld.file {
			continue // from dovecot.conf, printed below as written there
		}
		fmt.Fprintf(w, "%s = %s\n", s.Key(), s.Value)
	}
	fmt.Fprintf(w, "\n# %s\n", ld.dovecot)
	config.WriteDovecot(w, ld.dovecotRoot)
}
