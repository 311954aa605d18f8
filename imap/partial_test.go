package imap

import (
	"reflect"
	"testing"
)

func TestPartialRange(t *testing.T) {
	nums := []uint32{2, 3, 4, 7, 9, 10}
	for _, tc := range []struct {
		in   string
		want []uint32 // nil: empty
		bad  bool
	}{
		{in: "1:3", want: []uint32{2, 3, 4}},
		{in: "3:1", want: []uint32{2, 3, 4}},
		{in: "5:100", want: []uint32{9, 10}},
		{in: "7:8"},
		{in: "-1:-2", want: []uint32{9, 10}},
		{in: "-2:-1", want: []uint32{9, 10}},
		{in: "-3:-100", want: []uint32{2, 3, 4, 7}},
		{in: "-7:-9"},
		{in: "0:2", bad: true},
		{in: "-1:2", bad: true},
		{in: "1", bad: true},
		{in: "+1:2", bad: true},
		{in: "1:4294967296", bad: true},
		{in: "a:b", bad: true},
	} {
		p, err := parsePartialRange(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if tc.bad {
			continue
		}
		from, to := p.slice(len(nums))
		var got []uint32
		if from < to {
			got = nums[from:to]
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
	if s := seqList([]uint32{5, 1, 2, 3, 9, 8}); s != "5,1:3,9,8" {
		t.Errorf("seqList: %s", s)
	}
}

// PARTIAL counted from the end (RFC 9394), which Dovecot 2.3 lacks.
func TestSearchPartialFromEnd(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	for i := 0; i < 5; i++ {
		c.ok("APPEND INBOX {11+}\r\nSubject: x\r\n")
	}
	c.ok("SELECT INBOX")
	c.transcript(`
C: a1 SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL
S: * ESEARCH (TAG "a1") PARTIAL (-1:-2 4:5) COUNT 5
S: a1 OK Search completed.
C: a2 UID SORT RETURN (PARTIAL -5:-5) (SUBJECT) UTF-8 ALL
S: * ESEARCH (TAG "a2") UID PARTIAL (-5:-5 1)
S: re:a2 OK .*
`)
}
