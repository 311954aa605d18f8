package store_test

import (
	"fmt"

	"github.com/yubinmail/yubin/store"
)

// A protocol builds UID sets from client input, checks names before a
// format sees them, and combines flags the way IMAP STORE does.
func Example() {
	var set store.UIDSet
	set.AddRange(1, 3)
	set.Add(7)
	fmt.Println(set, set.Contains(2), set.Contains(5))

	fmt.Println(store.ValidateName("Archive/2024") == nil, store.ValidateName("../etc") != nil)

	f := store.Flags{System: store.Seen}
	f = f.Apply(store.FlagsAdd, store.Flags{System: store.Flagged, Keywords: []string{"$Important"}})
	fmt.Println(f.System.Names(), f.Keywords)
	// Output:
	// 1:3,7 true false
	// true true
	// [\Flagged \Seen] [$Important]
}
