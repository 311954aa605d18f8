package imap

import (
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// partialRange is a RETURN (PARTIAL lo:hi) range (RFC 9394 3.1):
// positions in the result, 1-based; negative positions count from the
// end (-1 is the last result).
type partialRange struct {
	lo, hi int64
}

// parsePartialRange parses partial-range-first ("1:100") or
// partial-range-last ("-1:-100"); the two ends may come in either
// order.
func parsePartialRange(s string) (partialRange, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return partialRange{}, badf("Invalid PARTIAL range.")
	}
	lo, err1 := strconv.ParseInt(a, 10, 64)
	hi, err2 := strconv.ParseInt(b, 10, 64)
	bad := err1 != nil || err2 != nil || lo == 0 || hi == 0 || (lo < 0) != (hi < 0) ||
		a[0] == '+' || b[0] == '+' || lo > 1<<32-1 || hi > 1<<32-1 || lo < -(1<<32-1) || hi < -(1<<32-1)
	if bad {
		return partialRange{}, badf("Invalid PARTIAL range.")
	}
	if lo < 0 {
		// -1:-100 and -100:-1 both mean the last 100.
		lo, hi = max(lo, hi), min(lo, hi)
	} else if lo > hi {
		lo, hi = hi, lo
	}
	return partialRange{lo: lo, hi: hi}, nil
}

// String is the range as the response repeats it.
func (p partialRange) String() string {
	return strconv.FormatInt(p.lo, 10) + ":" + strconv.FormatInt(p.hi, 10)
}

// slice returns the [from, to) indexes of the results of a list of n
// results that the range selects.
func (p partialRange) slice(n int) (from, to int) {
	if p.lo > 0 {
		return int(min(p.lo-1, int64(n))), int(min(p.hi, int64(n)))
	}
	// -1 is index n-1; lo is the end nearer the last result.
	from = int(max(int64(n)+p.hi, 0))
	to = int(max(int64(n)+p.lo+1, 0))
	return min(from, to), to
}

// writePartial writes " PARTIAL (lo:hi set)" for the results nums (in
// result order): the selected ones as a sequence set, or NIL.
func (c *conn) writePartial(p partialRange, nums []uint32) {
	from, to := p.slice(len(nums))
	c.w.str(" PARTIAL (" + p.String() + " ")
	if from >= to {
		c.w.str("NIL)")
		return
	}
	c.w.str(seqList(nums[from:to]) + ")")
}

// seqList writes nums, in their order, as a sequence set with ascending
// runs of consecutive numbers as ranges.
func seqList(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// setNumbers lists the numbers of an ascending set.
func setNumbers(set store.UIDSet) []uint32 {
	var out []uint32
	for _, r := range set {
		for u := r.Start; ; u++ {
			out = append(out, u)
			if u == r.Stop {
				break
			}
		}
	}
	return out
}
