package config

import (
	"bufio"
	"io"
	"strings"
)

// WriteDovecot writes root in Dovecot 2.3's own syntax, the way
// "doveconf -n" prints a configuration: "key = value" lines, then each
// section as "type name {" with its contents indented by two spaces and
// a closing "}". Included files appear where their !include stood; a
// "<file" value keeps its "<". A section name with white space or
// braces, and a value that would not read back the same (leading or
// trailing space, a "#", a quote at the start), are quoted.
func WriteDovecot(w io.Writer, root *DovecotSection) error {
	bw := bufio.NewWriter(w)
	writeDovecotSection(bw, root, "")
	return bw.Flush()
}

func writeDovecotSection(w *bufio.Writer, s *DovecotSection, indent string) {
	for _, st := range s.Settings {
		w.WriteString(indent + st.Key + " = " + dovecotQuote(st.Value, false) + "\n")
	}
	for _, sub := range s.Sections {
		w.WriteString(indent + sub.Type)
		if sub.Name != "" {
			w.WriteString(" " + dovecotQuote(sub.Name, true))
		}
		w.WriteString(" {\n")
		writeDovecotSection(w, sub, indent+"  ")
		w.WriteString(indent + "}\n")
	}
}

// dovecotQuote quotes v when Dovecot would not read it back as it is.
func dovecotQuote(v string, name bool) string {
	need := v != strings.TrimSpace(v) || strings.ContainsAny(v, "#\n") ||
		strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'")
	if name {
		need = need || v == "" || strings.ContainsAny(v, " \t{}=")
	}
	if !need {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
