package pop3

import (
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/varexpand"
)

func TestUIDLFormat(t *testing.T) {
	// FORMATS.md section 7: Maildir INBOX, UIDVALIDITY 1795325161.
	v := uidlVars{uid: 1, uidValidity: 1795325161, fileName: "1795325161.M264479P20900.vm,S=163,W=171", guid: "1795325161.M264479P20900.vm,S=163,W=171"}
	cases := map[string]string{
		"%08Xu%08Xv":            "000000016b027ce9",
		"%v.%u":                 "1795325161.1",
		"%u":                    "1",
		"%f":                    "1795325161.M264479P20900.vm,S=163,W=171",
		"%g":                    "1795325161.M264479P20900.vm,S=163,W=171",
		"%{uidvalidity}-%{uid}": "1795325161-1",
		"%Xv":                   "6b027ce9",
		"%XUv":                  "6B027CE9",
		"%UXv":                  "6b027ce9", // modifiers apply left to right
		"%5f":                   "17953",
		"%3.4f":                 "5325",
		"%-3.3f":                "171",
		"%Rv":                   "1615235971",
		"100%%-%u":              "100%-1",
		"x%04uy":                "x0001y",
		"%02v":                  "1795325161",
		"%Mu":                   "c4ca4238a0b923820dcc509a6f75849b",
		"%3.2Xv":                "27",
		"%9.9u":                 "",
		"%1u%1.1v":              "17",
	}
	for format, want := range cases {
		f, err := parseUIDLFormat(format)
		if err != nil {
			t.Errorf("parse %q: %v", format, err)
			continue
		}
		if got := f.expand(v); got != want {
			t.Errorf("%q = %q, want %q", format, got, want)
		}
	}
	for _, bad := range []string{"", "%m", "%", "%08X", "%q", "%{nope}", "%{uid"} {
		if err := ValidateUIDLFormat(bad); err == nil {
			t.Errorf("format %q accepted", bad)
		}
	}
}

func FuzzUIDLFormat(f *testing.F) {
	for _, s := range []string{"%08Xu%08Xv", "%v.%u", "%-3.3f", "%{guid}", "%%", "%99999999999999u", "%-99.99Rf", "%3.2Xv", "%-3Xu"} {
		f.Add(s, uint32(7), "1.M2P3.host,S=1,W=2")
	}
	f.Fuzz(func(t *testing.T, format string, uid uint32, name string) {
		u, err := parseUIDLFormat(format)
		if err != nil {
			return
		}
		v := uidlVars{uid: uid, uidValidity: 1795325161, fileName: name, guid: name}
		if got, want := u.expand(v), referenceExpand(u, v); got != want {
			t.Fatalf("%q: expand = %q, the plain way gives %q", format, got, want)
		}
	})
}

// referenceExpand is expand done the plain way, every value as a string
// through applyModifier and the padding and substring rules spelled out
// again, for FuzzUIDLFormat to check appendExpand's number fast path.
func referenceExpand(f *uidlFormat, v uidlVars) string {
	var b strings.Builder
	for i, p := range f.parts {
		pv := f.vars[i]
		if pv == 0 {
			b.WriteString(p.Lit)
			continue
		}
		val := map[byte]string{
			'u': strconv.FormatUint(uint64(v.uid), 10),
			'v': strconv.FormatUint(uint64(v.uidValidity), 10),
			'f': v.fileName,
			'g': v.guid,
		}[pv]
		if strings.IndexByte(p.Mods, 'H') >= 0 {
			b.WriteString(p.Apply(val)) // H takes the width: never the fast path
			continue
		}
		for _, m := range []byte(p.Mods) {
			val = varexpand.Modify(m, val)
		}
		switch {
		case p.ZeroPad:
			if p.Width > len(val) {
				val = strings.Repeat("0", p.Width-len(val)) + val
			}
		case p.HasOffset || p.HasWidth:
			start := p.Offset
			if start < 0 {
				start = max(len(val)+start, 0)
			}
			if start >= len(val) {
				val = ""
				break
			}
			val = val[start:]
			if p.HasWidth && p.Width >= 0 && p.Width < len(val) {
				val = val[:p.Width]
			}
		}
		b.WriteString(val)
	}
	return b.String()
}
