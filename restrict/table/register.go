package table

import (
	"fmt"
	"sort"
	"sync"
)

// Opener opens a table of one type; name is what follows "type:" in the
// reference (for mysql:, pgsql: and ldap:, the path of the table's
// configuration file).
type Opener func(name string, o *Options) (Table, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a table type available to Open. The types that need a
// database or directory client register themselves when their package
// is imported, so that a program that does not use them links no
// driver:
//
//	import _ "github.com/yubinmail/yubin/restrict/table/mysqltable" // mysql:
//	import _ "github.com/yubinmail/yubin/restrict/table/pgsqltable" // pgsql:
//	import _ "github.com/yubinmail/yubin/restrict/table/ldaptable"  // ldap:
//
// Options.Openers supplies types for one Open without registering them.
// Register panics when typ is registered twice, as database/sql.Register
// does.
func Register(typ string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if open == nil {
		panic("table: Register of a nil Opener for " + typ)
	}
	if _, dup := registry[typ]; dup {
		panic("table: Register called twice for " + typ)
	}
	registry[typ] = open
}

// Registered lists the registered table types, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// opener finds the Opener of typ: the Options' own, then the registry.
func opener(typ string, o *Options) Opener {
	if o != nil {
		if op := o.Openers[typ]; op != nil {
			return op
		}
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[typ]
}

// driverPackages names the package that registers each database-backed
// type, for the error of an Open that finds it missing.
var driverPackages = map[string]string{
	"mysql": "github.com/yubinmail/yubin/restrict/table/mysqltable",
	"pgsql": "github.com/yubinmail/yubin/restrict/table/pgsqltable",
	"ldap":  "github.com/yubinmail/yubin/restrict/table/ldaptable",
}

func notRegistered(ref, typ string) error {
	return &Error{File: ref, Msg: fmt.Sprintf("%v %q: this program does not import %s", ErrUnsupported, typ, driverPackages[typ])}
}
