package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// passwdFile returns the passwd-file path of passdb
// ("passwd-file:[scheme=X ...] PATH", also as one of a comma-separated
// chain), or "" for another driver.
func passwdFile(c *config.Config) string {
	for _, part := range strings.Split(c.Get("passdb"), ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "passwd-file:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return ""
		}
		return f[len(f)-1]
	}
	return ""
}

// passwdUsers returns the user names in a passwd file, in file order
// (none when it does not exist), as auth reads the file: lines auth
// refuses name no user.
func passwdUsers(path string) ([]string, error) {
	b, err := readPasswdBounded(path)
	if err != nil || b == nil {
		return nil, err
	}
	entries, _ := auth.ParsePasswdFile(bytes.NewReader(b), path)
	users := make([]string, 0, len(entries))
	for u := range entries {
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b string) int { return entries[a].Line - entries[b].Line })
	return users, nil
}

// appendPasswd adds "name:{SCHEME}hash::::::" to the passwd file
// (editPasswd: locked, atomic, owned by owner when not nil), refusing a
// name that is already there and an empty password. name must be
// qualifyUser's.
func appendPasswd(path, name, password, scheme string, owner *account) error {
	if password == "" {
		return errors.New("empty password")
	}
	hash, err := auth.Hash(scheme, password)
	if err != nil {
		return fmt.Errorf("default_pass_scheme = %s: %w", scheme, err)
	}
	return editPasswd(path, owner, func(lines []string) ([]string, error) {
		for _, l := range lines {
			if lineUser(l) == name {
				return nil, fmt.Errorf("user %s already exists in %s", name, path)
			}
		}
		return append(lines, fmt.Sprintf("%s:%s::::::", name, hash)), nil
	})
}

// ensureDemoUser adds demo@<myhostname> with a random password when the
// passwd file has no users, and returns it (nil when there were users).
func ensureDemoUser(c *config.Config) (*demoUser, error) {
	path := passwdFile(c)
	if path == "" {
		return nil, nil
	}
	users, err := passwdUsers(path)
	if err != nil || len(users) > 0 {
		return nil, err
	}
	pw := randomPassword()
	name := "demo@" + strings.ToLower(c.Get("myhostname"))
	if err := appendPasswd(path, name, pw, passScheme(c), nil); err != nil {
		return nil, fmt.Errorf("making the demo user: %w", err)
	}
	return &demoUser{name: name, password: pw}, nil
}

// randomPassword returns 16 characters from an alphabet without look-alikes.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readNoEcho prompts and reads one line with the terminal's echo off.
func readNoEcho(f *os.File, w io.Writer, prompt string) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(w, prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Fprintln(w)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
