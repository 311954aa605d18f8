package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
)

// dkimCommand is "fullserver dkim genkey DOMAIN [SELECTOR]": it makes an
// RSA-2048 and an Ed25519 key for DOMAIN under data_directory/dkim,
// readable by mail_owner only, and prints the TXT records to publish and
// the dkim_keys setting that uses them.
func dkimCommand(c *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || len(args) > 3 || args[0] != "genkey" {
		fmt.Fprintln(stderr, "usage: fullserver dkim genkey DOMAIN [SELECTOR]")
		return 2
	}
	domain := strings.ToLower(strings.TrimSuffix(args[1], "."))
	sel := "yubin"
	if len(args) == 3 {
		sel = args[2]
	}
	if !validLabelish(domain, true) || !validLabelish(sel, false) {
		fmt.Fprintln(stderr, "fullserver: dkim genkey: bad domain or selector")
		return 2
	}
	dir := filepath.Join(c.Get("data_directory"), "dkim", domain)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "fullserver: dkim genkey: %v\n", err)
		return 1
	}
	var owner *account
	if os.Geteuid() == 0 {
		o, _, err := ownerOf(c)
		if err != nil {
			fmt.Fprintf(stderr, "warning: the keys are left to root: %v\n", err)
		} else {
			owner = o
		}
	}
	var zone, setting []string
	for _, alg := range []string{msgauth.AlgRSA, msgauth.AlgEd25519} {
		s := sel + "-" + alg
		path := filepath.Join(dir, s+".pem")
		key, pemBytes, err := msgauth.GenerateKey(alg)
		if err != nil {
			fmt.Fprintf(stderr, "fullserver: dkim genkey: %v\n", err)
			return 1
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "fullserver: dkim genkey: %v (remove it to make a new key)\n", err)
			return 1
		}
		_, werr := f.Write(pemBytes)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			fmt.Fprintf(stderr, "fullserver: dkim genkey: %v\n", werr)
			return 1
		}
		if owner != nil {
			for _, p := range []string{path, dir, filepath.Dir(dir)} {
				if err := giveToOwner(p, owner); err != nil {
					fmt.Fprintf(stderr, "fullserver: dkim genkey: %v\n", err)
					return 1
				}
			}
		}
		line, err := msgauth.ZoneRecord(domain, s, key.Public())
		if err != nil {
			fmt.Fprintf(stderr, "fullserver: dkim genkey: %v\n", err)
			return 1
		}
		zone = append(zone, line)
		setting = append(setting, domain+":"+s+":"+path)
	}
	fmt.Fprintf(stdout, "; Publish in the DNS zone of %s:\n%s\n\n# Add to main.cf:\ndkim_keys = %s\n", domain, strings.Join(zone, "\n"), strings.Join(setting, ",\n    "))
	return 0
}

// validLabelish accepts a DNS name (dots allowed when dots) of letters,
// digits, hyphens and underscores.
func validLabelish(s string, dots bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		case r == '.' && dots:
		default:
			return false
		}
	}
	return true
}
