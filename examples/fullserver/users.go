package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// passwdUsers returns the user names in a passwd file (none when it does
// not exist).
func passwdUsers(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var users []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		users = append(users, name)
	}
	return users, nil
}

// appendPasswd adds "name:{SHA512-CRYPT}...::::::" to the passwd file,
// atomically (a reader never sees half a file), refusing a name that is
// already there.
func appendPasswd(path, name, password string) error {
	name = strings.ToLower(strings.TrimSpace(name)) // auth_username_format = %Lu
	if name == "" || strings.ContainsAny(name, ": \t\r\n#") {
		return fmt.Errorf("bad user name %q (no spaces, ':' or '#')", name)
	}
	if password == "" {
		return errors.New("empty password")
	}
	users, err := passwdUsers(path)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u == name {
			return fmt.Errorf("user %s already exists in %s", name, path)
		}
	}
	hash, err := auth.Hash("SHA512-CRYPT", password)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		old = append(old, '\n')
	}
	line := fmt.Sprintf("%s:%s::::::\n", name, hash)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return writeFileAtomic(path, append(old, line...), 0o600)
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
	name := "demo@" + c.Get("myhostname")
	if err := appendPasswd(path, name, pw); err != nil {
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

// addUser is "fullserver adduser NAME": the password comes from stdin,
// asked for twice without echo when stdin is a terminal.
func addUser(c *config.Config, name string, stdin io.Reader, stderr io.Writer) error {
	path := passwdFile(c)
	if path == "" {
		return fmt.Errorf("passdb is %q, not a passwd-file", c.Get("passdb"))
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		p1, err := readNoEcho(f, stderr, "Password: ")
		if err != nil {
			return err
		}
		p2, err := readNoEcho(f, stderr, "Retype password: ")
		if err != nil {
			return err
		}
		if p1 != p2 {
			return errors.New("passwords do not match")
		}
		pw = p1
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if err := appendPasswd(path, name, pw); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		// Run by root: the server, running as mail_owner, must read it.
		// A missing mail owner is the server's to refuse, when it starts.
		owner, _, err := ownerOf(c)
		if err != nil {
			fmt.Fprintf(stderr, "warning: %s is left to root: %v\n", path, err)
		} else if err := giveToOwner(path, owner); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "added %s to %s\n", strings.ToLower(name), path)
	return nil
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
