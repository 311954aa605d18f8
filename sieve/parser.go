package sieve

// parser builds the syntax tree from tokens (RFC 5228 section 8.2).
//
// It recovers from errors as Pigeonhole's parser does, so that a broken
// script gets the same list of errors as sievec and ManageSieve print:
// after an error it skips tokens up to the end of the structure it was
// in (a string list, a test list, a command, a block), minding nesting,
// and goes on. Each parse function returns 1 when the parser is in a
// defined state, 0 when the caller should recover, and -1 when parsing
// must stop.
type parser struct {
	lx    *lexer
	tok   token
	max   int  // MaxNesting, for blocks and for tests
	valid bool // no parse error so far
}

// maxParseErrors is how many errors a parse reports before it stops
// trying to recover (the checker's own limit is the same).
const maxParseErrors = 20

func (p *parser) advance() { p.tok = p.lx.next() }

// errf records an error at the current token. An error about a token
// the lexer already complained of is not repeated, as in Pigeonhole.
func (p *parser) errf(format string, args ...any) {
	if p.tok.kind != tokError {
		p.lx.report(p.lx.errf(p.tok.pos, format, args...))
	}
	p.valid = false
}

func (p *parser) moreAllowed() bool { return len(p.lx.errs) < maxParseErrors }

// parseScript parses a whole script into its top-level commands, or
// returns its lexical and syntax errors in the order found.
func parseScript(src []byte, maxNesting int) ([]*node, []*Error) {
	p := &parser{lx: newLexer(src), max: maxNesting, valid: true}
	p.advance()
	var cmds []*node
	if p.commands(&cmds, 1) > 0 && p.valid {
		if p.tok.kind != tokEOF {
			p.errf("unexpected %s found at (the presumed) end of file", p.tok.describe())
		}
	}
	if len(p.lx.errs) > 0 {
		return nil, p.lx.errs
	}
	return cmds, nil
}

// commands reads commands into *out until a token that cannot start
// one; depth is the block nesting, 1 at the top.
func (p *parser) commands(out *[]*node, depth int) int {
	res := 1
	for res > 0 && p.tok.kind == tokIdent {
		if !p.valid && !p.moreAllowed() {
			res = p.recover(tokSemicolon)
			break
		}
		n := &node{name: p.tok.text, pos: p.tok.pos}
		*out = append(*out, n)
		p.advance()
		res = p.arguments(n, 1)
		if res > 0 && p.tok.kind != tokSemicolon && p.tok.kind != tokLBrace {
			p.errf("expected end of command ';' or the beginning of a compound block '{', but found %s", p.tok.describe())
			res = 0
		}
		if res == 0 {
			res = p.recover(tokSemicolon)
		}
		if res <= 0 {
			return res
		}
		switch p.tok.kind {
		case tokSemicolon:
			p.advance()
		case tokLBrace:
			p.advance()
			if depth+1 > p.max {
				p.errf("cannot nest command blocks deeper than %d levels", p.max)
				if res = p.recover(tokRBrace); res > 0 {
					p.advance()
				}
				break
			}
			n.hasBlock = true
			if res = p.commands(&n.block, depth+1); res > 0 {
				if p.tok.kind != tokRBrace {
					if p.tok.kind == tokEOF {
						p.errf("expected end of compound block '}', but found end of file")
					} else {
						p.errf("expected command or end of block '}', but found %s", p.tok.describe())
					}
					res = p.recover(tokRBrace)
				} else {
					p.advance()
				}
			} else {
				if res < 0 {
					return res
				}
				if res = p.recover(tokRBrace); res > 0 {
					p.advance()
				}
			}
		}
	}
	return res
}

// arguments reads *argument [ test / test-list ] into n; depth is the
// test nesting, 1 for a command's own arguments.
func (p *parser) arguments(n *node, depth int) int {
	res := 1
	for more := true; more && res > 0; {
		if !p.valid && !p.moreAllowed() {
			res = 0
			break
		}
		switch p.tok.kind {
		case tokLBracket:
			var a arg
			a, res = p.stringList()
			n.args = append(n.args, a)
		case tokString, tokMultiline:
			n.args = append(n.args, arg{kind: argStrings, strs: []string{p.tok.text}, pos: p.tok.pos})
			p.advance()
		case tokNumber:
			n.args = append(n.args, arg{kind: argNumber, num: p.tok.num, pos: p.tok.pos})
			p.advance()
		case tokTag:
			n.args = append(n.args, arg{kind: argTag, tag: p.tok.text, pos: p.tok.pos})
			p.advance()
		default:
			more = false
		}
	}
	if res <= 0 {
		return res // the caller recovers
	}
	switch p.tok.kind {
	case tokIdent: // one test
		if depth+1 > p.max {
			p.errf("cannot nest tests deeper than %d levels", p.max)
			return 0
		}
		t := &node{name: p.tok.text, pos: p.tok.pos}
		n.tests = []*node{t}
		p.advance()
		if p.arguments(t, depth+1) == 0 {
			return 0
		}
	case tokLParen: // a test list
		p.advance()
		if depth+1 > p.max {
			p.errf("cannot nest tests deeper than %d levels", p.max)
			if res = p.recover(tokRParen); res > 0 {
				p.advance()
			}
			return res
		}
		n.testList = true
		if p.tok.kind == tokIdent {
			t := &node{name: p.tok.text, pos: p.tok.pos}
			n.tests = append(n.tests, t)
			p.advance()
			if res = p.arguments(t, depth+1); res > 0 {
				for p.tok.kind == tokComma {
					p.advance()
					if !p.valid && !p.moreAllowed() {
						res = p.recover(tokRParen)
						break
					}
					if p.tok.kind != tokIdent {
						p.errf("expecting test identifier after ',' in test list, but found %s", p.tok.describe())
						res = p.recover(tokRParen)
						break
					}
					t := &node{name: p.tok.text, pos: p.tok.pos}
					n.tests = append(n.tests, t)
					p.advance()
					if res = p.arguments(t, depth+1); res <= 0 {
						if res < 0 {
							return res
						}
						res = p.recover(tokRParen)
						break
					}
				}
			} else {
				if res < 0 {
					return res
				}
				res = p.recover(tokRParen)
			}
		} else {
			p.errf("expecting test identifier after '(' in test list, but found %s", p.tok.describe())
			res = p.recover(tokRParen)
		}
		if p.tok.kind == tokRParen {
			p.advance()
		} else {
			p.errf("expecting ',' or end of test list ')', but found %s", p.tok.describe())
			if res = p.recover(tokRParen); res > 0 {
				p.advance()
			}
		}
		if len(n.tests) == 0 {
			p.errf("failed to accept more tests for command '%s'", n.name)
			return -1
		}
	}
	return res
}

// stringList reads "[" string *("," string) "]".
func (p *parser) stringList() (arg, int) {
	a := arg{kind: argStrings, isList: true, pos: p.tok.pos}
	p.advance()
	res := 1
	if p.tok.kind == tokString || p.tok.kind == tokMultiline {
		a.strs = append(a.strs, p.tok.text)
		p.advance()
		for p.tok.kind == tokComma {
			p.advance()
			if !p.valid && !p.moreAllowed() {
				res = p.recover(tokRBracket)
				break
			}
			if p.tok.kind != tokString && p.tok.kind != tokMultiline {
				p.errf("expecting string after ',' in string list, but found %s", p.tok.describe())
				res = p.recover(tokRBracket)
				break
			}
			a.strs = append(a.strs, p.tok.text)
			p.advance()
		}
	} else {
		p.errf("expecting string after '[' in string list, but found %s", p.tok.describe())
		res = p.recover(tokRBracket)
	}
	if p.tok.kind == tokRBracket {
		p.advance()
	} else {
		p.errf("expecting ',' or end of string list ']', but found %s", p.tok.describe())
		if res = p.recover(tokRBracket); res > 0 {
			p.advance()
		}
	}
	return a, res
}

// Grammatical priorities of the tokens that open and close structures,
// for recover: a block outranks a command, which outranks a test list,
// which outranks a string list.
func priority(k tokKind) int {
	switch k {
	case tokLBrace, tokRBrace:
		return 3
	case tokSemicolon:
		return 2
	case tokLParen, tokRParen:
		return 1
	case tokLBracket, tokRBracket:
		return 0
	}
	return -1
}

var (
	openTok  = [4]tokKind{tokLBracket, tokLParen, tokEOF, tokLBrace} // tokEOF: a command has no opener
	closeTok = [4]tokKind{tokRBracket, tokRParen, tokSemicolon, tokRBrace}
)

// recover skips tokens until the one that ends the structure closed by
// end (left as the current token), minding nesting and never crossing
// the end of an enclosing structure of higher priority. It returns 1
// when it found it (for a command, a '{' also counts) and 0 when not.
func (p *parser) recover(end tokKind) int {
	prio := priority(end)
	nesting := 1
	for p.tok.kind != tokEOF && priority(p.tok.kind) <= prio {
		if p.tok.kind == openTok[prio] {
			nesting++
			p.advance()
			continue
		}
		if p.tok.kind == closeTok[prio] {
			nesting--
			if nesting == 0 {
				return 1
			}
		}
		p.advance()
	}
	if end == tokSemicolon && p.tok.kind == tokLBrace {
		return 1
	}
	return 0
}
