package s3blob

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	o, err := ParseURL("s3://AKIA:se%2Fcr%2Bet@s3.example.jp:9000/mail-bodies/host1/blobs/?tls=false&region=ap-northeast-1&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Endpoint: "s3.example.jp:9000", AccessKey: "AKIA", SecretKey: "se/cr+et", Bucket: "mail-bodies",
		Prefix: "host1/blobs", Region: "ap-northeast-1", Timeout: 5 * time.Second}
	if o != want {
		t.Errorf("ParseURL = %+v\nwant %+v", o, want)
	}
	o, err = ParseURL("s3://[::1]/bucket?ca=/etc/ssl/s3.pem")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Secure || o.Endpoint != "[::1]" || o.AccessKey != "" || o.CAFile != "/etc/ssl/s3.pem" || o.Prefix != "" {
		t.Errorf("ParseURL without keys = %+v", o)
	}
}

func TestParseURLRefuses(t *testing.T) {
	const secret = "Sup3rSecretKeyValue"
	for _, raw := range []string{
		"",
		"http://k:" + secret + "@host/bucket",
		"s3://k:" + secret + "@host",
		"s3://k:" + secret + "@host/",
		"s3://k:" + secret + "@host/ab",
		"s3://k:" + secret + "@host/Bucket",
		"s3://k:" + secret + "@host/-bucket",
		"s3://k:" + secret + "@host/bu..cket",
		"s3://k:" + secret + "@host/192.168.1.1",
		"s3://k:" + secret + "@host/" + strings.Repeat("b", 64),
		"s3://k:" + secret + "@host/bucket/../x",
		"s3://k:" + secret + "@host/bucket/a//b",
		"s3://k:" + secret + "@host/bucket/a%20b",
		"s3://k:" + secret + "@host/bucket/" + strings.Repeat("p", 600),
		"s3://k:" + secret + "@host:0/bucket",
		"s3://k:" + secret + "@host:65536/bucket",
		"s3://k:" + secret + "@host:http/bucket",
		"s3://k:" + secret + "@ho%20st/bucket",
		"s3://k:" + secret + "@/bucket",
		"s3://k@host/bucket",
		"s3://:" + secret + "@host/bucket",
		"s3://k:" + secret + "@host/bucket?tls=maybe",
		"s3://k:" + secret + "@host/bucket?tls=false&tls=true",
		"s3://k:" + secret + "@host/bucket?tsl=false",
		"s3://k:" + secret + "@host/bucket?timeout=-1s",
		"s3://k:" + secret + "@host/bucket?timeout=soon",
		"s3://k:" + secret + "@host/bucket?region=eu%2Fwest",
		"s3://k:" + secret + "@host/bucket?ca=relative.pem",
		"s3://k:" + secret + "@host/bucket?tls=false&ca=/ca.pem",
		"s3://k:" + secret + "@host/bucket#frag",
		"s3://k:" + secret + "@host/bucket?%zz",
		"s3://k:" + secret + "@host:99999999999999999999/bucket",
		"s3://k:" + secret + "%@host/bucket",
		"s3://k:" + secret + "@host/bucket" + strings.Repeat("?", 5000),
		"s3:k:" + secret + "@host/bucket",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL(%q) error shows the secret: %v", raw, err)
		}
	}
}

// FuzzParseURL: no panic; a URL that parses names a valid bucket, prefix
// and host; and no error shows the secret key.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://KEY:SECRETvalue@127.0.0.1:8333/bucket?tls=false",
		"s3://KEY:SECRETvalue@[::1]:9000/bucket/pre/fix?region=us-east-1&timeout=3s",
		"s3://KEY:SECRETvalue@host/bucket?ca=/x.pem",
		"s3://KEY:SECRET%2Fvalue@host:99999/bucket",
		"s3://KEY:SECRETvalue@ho st/bucket",
		"s3://KEY:SECRETvalue@host/bucket/../..",
		"s3://KEY:SECRETvalue@host/bucket?tls=false&tls=false",
		"s3://%zz:SECRETvalue@host/bucket",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := ParseURL(raw)
		if err != nil {
			u, perr := url.Parse(raw)
			if perr != nil || u.User == nil {
				return
			}
			secret, _ := u.User.Password()
			// The error texts have no upper-case letter: a secret of 8 or
			// more bytes with one cannot appear in them by chance.
			if len(secret) < 8 || strings.ToLower(secret) == secret {
				return
			}
			rest := strings.Replace(raw, u.User.String(), "", 1)
			if strings.Contains(err.Error(), secret) && !strings.Contains(rest, secret) && !strings.Contains(u.User.Username(), secret) {
				t.Fatalf("error shows the secret %q: %v", secret, err)
			}
			return
		}
		if checkBucket(o.Bucket) != nil || checkPrefix(o.Prefix) != nil || checkHost(o.Endpoint) != nil {
			t.Fatalf("ParseURL(%q) accepted %+v", raw, o)
		}
		if (o.AccessKey == "") != (o.SecretKey == "") {
			t.Fatalf("ParseURL(%q) gave one key without the other", raw)
		}
	})
}
