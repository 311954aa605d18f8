package s3blob

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxURLLen bounds the URL ParseURL accepts.
const maxURLLen = 4096

// maxPrefixLen bounds the object-name prefix: S3 names are at most 1024
// bytes, and a key and a slash must fit after it.
const maxPrefixLen = 512

// ParseURL returns the Options that a URL of this form names:
//
//	s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET[/PREFIX][?PARAMS]
//
// The access and secret keys are percent-decoded (a "/" or "+" in a
// secret is written %2F or %2B). Without them, New takes the keys from
// the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), which
// keeps them out of configuration files. BUCKET is created when missing;
// PREFIX (path segments of letters, digits, ".", "_" and "-") puts every
// object under PREFIX/. PARAMS are:
//
//	tls=false       plain HTTP (default true: HTTPS, the system's roots)
//	ca=/path.pem    verify the server with the CAs in this PEM file
//	region=NAME     the bucket's region (default us-east-1)
//	timeout=30s     Options.Timeout
//
// Any other parameter is an error, so a misspelling is not ignored.
// Errors never contain the secret key.
func ParseURL(raw string) (Options, error) {
	var o Options
	if len(raw) > maxURLLen {
		return o, fmt.Errorf("s3blob: url longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, secret included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(raw, "@") {
			err = errors.New("malformed")
		}
		return o, fmt.Errorf("s3blob: invalid url: %v", err)
	}
	if u.Scheme != "s3" {
		return o, errors.New("s3blob: url scheme must be s3")
	}
	if u.Opaque != "" || u.Fragment != "" || u.RawFragment != "" {
		return o, errors.New("s3blob: url must be s3://host/bucket, with no fragment")
	}
	if u.User != nil {
		o.AccessKey = u.User.Username()
		o.SecretKey, _ = u.User.Password()
		if o.AccessKey == "" || o.SecretKey == "" {
			return o, errors.New("s3blob: url has an access key without a secret key, or a secret without an access key")
		}
	}
	if err := checkHost(u.Host); err != nil {
		return o, err
	}
	o.Endpoint = u.Host
	path := strings.TrimPrefix(u.Path, "/")
	bucket, prefix, _ := strings.Cut(path, "/")
	if err := checkBucket(bucket); err != nil {
		return o, err
	}
	o.Bucket = bucket
	prefix = strings.TrimSuffix(prefix, "/")
	if err := checkPrefix(prefix); err != nil {
		return o, err
	}
	o.Prefix = prefix
	o.Secure = true
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, errors.New("s3blob: url has a malformed query")
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return o, fmt.Errorf("s3blob: url parameter %q given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, errors.New("s3blob: url parameter tls must be true or false")
			}
			o.Secure = b
		case "ca":
			if v == "" || !strings.HasPrefix(v, "/") {
				return o, errors.New("s3blob: url parameter ca must be an absolute file name")
			}
			o.CAFile = v
		case "region":
			if !validRegion(v) {
				return o, errors.New("s3blob: url parameter region must be letters, digits and dashes")
			}
			o.Region = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 || d > 24*time.Hour {
				return o, errors.New("s3blob: url parameter timeout must be a duration such as 30s, up to 24h")
			}
			o.Timeout = d
		default:
			return o, fmt.Errorf("s3blob: unknown url parameter %q (known: tls, ca, region, timeout)", truncate(name, 40))
		}
	}
	if o.CAFile != "" && !o.Secure {
		return o, errors.New("s3blob: url parameter ca needs tls")
	}
	return o, nil
}

// checkHost accepts host or host:port with a port in 1..65535.
func checkHost(hostport string) error {
	if hostport == "" {
		return errors.New("s3blob: url has no host")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
		if strings.Contains(hostport, ":") && !strings.HasPrefix(hostport, "[") {
			return errors.New("s3blob: url host has a malformed port")
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("s3blob: url port must be 1 to 65535")
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || len(host) > 253 {
		return errors.New("s3blob: url has no host")
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return errors.New("s3blob: url host must be a DNS name or an IP address")
		}
	}
	return nil
}

// checkBucket accepts S3's bucket names: 3 to 63 lower-case letters,
// digits, dots and dashes, starting and ending with a letter or digit.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return errors.New("s3blob: url must name a bucket of 3 to 63 characters: s3://host/bucket")
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && !((c == '.' || c == '-') && i > 0 && i < len(b)-1) {
			return errors.New("s3blob: bucket name must be lower-case letters, digits, dots and dashes, starting and ending with a letter or digit")
		}
	}
	if strings.Contains(b, "..") || net.ParseIP(b) != nil {
		return errors.New("s3blob: bucket name must not have two dots in a row or be an IP address")
	}
	return nil
}

// checkPrefix accepts "" or slash-separated segments of letters, digits,
// ".", "_" and "-", none of them "." or "..".
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > maxPrefixLen {
		return fmt.Errorf("s3blob: prefix longer than %d bytes", maxPrefixLen)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("s3blob: prefix has an empty, \".\" or \"..\" segment")
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return errors.New("s3blob: prefix must be letters, digits, \".\", \"_\" and \"-\" between slashes")
			}
		}
	}
	return nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
