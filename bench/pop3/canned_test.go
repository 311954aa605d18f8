package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// The "canned" reference server answers the load generator's session
// with replies prepared once from the same Maildir (the same octets a
// real server sends) and does no other work: no store, no
// authentication, no file access. Its sessions/s are what the load
// generator, the kernel's loopback TCP and this machine allow any
// server. BenchmarkCompare runs it beside the others when
// POP3_BENCH_WIRINGS names it ("canned"); it is not run by default.

const cannedName = "canned"

// cannedWanted reports whether POP3_BENCH_WIRINGS names the canned
// server.
func cannedWanted() bool {
	for _, w := range strings.Split(os.Getenv("POP3_BENCH_WIRINGS"), ",") {
		if strings.TrimSpace(w) == cannedName {
			return true
		}
	}
	return false
}

// cannedReplies reads the messages of the Maildir at root (new/ and cur/,
// in file name order) and returns the STAT, UIDL and RETR replies.
func cannedReplies(root string) (stat, uidl []byte, retr [][]byte, err error) {
	var names []string
	for _, sub := range []string{"cur", "new"} {
		m, _ := filepath.Glob(filepath.Join(root, sub, "*"))
		names = append(names, m...)
	}
	sort.Strings(names)
	var total int
	var u bytes.Buffer
	u.WriteString("+OK\r\n")
	for i, n := range names {
		f, err := os.Open(n)
		if err != nil {
			return nil, nil, nil, err
		}
		var body bytes.Buffer
		_, err = io.Copy(&body, store.NewCRLFReader(f))
		f.Close()
		if err != nil {
			return nil, nil, nil, err
		}
		total += body.Len()
		stuffed := bytes.ReplaceAll(body.Bytes(), []byte("\r\n."), []byte("\r\n.."))
		if bytes.HasPrefix(stuffed, []byte(".")) {
			stuffed = append([]byte("."), stuffed...)
		}
		end := ".\r\n"
		if len(stuffed) > 0 && !bytes.HasSuffix(stuffed, []byte("\r\n")) {
			end = "\r\n.\r\n"
		}
		retr = append(retr, fmt.Appendf(nil, "+OK %d octets\r\n%s%s", body.Len(), stuffed, end))
		fmt.Fprintf(&u, "%d %08X%08X\r\n", i+1, i+1, 1)
	}
	u.WriteString(".\r\n")
	return fmt.Appendf(nil, "+OK %d %d\r\n", len(names), total), u.Bytes(), retr, nil
}

// serveCanned serves the canned replies for the Maildir at root on l.
func serveCanned(l net.Listener, root string) error {
	stat, uidl, retr, err := cannedReplies(root)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go cannedSession(c, stat, uidl, retr)
		}
	}()
	return nil
}

func cannedSession(c net.Conn, stat, uidl []byte, retr [][]byte) {
	defer c.Close()
	r := bufio.NewReader(c)
	c.Write([]byte("+OK canned\r\n"))
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
		reply := []byte("+OK\r\n")
		switch strings.ToUpper(cmd) {
		case "STAT":
			reply = stat
		case "UIDL":
			reply = uidl
		case "RETR":
			var n int
			if _, err := fmt.Sscan(arg, &n); err != nil || n < 1 || n > len(retr) {
				reply = []byte("-ERR no such message\r\n")
			} else {
				reply = retr[n-1]
			}
		case "QUIT":
			c.Write([]byte("+OK bye\r\n"))
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}
