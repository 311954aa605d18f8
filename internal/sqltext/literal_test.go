package sqltext

import (
	"errors"
	"testing"
)

func TestLiteral(t *testing.T) {
	for _, c := range []struct {
		q, text string
		end     int
	}{
		{`'abc' x`, "abc", 4},
		{`'it''s'`, "it's", 6},
		{`"a\"b"`, `a"b`, 5},
		{`'%u'`, "%u", 3},
	} {
		end, text, err := Literal(c.q, 0)
		if err != nil || end != c.end || text != c.text {
			t.Errorf("Literal(%q) = %d %q %v, want %d %q", c.q, end, text, err, c.end, c.text)
		}
	}
	if _, _, err := Literal(`'abc`, 0); !errors.Is(err, ErrUnterminated) {
		t.Errorf("unterminated: %v", err)
	}
}
