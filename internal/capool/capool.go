// Package capool loads trust anchors the way OpenSSL-based programs
// configure them: a PEM file of CA certificates (Postfix's *_CAfile,
// MySQL's ssl-ca) and a directory of PEM files (*_CApath, ssl-capath,
// such as /etc/ssl/certs), with limits on what it reads.
package capool

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Limits of Load.
const (
	MaxFileSize = 4 << 20 // bytes read from one PEM file
	MaxDirFiles = 10000   // entries of a directory looked at
)

// ErrNoCertificates is returned by Load when neither the file nor the
// directory gave a certificate.
var ErrNoCertificates = errors.New("capool: no CA certificates")

// Load returns a pool of the certificates in file and in the regular
// files of dir; either may be "". A file that cannot be read or holds no
// PEM certificate is an error; in dir, unreadable entries, dangling
// links and files without certificates are skipped as OpenSSL skips
// them. A pool without any certificate is ErrNoCertificates (wrapped,
// naming what was read).
func Load(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	if file != "" {
		b, err := readFile(file)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificates", file)
		}
		n++
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for i, e := range ents {
			if i >= MaxDirFiles {
				break
			}
			if e.IsDir() {
				continue
			}
			b, err := readFile(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			if pool.AppendCertsFromPEM(b) {
				n++
			}
		}
	}
	if n == 0 {
		what := file
		if dir != "" {
			if what != "" {
				what += " or "
			}
			what += dir
		}
		return nil, fmt.Errorf("%w in %s", ErrNoCertificates, what)
	}
	return pool, nil
}

// readFile reads a regular file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(b) > MaxFileSize {
		err = fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return b, err
}
