package imapmsg

// body writes the BODY / BODYSTRUCTURE of part p (RFC 9051 7.5.2).
func (w *wireWriter) body(p *Part, ext bool) {
	w.WriteByte('(')
	if p.IsMultipart() {
		if len(p.Children) == 0 {
			// IMAP needs at least one part: an empty text/plain, as
			// Dovecot reports a multipart without (valid) parts.
			w.body(&Part{Type: "text", Subtype: "plain", Encoding: ""}, ext)
		}
		for _, c := range p.Children {
			w.body(c, ext)
		}
		w.WriteByte(' ')
		w.str(p.Subtype, false, false)
		if ext {
			w.WriteByte(' ')
			w.params(p.Params, false)
			w.WriteByte(' ')
			w.extTail(p)
		}
		w.WriteByte(')')
		return
	}
	w.str(p.Type, false, false)
	w.WriteByte(' ')
	w.str(p.Subtype, false, false)
	w.WriteByte(' ')
	w.params(p.Params, equalFoldASCII(p.Type, "text"))
	w.WriteByte(' ')
	w.nstr(p.ID)
	w.WriteByte(' ')
	w.nstr(p.Description)
	w.WriteByte(' ')
	if p.Encoding == "" {
		w.WriteString(`"7bit"`)
	} else {
		w.str(p.Encoding, false, false)
	}
	w.WriteByte(' ')
	w.num(p.BodySize)
	switch {
	case p.Message != nil:
		w.WriteByte(' ')
		w.envelope(envelopeOf(p.Message.Header))
		w.WriteByte(' ')
		w.body(p.Message, ext)
		w.WriteByte(' ')
		w.num(p.Lines)
	case equalFoldASCII(p.Type, "text"):
		w.WriteByte(' ')
		w.num(p.Lines)
	}
	if ext {
		w.WriteByte(' ')
		w.nstr(p.MD5)
		w.WriteByte(' ')
		w.extTail(p)
	}
	w.WriteByte(')')
}

// extTail writes the disposition, language and location extension data.
func (w *wireWriter) extTail(p *Part) {
	if p.Disposition == "" {
		w.WriteString("NIL")
	} else {
		w.WriteByte('(')
		w.str(p.Disposition, false, false)
		w.WriteByte(' ')
		w.params(p.DispositionParams, false)
		w.WriteByte(')')
	}
	w.WriteByte(' ')
	switch len(p.Language) {
	case 0:
		w.WriteString("NIL")
	default:
		w.WriteByte('(')
		for i, l := range p.Language {
			if i > 0 {
				w.WriteByte(' ')
			}
			w.str(l, false, false)
		}
		w.WriteByte(')')
	}
	w.WriteByte(' ')
	w.nstr(p.Location)
}

// params writes a parameter list, adding charset us-ascii for text parts
// that do not name one.
func (w *wireWriter) params(ps []Param, text bool) {
	addCharset := false
	if text {
		_, has := findParam(ps, "charset")
		addCharset = !has
	}
	if len(ps) == 0 && !addCharset {
		w.WriteString("NIL")
		return
	}
	w.WriteByte('(')
	for i, p := range ps {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.str(p.Name, false, false)
		w.WriteByte(' ')
		w.str(p.Value, false, false)
	}
	if addCharset {
		if len(ps) > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(`"charset" "us-ascii"`)
	}
	w.WriteByte(')')
}
