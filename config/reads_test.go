package config

import (
	"reflect"
	"strings"
	"testing"
)

var readSchema = NewSchema([]Param{
	{Name: "myhostname", Default: "localhost"},
	{Name: "mydomain", Default: "localdomain"},
	{Name: "mydestination", Default: "$myhostname, localhost", Kind: List},
	{Name: "smtpd_banner", Default: "$myhostname ESMTP"},
	{Name: "message_size_limit", Default: "10240000", Kind: Int},
	{Name: "ssl_cert", Default: ""},
	{Name: "broken_sasl_auth_clients", Default: "no", Kind: Bool, Compat: true, Doc: "no effect: AUTH= is never announced"},
	{Name: "rbl_code", Runtime: true},
	{Name: "default_rbl_reply", Default: "$rbl_code blocked"},
}, []string{"smtp", "imap"})

// TestReadLogRecordsReads: the accessors and $name expansion record,
// in the view that read; Pos and NonDefault do not; a nil log records
// nothing; MarkRead records without reading.
func TestReadLogRecordsReads(t *testing.T) {
	c, err := readSchema.Parse("main.cf", strings.NewReader("mydestination = $myhostname, localhost.$mydomain\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewReadLog()
	v := c.WithReadLog(l)
	v.List("mydestination")
	v.Pos("ssl_cert")
	v.NonDefault()
	v.WithReadLog(nil).Get("smtpd_banner")
	v.Service("imap").Int("message_size_limit")
	v.Service("smtp").MarkRead("default_rbl_reply")
	v.Get("default_rbl_reply")
	if got, want := l.Names(), []string{"default_rbl_reply", "message_size_limit", "mydestination", "mydomain", "myhostname"}; !reflect.DeepEqual(got, want) {
		t.Errorf("read %q, want %q", got, want)
	}
	if l.ReadIn("", "message_size_limit") || !l.ReadIn("imap", "message_size_limit") {
		t.Error("message_size_limit: not recorded under the imap view only")
	}
	if !l.ReadIn("smtp", "default_rbl_reply") || l.Read("rbl_code") {
		t.Error("MarkRead or a runtime name recorded wrongly")
	}
	v.IsSet("ssl_cert")
	if !l.Read("ssl_cert") {
		t.Error("IsSet did not record")
	}
}

// TestReadLogUnused names the settings with no effect: compat ones,
// global ones nothing read, and service overrides the service's view
// did not read, in file order.
func TestReadLogUnused(t *testing.T) {
	c, err := readSchema.Parse("main.cf", strings.NewReader(`myhostname = mx.example.jp
broken_sasl_auth_clients = yes
mydomain = example.jp
smtp/smtpd_banner = $myhostname ESMTP ready
imap/smtpd_banner = never read
imap/message_size_limit = 1000
`))
	if err != nil {
		t.Fatal(err)
	}
	l := NewReadLog()
	v := c.WithReadLog(l)
	v.Service("smtp").Get("smtpd_banner")
	v.Service("imap").Int("message_size_limit")
	v.Get("broken_sasl_auth_clients") // read, yet marked compat
	var got []string
	for _, st := range l.Unused(c) {
		got = append(got, st.Pos.String()+" "+st.Key())
	}
	want := []string{"main.cf:2 broken_sasl_auth_clients", "main.cf:3 mydomain", "main.cf:5 imap/smtpd_banner"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unused %q, want %q", got, want)
	}
}
