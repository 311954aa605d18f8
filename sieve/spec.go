package sieve

// posKind is what one positional argument must be.
type posKind int

const (
	posString     posKind = iota // one string, not a list
	posStringList                // a string or a list
	posNumber
)

// tagSpec describes one tagged argument: the extension it needs, the
// parameter it takes and the group of mutually exclusive tags it is in.
type tagSpec struct {
	ext   string
	param int // -1: none, else a posKind
	group string
}

// cmdSpec describes one command or test.
type cmdSpec struct {
	ext  string
	test bool
	tags map[string]tagSpec
	pos  []posKind
	// optLead is how many leading positional arguments may be left
	// out, optTrail how many trailing ones.
	optLead  int
	optTrail int
	// tests: 0 none, 1 exactly one, 2 a test list.
	tests int
	block bool
}

const noParam = -1

var (
	tagComparator = map[string]tagSpec{"comparator": {param: int(posString), group: "comparator"}}
	tagsMatch     = map[string]tagSpec{
		"is":       {param: noParam, group: "match"},
		"contains": {param: noParam, group: "match"},
		"matches":  {param: noParam, group: "match"},
		"regex":    {ext: "regex", param: noParam, group: "match"},
		"value":    {ext: "relational", param: int(posString), group: "match"},
		"count":    {ext: "relational", param: int(posString), group: "match"},
	}
	tagsAddrPart = map[string]tagSpec{
		"all":       {param: noParam, group: "addrpart"},
		"localpart": {param: noParam, group: "addrpart"},
		"domain":    {param: noParam, group: "addrpart"},
		"user":      {ext: "subaddress", param: noParam, group: "addrpart"},
		"detail":    {ext: "subaddress", param: noParam, group: "addrpart"},
	}
	tagsIndex = map[string]tagSpec{
		"index": {ext: "index", param: int(posNumber), group: "index"},
		"last":  {ext: "index", param: noParam, group: "last"},
	}
	tagsZone = map[string]tagSpec{
		"zone":         {param: int(posString), group: "zone"},
		"originalzone": {param: noParam, group: "zone"},
	}
)

func merge(ms ...map[string]tagSpec) map[string]tagSpec {
	out := map[string]tagSpec{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var (
	sl  = posStringList
	str = posString
)

// specs lists every command and test this package knows, with the
// extension (capability string) each needs; "" is RFC 5228's base.
var specs = map[string]*cmdSpec{
	// Control commands.
	"require": {pos: []posKind{sl}},
	"if":      {tests: 1, block: true},
	"elsif":   {tests: 1, block: true},
	"else":    {block: true},
	"stop":    {},
	// Actions.
	"keep":    {tags: map[string]tagSpec{"flags": {ext: "imap4flags", param: int(sl)}}},
	"discard": {},
	"redirect": {pos: []posKind{str}, tags: map[string]tagSpec{
		"copy": {ext: "copy", param: noParam}}},
	"fileinto": {ext: "fileinto", pos: []posKind{str}, tags: map[string]tagSpec{
		"copy":   {ext: "copy", param: noParam},
		"flags":  {ext: "imap4flags", param: int(sl)},
		"create": {ext: "mailbox", param: noParam}}},
	"reject":  {ext: "reject", pos: []posKind{str}},
	"ereject": {ext: "ereject", pos: []posKind{str}},
	"vacation": {ext: "vacation", pos: []posKind{str}, tags: map[string]tagSpec{
		"days":      {param: int(posNumber), group: "period"},
		"seconds":   {ext: "vacation-seconds", param: int(posNumber), group: "period"},
		"subject":   {param: int(str)},
		"from":      {param: int(str)},
		"addresses": {param: int(sl)},
		"mime":      {param: noParam},
		"handle":    {param: int(str)}}},
	"setflag":    {ext: "imap4flags", pos: []posKind{str, sl}, optLead: 1},
	"addflag":    {ext: "imap4flags", pos: []posKind{str, sl}, optLead: 1},
	"removeflag": {ext: "imap4flags", pos: []posKind{str, sl}, optLead: 1},
	"set": {ext: "variables", pos: []posKind{str, str}, tags: map[string]tagSpec{
		"lower":         {param: noParam, group: "case"},
		"upper":         {param: noParam, group: "case"},
		"lowerfirst":    {param: noParam, group: "casefirst"},
		"upperfirst":    {param: noParam, group: "casefirst"},
		"quotewildcard": {param: noParam, group: "quotewildcard"},
		"quoteregex":    {ext: "regex", param: noParam, group: "quoteregex"},
		"encodeurl":     {ext: "enotify", param: noParam, group: "encodeurl"},
		"length":        {param: noParam, group: "length"}}},
	"include": {ext: "include", pos: []posKind{str}, tags: map[string]tagSpec{
		"personal": {param: noParam, group: "location"},
		"global":   {param: noParam, group: "location"},
		"once":     {param: noParam},
		"optional": {param: noParam}}},
	"return": {ext: "include"},
	"global": {ext: "include", pos: []posKind{sl}},
	"notify": {ext: "enotify", pos: []posKind{str}, tags: map[string]tagSpec{
		"from":       {param: int(str)},
		"importance": {param: int(str)},
		"options":    {param: int(sl)},
		"message":    {param: int(str)}}},
	"addheader": {ext: "editheader", pos: []posKind{str, str}, tags: map[string]tagSpec{
		"last": {param: noParam}}},
	"deleteheader": {ext: "editheader", pos: []posKind{str, sl}, optTrail: 1, tags: merge(tagComparator, tagsMatch, map[string]tagSpec{
		"index": {param: int(posNumber), group: "index"},
		"last":  {param: noParam, group: "last"}})},
	"error": {ext: "ihave", pos: []posKind{str}},

	// Tests.
	"true":    {test: true},
	"false":   {test: true},
	"not":     {test: true, tests: 1},
	"allof":   {test: true, tests: 2},
	"anyof":   {test: true, tests: 2},
	"address": {test: true, pos: []posKind{sl, sl}, tags: merge(tagComparator, tagsMatch, tagsAddrPart, tagsIndex)},
	"envelope": {ext: "envelope", test: true, pos: []posKind{sl, sl},
		tags: merge(tagComparator, tagsMatch, tagsAddrPart)},
	"header": {test: true, pos: []posKind{sl, sl}, tags: merge(tagComparator, tagsMatch, tagsIndex)},
	"exists": {test: true, pos: []posKind{sl}},
	"size": {test: true, pos: []posKind{posNumber}, tags: map[string]tagSpec{
		"over":  {param: noParam, group: "size"},
		"under": {param: noParam, group: "size"}}},
	"body": {ext: "body", test: true, pos: []posKind{sl}, tags: merge(tagComparator, tagsMatch, map[string]tagSpec{
		"raw":     {param: noParam, group: "transform"},
		"content": {param: int(sl), group: "transform"},
		"text":    {param: noParam, group: "transform"}})},
	"string":  {ext: "variables", test: true, pos: []posKind{sl, sl}, tags: merge(tagComparator, tagsMatch)},
	"hasflag": {ext: "imap4flags", test: true, pos: []posKind{sl, sl}, optLead: 1, tags: merge(tagComparator, tagsMatch)},
	"date": {ext: "date", test: true, pos: []posKind{str, str, sl},
		tags: merge(tagComparator, tagsMatch, tagsIndex, tagsZone)},
	"currentdate": {ext: "date", test: true, pos: []posKind{str, sl},
		tags: merge(tagComparator, tagsMatch, map[string]tagSpec{"zone": {param: int(posString), group: "zone"}})},
	"environment":   {ext: "environment", test: true, pos: []posKind{str, sl}, tags: merge(tagComparator, tagsMatch)},
	"mailboxexists": {ext: "mailbox", test: true, pos: []posKind{sl}},
	"duplicate": {ext: "duplicate", test: true, tags: map[string]tagSpec{
		"handle":   {param: int(str)},
		"header":   {param: int(str), group: "id"},
		"uniqueid": {param: int(str), group: "id"},
		"seconds":  {param: int(posNumber)},
		"last":     {param: noParam}}},
	"valid_notify_method": {ext: "enotify", test: true, pos: []posKind{sl}},
	"notify_method_capability": {ext: "enotify", test: true, pos: []posKind{str, str, sl},
		tags: merge(tagComparator, tagsMatch)},
	"spamtest": {ext: "spamtest", test: true, pos: []posKind{str}, tags: merge(tagComparator, tagsMatch,
		map[string]tagSpec{"percent": {ext: "spamtestplus", param: noParam}})},
	"virustest": {ext: "virustest", test: true, pos: []posKind{str}, tags: merge(tagComparator, tagsMatch)},
	"ihave":     {ext: "ihave", test: true, pos: []posKind{sl}},
}
