package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/sqldb"
)

// backend is one database server under test: its driver, a connect
// string for a fresh database, and a way to run SQL as its owner.
type backend struct {
	name    string
	driver  string
	drv     sqldb.Driver
	connect string
	exec    func(t testing.TB, sql string)
	// suspend makes the server stop answering; nil when it cannot.
	suspend func(t testing.TB) (resume func())
}

// testUser is a row of the users table.
type testUser struct {
	name, password, stored string
}

// seedUsers are the users of the suite's table, with passwords stored
// in several schemes (bare hashes use default_pass_scheme = SHA512-CRYPT).
func seedUsers(t testing.TB) []testUser {
	t.Helper()
	hash := func(scheme, pw string) string {
		h, err := auth.Hash(scheme, pw)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return []testUser{
		{"alice@example.com", "alice secret", strings.TrimPrefix(hash("SHA512-CRYPT", "alice secret"), "{SHA512-CRYPT}")},
		{"bob@example.com", "bobpw", hash("SSHA256", "bobpw")},
		{"carol@example.com", "carolpw", "{PLAIN}carolpw"},
		{"dave@example.com", "davepw", hash("BLF-CRYPT", "davepw")},
		{"erin@example.org", "erinpw", hash("SHA256-CRYPT", "erinpw")},
		{"o'brien@example.com", "obpw", hash("SHA512-CRYPT", "obpw")},
		{"nullpw@example.com", "", ""},
	}
}

// createTable makes the users table of the suite through b.exec.
func createTable(t testing.TB, b *backend) []testUser {
	t.Helper()
	users := seedUsers(t)
	var sql strings.Builder
	sql.WriteString("CREATE TABLE users (username VARCHAR(255) NOT NULL PRIMARY KEY, domain VARCHAR(255) NOT NULL, " +
		"password VARCHAR(255), home VARCHAR(255), uid INTEGER, gid INTEGER, active INTEGER NOT NULL);\n")
	for i, u := range users {
		pw := "NULL"
		if u.stored != "" {
			pw = "'" + u.stored + "'"
		}
		_, dom, _ := strings.Cut(u.name, "@")
		fmt.Fprintf(&sql, "INSERT INTO users VALUES ('%s', '%s', %s, '/var/mail/%s', %d, %d, 1);\n",
			strings.ReplaceAll(u.name, "'", "''"), dom, pw, strings.ReplaceAll(u.name, "'", ""), 5000+i, 5000)
	}
	b.exec(t, sql.String())
	return users
}

// seedConfig is seed 003's dovecot-sql.conf.ext for b.
func seedConfig(b *backend) string {
	return fmt.Sprintf(`# seed 003, 1.3.4
driver = %s
connect = %s
default_pass_scheme = SHA512-CRYPT
user_query = SELECT username, home, uid, gid FROM users WHERE username='%%u';
password_query = SELECT username AS user, password, home AS userdb_home FROM users WHERE \
  username='%%u' AND active = 1;
iterate_query = SELECT username AS user FROM users;
`, b.driver, b.connect)
}

func openDB(t testing.TB, b *backend, conf string, o *sqldb.Options) *sqldb.DB {
	t.Helper()
	cfg, err := sqldb.ParseConfig(strings.NewReader(conf), "dovecot-sql.conf.ext")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(cfg, b.drv, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// runSuite checks a backend against the seed's configuration.
func runSuite(t *testing.T, b *backend) {
	users := createTable(t, b)
	db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 5 * time.Second})
	ctx := context.Background()

	t.Run("Authenticate", func(t *testing.T) {
		for _, u := range users {
			if u.stored == "" {
				continue
			}
			id, err := db.Authenticate(ctx, u.name, u.password)
			if err != nil {
				t.Fatalf("%s: %v", u.name, err)
			}
			if id.User != u.name || id.Fields["userdb_home"] == "" {
				t.Errorf("%s: identity %+v", u.name, id)
			}
			if _, err := db.Authenticate(ctx, u.name, u.password+"x"); !errors.Is(err, auth.ErrAuthFailed) {
				t.Errorf("%s with a wrong password: %v, want ErrAuthFailed", u.name, err)
			}
		}
		if _, err := db.Authenticate(ctx, "nullpw@example.com", ""); !errors.Is(err, auth.ErrAuthFailed) {
			t.Errorf("NULL password: %v, want ErrAuthFailed", err)
		}
		if _, err := db.Authenticate(ctx, "nobody@example.com", "x"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("unknown user: %v, want ErrUnknownUser", err)
		}
	})

	t.Run("Injection", func(t *testing.T) {
		for _, name := range []string{
			"' OR '1'='1", "alice@example.com' --", "alice@example.com' -- ", "alice@example.com'#",
			"x' OR username LIKE '%", "alice@example.com'; DROP TABLE users; --", `\' OR 1=1 -- `,
			`alice@example.com\`, `%`, "%u", "%%", "alice@example.com\x00", "\x00' OR '1'='1",
			`" OR ""="`, "alice@example.com' OR '1'='1", "ALICE@EXAMPLE.COM' AND '1'='1",
		} {
			for _, pw := range []string{"alice secret", "' OR '1'='1", ""} {
				if id, err := db.Authenticate(ctx, name, pw); !errors.Is(err, auth.ErrUnknownUser) {
					t.Errorf("Authenticate(%q, %q) = %v, %v; want ErrUnknownUser", name, pw, id, err)
				}
			}
			if _, err := db.LookupUser(ctx, name); !errors.Is(err, auth.ErrUnknownUser) {
				t.Errorf("LookupUser(%q) = %v; want ErrUnknownUser", name, err)
			}
		}
		if _, err := db.Authenticate(ctx, "alice@example.com", "' OR '1'='1"); !errors.Is(err, auth.ErrAuthFailed) {
			t.Errorf("injection in the password: %v", err)
		}
		// A quote in a real user name is just a character.
		if _, err := db.Authenticate(ctx, "o'brien@example.com", "obpw"); err != nil {
			t.Errorf("o'brien: %v", err)
		}
		list, err := db.ListUsers(ctx)
		if err != nil || len(list) != len(users) {
			t.Errorf("the table after the attempts: %d users, %v", len(list), err)
		}
	})

	t.Run("LookupUser", func(t *testing.T) {
		u, err := db.LookupUser(ctx, "bob@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.Home != "/var/mail/bob@example.com" || u.UID != 5001 || u.GID != 5000 {
			t.Errorf("bob: %+v", u)
		}
		if _, err := db.LookupUser(ctx, "nobody@example.com"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("unknown: %v", err)
		}
	})

	t.Run("ListUsers", func(t *testing.T) {
		list, err := db.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, u := range users {
			want = append(want, u.name)
		}
		slices.Sort(list)
		slices.Sort(want)
		if !slices.Equal(list, want) {
			t.Errorf("ListUsers = %q, want %q", list, want)
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		c, err := db.LookupCredentials(ctx, "carol@example.com", "PLAIN")
		if err != nil || string(c) != "carolpw" {
			t.Errorf("carol PLAIN: %q %v", c, err)
		}
		if _, err := db.LookupCredentials(ctx, "alice@example.com", "CRAM-MD5"); !errors.Is(err, auth.ErrUnsupportedScheme) {
			t.Errorf("alice CRAM-MD5 from SHA512-CRYPT: %v", err)
		}
	})

	t.Run("Variables", func(t *testing.T) {
		// %n and %d in one literal and bare; %Lu; connection variables.
		conf := strings.Replace(seedConfig(b), "username='%u' AND active = 1",
			"username = '%Ln@%Ld' AND domain = %Ld AND active = 1 AND '%s' <> 'pop3'", 1)
		db := openDB(t, b, conf, nil)
		cctx := auth.WithConnInfo(ctx, &auth.ConnInfo{Service: "imap"})
		if _, err := db.Authenticate(cctx, "Carol@Example.COM", "carolpw"); err != nil {
			t.Errorf("Carol@Example.COM over imap: %v", err)
		}
		pctx := auth.WithConnInfo(ctx, &auth.ConnInfo{Service: "pop3"})
		if _, err := db.Authenticate(pctx, "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("carol over pop3: %v, want ErrUnknownUser", err)
		}
	})

	t.Run("MultipleMatches", func(t *testing.T) {
		conf := strings.Replace(seedConfig(b), "username='%u' AND active = 1", "active = 1 OR username = '%u'", 1)
		db := openDB(t, b, conf, nil)
		if _, err := db.Authenticate(ctx, "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("ambiguous password_query: %v, want ErrTempFail", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		db := openDB(t, b, seedConfig(b), &sqldb.Options{MaxConns: 3})
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := users[[]int{1, 2, 4}[i%3]] // the cheaper schemes
				if _, err := db.Authenticate(ctx, u.name, u.password); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if s := db.SQL().Stats(); s.MaxOpenConnections != 3 || s.OpenConnections > 3 {
			t.Errorf("pool: %+v", s)
		}
	})

	if b.suspend != nil {
		t.Run("Unresponsive", func(t *testing.T) {
			db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 500 * time.Millisecond, MaxConns: 2})
			cached := &auth.Cache{PassDB: db}
			if _, err := cached.Authenticate(ctx, "carol@example.com", "carolpw"); err != nil {
				t.Fatal(err)
			}
			resume := b.suspend(t)
			defer resume()
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := db.Authenticate(ctx, "bob@example.com", "bobpw")
					if !errors.Is(err, auth.ErrTempFail) {
						t.Errorf("unresponsive database: %v, want ErrTempFail (after %v)", err, time.Since(start))
					}
				}()
			}
			wg.Wait()
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("8 logins against an unresponsive database took %v (timeout 500ms)", d)
			}
			// The cache still answers a user it knows.
			if _, err := cached.Authenticate(ctx, "carol@example.com", "carolpw"); err != nil {
				t.Errorf("cached login while the database hangs: %v", err)
			}
			resume()
			if _, err := db.Authenticate(ctx, "bob@example.com", "bobpw"); err != nil {
				t.Errorf("after the database came back: %v", err)
			}
		})
	}
}
