package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// Exit codes of "auth test", as doveadm's: EX_NOPERM for a refused
// login, EX_TEMPFAIL when the passdb could not answer.
const (
	exitAuthFailed   = 77
	exitAuthTempFail = 75
)

// maxPasswordLine bounds a password read from standard input.
const maxPasswordLine = 4096

// userCommandNames are the user-management commands userCommand runs.
var userCommandNames = []string{"adduser", "deluser", "passwd", "users", "auth", "pw"}

// userCommand runs adduser, deluser, passwd, users, "auth test" and pw.
// The commands that change users edit the passwd-file; a running server
// needs no signal: its auth.PasswdFile re-reads the file on the next
// login once the file's inode, size or mtime changed, and every edit
// replaces the file with a new one.
func userCommand(c *config.Config, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := map[string]string{
		"adduser": "adduser USER",
		"deluser": "deluser USER",
		"passwd":  "passwd USER",
		"users":   "users",
		"auth":    "auth test USER [PASSWORD]",
		"pw":      "pw [-s SCHEME] [-p PASSWORD]",
	}[cmd]
	fail := func(err error) int {
		fmt.Fprintf(stderr, "fullserver: %s: %v\n", cmd, err)
		return 1
	}
	bad := func() int {
		fmt.Fprintf(stderr, "usage: fullserver %s\n", usage)
		return 2
	}
	switch cmd {
	case "adduser", "deluser", "passwd":
		if len(args) != 1 {
			return bad()
		}
		if err := changeUser(c, cmd, args[0], stdin, stderr); err != nil {
			return fail(err)
		}
		return 0
	case "users":
		if len(args) != 0 {
			return bad()
		}
		path, err := passwdTarget(c)
		if err != nil {
			return fail(err)
		}
		users, err := passwdUsers(path)
		if err != nil {
			return fail(err)
		}
		slices.Sort(users)
		for _, u := range users {
			fmt.Fprintln(stdout, u)
		}
		return 0
	case "auth":
		if len(args) < 2 || len(args) > 3 || args[0] != "test" {
			return bad()
		}
		return authTest(c, args[1], args[2:], stdin, stdout, stderr)
	case "pw":
		return pwCommand(c, args, stdin, stdout, stderr, bad)
	}
	return bad()
}

// changeUser is adduser, deluser and passwd on the passwd-file.
func changeUser(c *config.Config, cmd, name string, stdin io.Reader, stderr io.Writer) error {
	path, err := passwdTarget(c)
	if err != nil {
		return err
	}
	name, err = qualifyUser(c, name)
	if err != nil {
		return err
	}
	scheme := passScheme(c)
	var pw string
	if cmd != "deluser" {
		if pw, err = readPassword(stdin, stderr, true); err != nil {
			return err
		}
	}
	owner, err := commandOwner(c)
	if err != nil {
		return err
	}
	switch cmd {
	case "adduser":
		if err := appendPasswd(path, name, pw, scheme, owner); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "added %s to %s\n", name, path)
	case "deluser":
		err := editPasswd(path, owner, func(lines []string) ([]string, error) {
			out := lines[:0:0]
			for _, l := range lines {
				if lineUser(l) != name {
					out = append(out, l)
				}
			}
			if len(out) == len(lines) {
				return nil, fmt.Errorf("no user %s in %s", name, path)
			}
			return out, nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "deleted %s from %s (the mail stays in its mailbox)\n", name, path)
	case "passwd":
		hash, err := auth.Hash(scheme, pw)
		if err != nil {
			return fmt.Errorf("default_pass_scheme = %s: %w", scheme, err)
		}
		err = editPasswd(path, owner, func(lines []string) ([]string, error) {
			found := false
			for i, l := range lines {
				if lineUser(l) != name {
					continue
				}
				// name:password:uid:gid:gecos:home:shell:extra: only
				// the password changes.
				f := strings.SplitN(strings.TrimSpace(l), ":", 3)
				f = append(f[:1], append([]string{hash}, f[min(2, len(f)):]...)...)
				lines[i] = strings.Join(f, ":")
				found = true
			}
			if !found {
				return nil, fmt.Errorf("no user %s in %s", name, path)
			}
			return lines, nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "changed the password of %s in %s\n", name, path)
	}
	return nil
}

// readPassword reads a password: on a terminal, prompted for without
// echo (twice when confirm); otherwise the first line of stdin. An empty
// password is refused.
func readPassword(stdin io.Reader, stderr io.Writer, confirm bool) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		p1, err := readNoEcho(f, stderr, "Password: ")
		if err != nil {
			return "", err
		}
		if confirm {
			p2, err := readNoEcho(f, stderr, "Retype password: ")
			if err != nil {
				return "", err
			}
			if p1 != p2 {
				return "", errors.New("passwords do not match")
			}
		}
		pw = p1
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, maxPasswordLine+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw = strings.TrimRight(line, "\r\n")
		if len(pw) > maxPasswordLine {
			return "", fmt.Errorf("password longer than %d bytes", maxPasswordLine)
		}
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

// authTest is "auth test USER [PASSWORD]", as doveadm auth test: a
// plaintext login through the configured passdb (every passdb of a
// chain, with auth_username_format), without the failure delay or
// disable_plaintext_auth. It prints the result and the passdb's extra
// fields and exits 0, or 77 when the login is refused, 75 when the
// passdb failed.
func authTest(c *config.Config, user string, rest []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var pw string
	if len(rest) == 1 {
		pw = rest[0]
	} else {
		var err error
		if pw, err = readPassword(stdin, stderr, false); err != nil {
			fmt.Fprintf(stderr, "fullserver: auth test: %v\n", err)
			return 1
		}
	}
	log := slog.New(slog.DiscardHandler)
	u, err := newUsers(c, log)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: auth test: %v\n", err)
		return 1
	}
	svc, err := newAuthService(c, u, log)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: auth test: %v\n", err)
		return 1
	}
	svc.AllowPlaintext = true
	svc.FailureDelay = -1
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ci := &auth.ConnInfo{Service: "doveadm",
		LocalAddr:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	id, err := svc.Login(ctx, ci, user, pw)
	switch {
	case errors.Is(err, auth.ErrTempFail):
		fmt.Fprintf(stdout, "passdb: %s auth failed: temporary failure (see the log)\n", user)
		return exitAuthTempFail
	case err != nil:
		fmt.Fprintf(stdout, "passdb: %s auth failed\n", user)
		return exitAuthFailed
	}
	fmt.Fprintf(stdout, "passdb: %s auth succeeded\nextra fields:\n  user=%s\n", user, id.User)
	keys := make([]string, 0, len(id.Fields))
	for k := range id.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s=%s\n", k, id.Fields[k])
	}
	return 0
}

// pwCommand is "pw [-s SCHEME] [-p PASSWORD]", as doveadm pw: the hash
// of a password (asked for twice on a terminal, else the first line of
// stdin) in Dovecot's "{SCHEME}..." form, by default in
// default_pass_scheme.
func pwCommand(c *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer, bad func() int) int {
	scheme := passScheme(c)
	pw := ""
	for len(args) > 0 {
		if len(args) < 2 {
			return bad()
		}
		switch args[0] {
		case "-s":
			scheme = strings.ToUpper(args[1])
		case "-p":
			pw = args[1]
		default:
			return bad()
		}
		args = args[2:]
	}
	if pw == "" {
		var err error
		if pw, err = readPassword(stdin, stderr, true); err != nil {
			fmt.Fprintf(stderr, "fullserver: pw: %v\n", err)
			return 1
		}
	}
	hash, err := auth.Hash(scheme, pw)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: pw: %v (known schemes: %s)\n", err, strings.Join(auth.Schemes(), " "))
		return 1
	}
	fmt.Fprintln(stdout, hash)
	return 0
}

// passScheme is default_pass_scheme: the scheme adduser, passwd and pw
// hash new passwords with.
func passScheme(c *config.Config) string {
	return strings.ToUpper(strings.TrimSpace(c.Get("default_pass_scheme")))
}

// checkPassScheme is default_pass_scheme's check: a scheme auth knows,
// with an optional .HEX or .B64 encoding.
func checkPassScheme(v string) error {
	name := strings.ToUpper(strings.TrimSpace(v))
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".HEX"), ".B64")
	if slices.Contains(auth.Schemes(), name) {
		return nil
	}
	return fmt.Errorf("unknown password scheme %q (known: %s)", v, strings.Join(auth.Schemes(), " "))
}
