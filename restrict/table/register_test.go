package table

import (
	"context"
	"strings"
	"testing"
)

// TestOpenersOverride: Options.Openers answers for a type in one Open,
// before the registry, and gets the name after "type:".
func TestOpenersOverride(t *testing.T) {
	t.Parallel()
	var gotName string
	o := &Options{Openers: map[string]Opener{"mysql": func(name string, o *Options) (Table, error) {
		gotName = name
		return Static("from-opener"), nil
	}}}
	tbl, err := Open("mysql:/etc/postfix/x.cf", o)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := tbl.Lookup(context.Background(), "k"); !ok || v != "from-opener" || gotName != "/etc/postfix/x.cf" {
		t.Fatalf("lookup %q %v, opener saw %q", v, ok, gotName)
	}
}

// TestNotRegisteredSaysWhatToImport: a database type whose package the
// program did not import is refused with the import that provides it.
func TestNotRegisteredSaysWhatToImport(t *testing.T) {
	t.Parallel()
	for typ, pkg := range driverPackages {
		err := notRegistered(typ+":/x.cf", typ)
		if !strings.Contains(err.Error(), pkg) || !strings.Contains(err.Error(), ErrUnsupported.Error()) {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// TestRegisterTwicePanics: registering a type twice is a programming
// error, as with database/sql drivers.
func TestRegisterTwicePanics(t *testing.T) {
	Register("test-register-twice", func(string, *Options) (Table, error) { return Static(""), nil })
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Register("test-register-twice", func(string, *Options) (Table, error) { return Static(""), nil })
}
