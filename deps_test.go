package yubin_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackagesLinkOnlyWhatTheyNeed: a program that imports one building
// block does not link what it does not use. The protocol servers see
// authentication through auth/authn (no password scheme: no argon2,
// bcrypt or md4) and lookup tables through restrict/table (no MySQL,
// PostgreSQL or LDAP client until mysqltable, pgsqltable or ldaptable is
// imported); no library package links Prometheus (the fullserver's
// metrics are the example's business).
func TestPackagesLinkOnlyWhatTheyNeed(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	heavy := []string{
		"golang.org/x/crypto/argon2", "golang.org/x/crypto/bcrypt", "golang.org/x/crypto/md4",
		"github.com/go-sql-driver/mysql", "github.com/jackc/pgx/v5", "github.com/go-ldap/ldap/v3",
		"modernc.org/sqlite", "github.com/prometheus/client_golang/prometheus",
	}
	for _, pkg := range []string{"smtp", "lmtp", "pop3", "imap", "sieve/managesieve", "restrict", "restrict/table", "store", "maildir", "sieve"} {
		out, err := exec.Command(goTool, "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			for _, h := range heavy {
				if d == h || strings.HasPrefix(d, h+"/") {
					t.Errorf("importing %s links %s", pkg, d)
				}
			}
		}
	}
}
