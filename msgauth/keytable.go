package msgauth

import (
	"bufio"
	"crypto"
	"fmt"
	"os"
	"path"
	"strings"
)

// KeyStore chooses the keys that sign a message, from the address in its
// From header field. Implementations must be safe for concurrent use.
type KeyStore interface {
	SigningKeys(from string) []*Key
}

// DomainKeys is the simple key store: the keys of each sender domain
// (lower case), typically one RSA-2048 and one Ed25519 key so that every
// message carries both signatures. Mail from a domain that is not listed
// is not signed.
type DomainKeys map[string][]*Key

// SigningKeys returns the keys of from's domain.
func (d DomainKeys) SigningKeys(from string) []*Key {
	return d[addrDomain(from)]
}

// OpenDKIMTables is a key store read from OpenDKIM's KeyTable and
// SigningTable (refile: syntax), the layout Postfix+OpenDKIM hosts
// already have:
//
//	# KeyTable: name domain:selector:keyfile
//	rsa._domainkey.example.jp   example.jp:rsa:/etc/dkimkeys/rsa.private
//	ed._domainkey.example.jp    example.jp:ed:/etc/dkimkeys/ed.private
//	# SigningTable: pattern name
//	*@example.jp   rsa._domainkey.example.jp
//	*@example.jp   ed._domainkey.example.jp
//
// A SigningTable pattern is a glob on the lower-cased From address ("*"
// matches any run of characters), an address, or a bare domain. Every
// matching line adds its key, in file order, as OpenDKIM does with
// MultipleSignatures yes; a domain of "%" in the KeyTable means the From
// address's domain.
type OpenDKIMTables struct {
	keys  map[string]*tableKey
	lines []signingLine
}

type tableKey struct {
	domain, selector string
	signer           crypto.Signer
}

type signingLine struct {
	pattern string
	key     string
}

// Table size limits: OpenDKIM tables are admin files, but a runaway file
// should not take the server's memory.
const (
	maxTableLines = 100000
	maxTableLine  = 4096
)

// LoadOpenDKIMTables reads a KeyTable and a SigningTable file and the
// private keys the KeyTable names.
func LoadOpenDKIMTables(keyTable, signingTable string) (*OpenDKIMTables, error) {
	kt, err := readTable(keyTable)
	if err != nil {
		return nil, err
	}
	st, err := readTable(signingTable)
	if err != nil {
		return nil, err
	}
	return ParseOpenDKIMTables(kt, st, LoadPrivateKey)
}

// ParseOpenDKIMTables builds the tables from their lines (comments and
// blank lines already removed or not), loading each KeyTable key file
// through loadKey.
func ParseOpenDKIMTables(keyTable, signingTable []string, loadKey func(path string) (crypto.Signer, error)) (*OpenDKIMTables, error) {
	t := &OpenDKIMTables{keys: map[string]*tableKey{}}
	for i, line := range keyTable {
		f := strings.Fields(stripComment(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("msgauth: KeyTable line %d: want \"name domain:selector:keyfile\"", i+1)
		}
		parts := strings.SplitN(f[1], ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("msgauth: KeyTable line %d: want domain:selector:keyfile, got %q", i+1, f[1])
		}
		signer, err := loadKey(parts[2])
		if err != nil {
			return nil, fmt.Errorf("msgauth: KeyTable line %d: %w", i+1, err)
		}
		t.keys[strings.ToLower(f[0])] = &tableKey{domain: strings.ToLower(parts[0]), selector: parts[1], signer: signer}
	}
	for i, line := range signingTable {
		f := strings.Fields(stripComment(line))
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("msgauth: SigningTable line %d: want \"pattern keyname\"", i+1)
		}
		name := strings.ToLower(f[1])
		if _, ok := t.keys[name]; !ok {
			return nil, fmt.Errorf("msgauth: SigningTable line %d: key %q is not in the KeyTable", i+1, f[1])
		}
		if _, err := path.Match(strings.ToLower(f[0]), ""); err != nil {
			return nil, fmt.Errorf("msgauth: SigningTable line %d: bad pattern %q", i+1, f[0])
		}
		t.lines = append(t.lines, signingLine{pattern: strings.ToLower(f[0]), key: name})
	}
	return t, nil
}

// SigningKeys returns the keys of every SigningTable line that matches from.
func (t *OpenDKIMTables) SigningKeys(from string) []*Key {
	from = strings.ToLower(strings.TrimSpace(from))
	domain := addrDomain(from)
	var out []*Key
	seen := map[string]bool{}
	for _, l := range t.lines {
		if seen[l.key] || !matchSigning(l.pattern, from, domain) {
			continue
		}
		seen[l.key] = true
		k := t.keys[l.key]
		d := k.domain
		if d == "%" {
			d = domain
		}
		out = append(out, &Key{Domain: d, Selector: k.selector, Signer: k.signer})
	}
	return out
}

func matchSigning(pattern, from, domain string) bool {
	switch {
	case strings.ContainsAny(pattern, "*?["):
		// "/" has no special meaning in addresses; path.Match treats it
		// as a separator, which no address pattern relies on.
		ok, _ := path.Match(pattern, from)
		return ok
	case strings.Contains(pattern, "@"):
		return pattern == from
	default:
		return pattern == domain
	}
}

func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	return line
}

func readTable(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1024), maxTableLine)
	var lines []string
	for sc.Scan() {
		if len(lines) >= maxTableLines {
			return nil, fmt.Errorf("msgauth: %s: more than %d lines", name, maxTableLines)
		}
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("msgauth: %s: %w", name, err)
	}
	return lines, nil
}
