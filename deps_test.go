package yubin_test

import (
	"os"
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

// TestRootModuleCarriesNoPrometheus: the library module's own go.mod
// requires no Prometheus and the go command finds no package of the
// module that needs it (minio-go's go.mod names it, unused); only the
// examples module (examples/go.mod, joined by go.work) does.
func TestRootModuleCarriesNoPrometheus(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mod), "github.com/prometheus/") {
		t.Errorf("go.mod requires Prometheus:\n%s", mod)
	}
	cmd := exec.Command(goTool, "mod", "why", "-m", "github.com/prometheus/client_golang")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go mod why: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "main module does not need") {
		t.Errorf("the library module needs Prometheus:\n%s", out)
	}
	ex, err := os.ReadFile("examples/go.mod")
	if err != nil || !strings.Contains(string(ex), "replace github.com/yubinmail/yubin => ../") {
		t.Errorf("examples/go.mod does not replace the library with this tree: %v\n%s", err, ex)
	}
}
