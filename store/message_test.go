package store

import (
	"reflect"
	"testing"
)

func TestFlagsApply(t *testing.T) {
	f := Flags{System: Seen, Keywords: []string{"$Important"}}
	add := f.Apply(FlagsAdd, Flags{System: Flagged, Keywords: []string{"$important", "NonJunk"}})
	if add.System != Seen|Flagged || !reflect.DeepEqual(add.Keywords, []string{"$Important", "NonJunk"}) {
		t.Fatalf("add = %+v", add)
	}
	rm := add.Apply(FlagsRemove, Flags{System: Seen, Keywords: []string{"NONJUNK"}})
	if rm.System != Flagged || !reflect.DeepEqual(rm.Keywords, []string{"$Important"}) {
		t.Fatalf("remove = %+v", rm)
	}
	rep := rm.Apply(FlagsReplace, Flags{System: Draft, Keywords: []string{"a", "A"}})
	if rep.System != Draft || !reflect.DeepEqual(rep.Keywords, []string{"a"}) {
		t.Fatalf("replace = %+v", rep)
	}
	if !(Flags{Keywords: []string{"x", "Y"}}).Equal(Flags{Keywords: []string{"y", "X"}}) {
		t.Fatal("Equal ignores order and case")
	}
	add.Keywords[0] = "changed"
	if f.Keywords[0] != "$Important" {
		t.Fatal("Apply shared a slice with its receiver")
	}
}

func TestSystemFlagNames(t *testing.T) {
	if got := (Seen | Deleted | Answered).Names(); !reflect.DeepEqual(got, []string{`\Answered`, `\Deleted`, `\Seen`}) {
		t.Fatalf("Names = %v", got)
	}
	if f, ok := ParseSystemFlag(`\SEEN`); !ok || f != Seen {
		t.Fatal("ParseSystemFlag is case-insensitive")
	}
	if _, ok := ParseSystemFlag(`\Recent`); ok {
		t.Fatal(`\Recent is not a stored flag`)
	}
}

func TestQuotaExceeds(t *testing.T) {
	q := Quota{StorageUsed: 90, StorageLimit: 100, MessagesUsed: 4, MessagesLimit: 5}
	if q.Exceeds(10) || !q.Exceeds(11) {
		t.Fatal("storage limit")
	}
	q.MessagesUsed = 5
	if !q.Exceeds(1) {
		t.Fatal("message limit")
	}
	if (Quota{StorageUsed: 1 << 40}).Exceeds(1 << 40) {
		t.Fatal("zero limit is unlimited")
	}
}
