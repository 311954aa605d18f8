package sieve

// parser builds the syntax tree from tokens (RFC 5228 section 8.2).
type parser struct {
	lx    *lexer
	tok   token
	depth int
	max   int // MaxNesting
}

func (p *parser) advance() *Error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(pos Pos, format string, args ...any) *Error {
	return p.lx.errf(pos, format, args...)
}

// parseScript parses a whole script into its top-level commands.
func parseScript(src []byte, maxNesting int) ([]*node, *Error) {
	p := &parser{lx: newLexer(src), max: maxNesting}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errf(p.tok.pos, "unexpected %s found at (the presumed) end of file", p.tok.describe())
	}
	return cmds, nil
}

func (p *parser) commands() ([]*node, *Error) {
	var out []*node
	for p.tok.kind == tokIdent {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) command() (*node, *Error) {
	n := &node{name: p.tok.text, pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(n); err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokSemicolon:
		return n, p.advance()
	case tokLBrace:
		p.depth++
		if p.depth > p.max {
			return nil, p.errf(p.tok.pos, "cannot nest command blocks deeper than %d levels", p.max)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		block, err := p.commands()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRBrace {
			if p.tok.kind == tokEOF {
				return nil, p.errf(p.tok.pos, "expected end of compound block '}', but found end of file")
			}
			return nil, p.errf(p.tok.pos, "expected command or end of block '}', but found %s", p.tok.describe())
		}
		p.depth--
		n.block, n.hasBlock = block, true
		return n, p.advance()
	}
	return nil, p.errf(p.tok.pos, "expected end of command ';' or the beginning of a compound block '{', but found %s", p.tok.describe())
}

// arguments reads *argument [ test / test-list ].
func (p *parser) arguments(n *node) *Error {
	for {
		switch p.tok.kind {
		case tokTag:
			n.args = append(n.args, arg{kind: argTag, tag: p.tok.text, pos: p.tok.pos})
			if err := p.advance(); err != nil {
				return err
			}
			continue
		case tokNumber:
			n.args = append(n.args, arg{kind: argNumber, num: p.tok.num, pos: p.tok.pos})
			if err := p.advance(); err != nil {
				return err
			}
			continue
		case tokString, tokMultiline:
			n.args = append(n.args, arg{kind: argStrings, strs: []string{p.tok.text}, pos: p.tok.pos})
			if err := p.advance(); err != nil {
				return err
			}
			continue
		case tokLBracket:
			a, err := p.stringList()
			if err != nil {
				return err
			}
			n.args = append(n.args, a)
			continue
		}
		break
	}
	switch p.tok.kind {
	case tokIdent:
		t, err := p.test()
		if err != nil {
			return err
		}
		n.tests = []*node{t}
	case tokLParen:
		p.depth++
		if p.depth > p.max {
			return p.errf(p.tok.pos, "cannot nest tests deeper than %d levels", p.max)
		}
		if err := p.advance(); err != nil {
			return err
		}
		n.testList = true
		for first := true; ; first = false {
			if p.tok.kind != tokIdent {
				after := "','"
				if first {
					after = "'('"
				}
				return p.errf(p.tok.pos, "expecting test identifier after %s in test list, but found %s", after, p.tok.describe())
			}
			t, err := p.test()
			if err != nil {
				return err
			}
			n.tests = append(n.tests, t)
			if p.tok.kind == tokComma {
				if err := p.advance(); err != nil {
					return err
				}
				continue
			}
			if p.tok.kind == tokRParen {
				p.depth--
				return p.advance()
			}
			return p.errf(p.tok.pos, "expected ',' or end of test list ')', but found %s", p.tok.describe())
		}
	}
	return nil
}

func (p *parser) test() (*node, *Error) {
	p.depth++
	if p.depth > p.max {
		return nil, p.errf(p.tok.pos, "cannot nest tests deeper than %d levels", p.max)
	}
	n := &node{name: p.tok.text, pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(n); err != nil {
		return nil, err
	}
	p.depth--
	return n, nil
}

func (p *parser) stringList() (arg, *Error) {
	a := arg{kind: argStrings, isList: true, pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return a, err
	}
	for first := true; ; first = false {
		if p.tok.kind != tokString && p.tok.kind != tokMultiline {
			after := "','"
			if first {
				after = "'['"
			}
			return a, p.errf(p.tok.pos, "expecting string after %s in string list, but found %s", after, p.tok.describe())
		}
		a.strs = append(a.strs, p.tok.text)
		if err := p.advance(); err != nil {
			return a, err
		}
		switch p.tok.kind {
		case tokComma:
			if err := p.advance(); err != nil {
				return a, err
			}
		case tokRBracket:
			return a, p.advance()
		default:
			return a, p.errf(p.tok.pos, "expecting ',' or end of string list ']', but found %s", p.tok.describe())
		}
	}
}
