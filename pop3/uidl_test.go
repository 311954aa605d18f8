package pop3

import (
	"testing"
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
	for _, s := range []string{"%08Xu%08Xv", "%v.%u", "%-3.3f", "%{guid}", "%%", "%99999999999999u", "%-99.99Rf"} {
		f.Add(s, uint32(7), "1.M2P3.host,S=1,W=2")
	}
	f.Fuzz(func(t *testing.T, format string, uid uint32, name string) {
		u, err := parseUIDLFormat(format)
		if err != nil {
			return
		}
		u.expand(uidlVars{uid: uid, uidValidity: 42, fileName: name, guid: name})
	})
}
