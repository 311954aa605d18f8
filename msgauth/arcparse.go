package msgauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ARC header field names (RFC 8617 section 4.1).
const (
	hdrAAR = "ARC-Authentication-Results"
	hdrAMS = "ARC-Message-Signature"
	hdrAS  = "ARC-Seal"
)

// arcMaxInstance is RFC 8617 section 4.2.1's limit on i=.
const arcMaxInstance = 50

// arcSet is one ARC set found in a message header: the three fields of
// one instance and the parsed tags of its signatures.
type arcSet struct {
	instance    int
	aar, ams, s field
	amsTags     map[string]string // nil when the AMS tag list is malformed
	sealTags    map[string]string // nil when the seal tag list is malformed
	aarValue    string            // the AAR value after "i=N;"
}

// errARCStructure is a chain whose fields do not form sets 1..N.
type errARCStructure struct{ msg string }

func (e *errARCStructure) Error() string { return e.msg }

func structErr(format string, a ...any) error {
	return &errARCStructure{msg: fmt.Sprintf(format, a...)}
}

// isARCField reports whether a header field name is one of ARC's.
func isARCField(name string) bool {
	return strings.EqualFold(name, hdrAAR) || strings.EqualFold(name, hdrAMS) || strings.EqualFold(name, hdrAS)
}

// parseARCSets collects the ARC sets of a header (RFC 8617 section
// 5.2 steps 1-3). It returns nil, nil for a message without ARC fields
// and an error when the fields do not form complete, unique sets with
// instances 1..N, N <= maxSets (at most 50), each field at most
// maxField bytes.
func parseARCSets(fields []field, maxSets, maxField int) ([]arcSet, error) {
	if maxSets <= 0 || maxSets > arcMaxInstance {
		maxSets = arcMaxInstance
	}
	byInstance := map[int]*arcSet{}
	count := 0
	max := 0
	for _, f := range fields {
		if !isARCField(f.Name) {
			continue
		}
		count++
		if count > 3*maxSets {
			return nil, structErr("more than %d ARC sets", maxSets)
		}
		if len(f.Raw) > maxField {
			return nil, structErr("%s field longer than %d bytes", f.Name, maxField)
		}
		var i int
		var err error
		var tags map[string]string
		var aarValue string
		switch {
		case strings.EqualFold(f.Name, hdrAAR):
			head, rest, _ := strings.Cut(f.value(), ";")
			name, val, ok := strings.Cut(head, "=")
			if !ok || stripFWS(name) != "i" {
				return nil, structErr("%s without i= first", hdrAAR)
			}
			i, err = parseInstance(val)
			aarValue = strings.TrimSpace(rest)
		default:
			tags, _ = parseTags(f.value())
			if tags == nil {
				// A malformed tag list still needs its i= to place it.
				i, err = instanceOfMalformed(f.value())
			} else {
				i, err = parseInstance(tags["i"])
			}
		}
		if err != nil {
			return nil, structErr("%s: %v", f.Name, err)
		}
		if i > maxSets {
			return nil, structErr("ARC instance %d over the limit of %d", i, maxSets)
		}
		set := byInstance[i]
		if set == nil {
			set = &arcSet{instance: i}
			byInstance[i] = set
		}
		var slot *field
		switch {
		case strings.EqualFold(f.Name, hdrAAR):
			slot = &set.aar
			set.aarValue = aarValue
		case strings.EqualFold(f.Name, hdrAMS):
			slot = &set.ams
			set.amsTags = tags
		default:
			slot = &set.s
			set.sealTags = tags
		}
		if slot.Raw != "" {
			return nil, structErr("two %s fields with i=%d", f.Name, i)
		}
		*slot = f
		if i > max {
			max = i
		}
	}
	if count == 0 {
		return nil, nil
	}
	sets := make([]arcSet, max)
	for i := 1; i <= max; i++ {
		s := byInstance[i]
		if s == nil || s.aar.Raw == "" || s.ams.Raw == "" || s.s.Raw == "" {
			return nil, structErr("ARC set %d incomplete", i)
		}
		sets[i-1] = *s
	}
	return sets, nil
}

// parseInstance parses an i= value: 1 to 50, decimal digits.
func parseInstance(v string) (int, error) {
	v = stripFWS(v)
	if v == "" || len(v) > 3 || strings.Trim(v, "0123456789") != "" {
		return 0, errors.New("malformed i=")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > arcMaxInstance {
		return 0, errors.New("i= out of range")
	}
	return n, nil
}

// instanceOfMalformed finds i= in a tag list that does not parse.
func instanceOfMalformed(v string) (int, error) {
	for _, p := range strings.Split(v, ";") {
		name, val, ok := strings.Cut(p, "=")
		if ok && stripFWS(name) == "i" {
			return parseInstance(val)
		}
	}
	return 0, errors.New("no i=")
}

// maxARCInstance is the highest valid i= among the ARC fields, 0 when
// none has one.
func maxARCInstance(fields []field) int {
	max := 0
	for _, f := range fields {
		if !isARCField(f.Name) {
			continue
		}
		i, err := instanceOfMalformed(f.value())
		if err == nil && i > max {
			max = i
		}
	}
	return max
}
