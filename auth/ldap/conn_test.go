package ldap

import (
	"context"
	"net"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// TestRequestEncoding: the requests written here decode, with go-ldap's
// BER decoder, to the fields given, also with lengths needing one, two
// and three length bytes.
func TestRequestEncoding(t *testing.T) {
	for _, n := range []int{0, 100, 127, 128, 255, 256, 70000} {
		dn := "cn=" + strings.Repeat("x", n)
		c := &conn{}
		b, at := c.request()
		b, op := begin(b, tagSearchReq)
		b = appendString(b, tagOctets, dn)
		b = appendInt(b, tagEnum, ldapc.ScopeSingleLevel)
		b = appendInt(b, tagEnum, ldapc.DerefAlways)
		b = appendInt(b, tagInteger, 100000)
		b = appendInt(b, tagInteger, 5)
		b = appendBool(b, false)
		f, err := compileFilter("(uid=a)")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, f...)
		b, attrs := begin(b, tagSequence)
		b = appendString(b, tagOctets, "uid")
		b = end(b, attrs)
		b = end(b, op)
		b = end(b, at)
		p, err := ber.DecodePacketErr(b)
		if err != nil {
			t.Fatalf("dn of %d bytes: %v", len(dn), err)
		}
		if len(p.Children) != 2 || p.Children[0].Value != int64(1) {
			t.Fatalf("dn of %d bytes: message %v", len(dn), p.Children)
		}
		req := p.Children[1]
		if req.Tag != ldapc.ApplicationSearchRequest || len(req.Children) != 8 {
			t.Fatalf("dn of %d bytes: request tag %d, %d children", len(dn), req.Tag, len(req.Children))
		}
		got := []any{req.Children[0].Value, req.Children[1].Value, req.Children[2].Value, req.Children[3].Value,
			req.Children[4].Value, req.Children[5].Value, req.Children[7].Children[0].Value}
		want := []any{dn, int64(ldapc.ScopeSingleLevel), int64(ldapc.DerefAlways), int64(100000), int64(5), false, "uid"}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("dn of %d bytes: field %d = %v, want %v", len(dn), i, got[i], want[i])
			}
		}
		if fs, err := ldapc.DecompileFilter(req.Children[6]); err != nil || fs != "(uid=a)" {
			t.Errorf("filter %q, %v", fs, err)
		}
	}
}

// TestNextRefusesMalformed: lengths past the data, multi-byte tags and
// overlong length fields are errors, not panics.
func TestNextRefusesMalformed(t *testing.T) {
	for _, b := range [][]byte{nil, {0x04}, {0x04, 0x05, 'a'}, {0x1f, 0x00}, {0x04, 0x85, 1, 1, 1, 1, 1}, {0x04, 0x80},
		{0x04, 0x84, 0xff, 0xff, 0xff, 0xff}, {0x04, 0x81}} {
		if _, _, _, err := next(b); err == nil {
			t.Errorf("% x: accepted", b)
		}
	}
	if _, err := parseInt(nil); err == nil {
		t.Error("empty integer accepted")
	}
}

// TestSlapdIdleConnectionClosed: connections closed while idle in the
// pools (slapd's idletimeout, a restart, a firewall) are replaced at the
// next login, which succeeds rather than failing temporarily. A relay
// in front of slapd cuts them.
func TestSlapdIdleConnectionClosed(t *testing.T) {
	s := testutil.SharedSlapd(t)
	p := testutil.StartTCPRelay(t, strings.TrimPrefix(s.LDAPURL, "ldap://"))
	d := openConf(t, "uris = ldap://"+p.Addr(), "dn = "+testutil.SlapdServiceDN, "dnpass = "+testutil.SlapdServicePW,
		"pass_filter = (&(objectClass=posixAccount)(uid=%n))", "auth_bind = yes",
		"base = ou=People,dc=example,dc=com", "scope = onelevel")
	for round := range 3 {
		for _, u := range []string{"alice", "bob"} {
			if _, err := d.Authenticate(context.Background(), u, user(u).Password); err != nil {
				t.Fatalf("round %d: %s: %v", round, u, err)
			}
		}
		if _, err := d.Authenticate(context.Background(), "alice", "wrong"); err != auth.ErrAuthFailed {
			t.Fatalf("round %d: wrong password: %v", round, err)
		}
		p.Cut()
	}
}

// TestHostMatchesSplitHostPort: the fast path for TCP addresses gives
// what splitting the address's text gives.
func TestHostMatchesSplitHostPort(t *testing.T) {
	for _, a := range []net.Addr{
		&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 143}, &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0"}, &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1")},
		&net.TCPAddr{}, &net.UnixAddr{Name: "/x", Net: "unix"}, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5},
	} {
		got, ok := host(a)
		want, _, err := net.SplitHostPort(a.String())
		if got != want || ok != (err == nil) {
			t.Errorf("%#v: %q, %v; SplitHostPort gives %q, %v", a, got, ok, want, err)
		}
	}
}
