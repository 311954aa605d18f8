package sieve

// argKind is the kind of one argument in the syntax tree.
type argKind int

const (
	argTag argKind = iota
	argNumber
	argStrings // a string or a string list
)

// arg is one argument as written: a tag, a number or a string list.
type arg struct {
	kind   argKind
	tag    string // lowercased, without ':'
	num    int64
	strs   []string
	isList bool // written as [ ... ] rather than one string
	pos    Pos
}

// node is a command or a test in the syntax tree.
type node struct {
	name  string // lowercased identifier
	pos   Pos
	args  []arg
	tests []*node
	// block is the command's { } block; hasBlock tells an empty block
	// from none.
	block    []*node
	hasBlock bool
	// testList tells "( test, ... )" from one test.
	testList bool
}
