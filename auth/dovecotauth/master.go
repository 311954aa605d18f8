package dovecotauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// handleMaster serves one auth-master/auth-userdb connection: USER
// lookups, LIST iteration (when the UserDB implements auth.UserLister).
func (s *Server) handleMaster(c net.Conn) {
	w := bufio.NewWriter(c)
	fmt.Fprintf(w, "VERSION\t1\t1\nSPID\t%d\n", os.Getpid())
	if w.Flush() != nil {
		return
	}
	r := bufio.NewReaderSize(c, 4096)
	for {
		line, err := readLine(r, s.maxLine())
		if err != nil {
			return
		}
		f := strings.Split(line, "\t")
		switch f[0] {
		case "VERSION":
			if len(f) < 2 || f[1] != "1" {
				return
			}
		case "CPID":
		case "USER":
			if len(f) < 3 {
				return
			}
			s.masterUser(w, f[1], unescape(f[2]), params(f[3:]))
		case "PASS":
			if len(f) < 3 {
				return
			}
			s.masterPass(w, f[1], unescape(f[2]), params(f[3:]))
		case "LIST":
			if len(f) < 2 {
				return
			}
			s.masterList(w, f[1])
		default:
			if len(f) >= 2 {
				fmt.Fprintf(w, "FAIL\t%s\treason=Unsupported command\n", f[1])
			}
		}
		if w.Flush() != nil {
			return
		}
	}
}

func (s *Server) masterUser(w *bufio.Writer, id, name string, p map[string]string) {
	if s.UserDB == nil {
		fmt.Fprintf(w, "FAIL\t%s\treason=No userdb\n", id)
		return
	}
	ci := connInfo(paramMap(p))
	ctx, cancel := context.WithTimeout(auth.WithConnInfo(context.Background(), ci), 30*time.Second)
	defer cancel()
	if s.Normalize != nil {
		n, err := s.Normalize(ci, name)
		if err != nil {
			fmt.Fprintf(w, "NOTFOUND\t%s\n", id)
			return
		}
		name = n
	}
	u, err := s.UserDB.LookupUser(ctx, name)
	switch {
	case errors.Is(err, auth.ErrUnknownUser):
		fmt.Fprintf(w, "NOTFOUND\t%s\n", id)
		return
	case err != nil:
		s.logger().Warn("dovecotauth: userdb lookup failed", "user", name, "error", err)
		fmt.Fprintf(w, "FAIL\t%s\treason=Internal error\n", id)
		return
	}
	f := []string{"USER", id, escape(u.Name)}
	keys := make([]string, 0, len(u.Fields))
	for k := range u.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "\t\n=") {
			continue
		}
		f = append(f, k+"="+escape(u.Fields[k]))
	}
	w.WriteString(strings.Join(f, "\t") + "\n")
}

func (s *Server) masterPass(w *bufio.Writer, id, name string, p map[string]string) {
	pl, ok := s.PassDB.(auth.PassLookup)
	if !ok {
		fmt.Fprintf(w, "FAIL\t%s\treason=No passdb lookups\n", id)
		return
	}
	ci := connInfo(paramMap(p))
	ctx, cancel := context.WithTimeout(auth.WithConnInfo(context.Background(), ci), 30*time.Second)
	defer cancel()
	if s.Normalize != nil {
		n, err := s.Normalize(ci, name)
		if err != nil {
			fmt.Fprintf(w, "NOTFOUND\t%s\n", id)
			return
		}
		name = n
	}
	ident, err := pl.LookupPass(ctx, name)
	switch {
	case errors.Is(err, auth.ErrUnknownUser):
		fmt.Fprintf(w, "NOTFOUND\t%s\n", id)
		return
	case err != nil:
		s.logger().Warn("dovecotauth: passdb lookup failed", "user", name, "error", err)
		fmt.Fprintf(w, "FAIL\t%s\treason=Internal error\n", id)
		return
	}
	f := []string{"PASS", id, "user=" + escape(ident.User)}
	keys := make([]string, 0, len(ident.Fields))
	for k := range ident.Fields {
		if k != "" && k != "user" && !strings.ContainsAny(k, "\t\n=") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f = append(f, k+"="+escape(ident.Fields[k]))
	}
	w.WriteString(strings.Join(f, "\t") + "\n")
}

func (s *Server) masterList(w *bufio.Writer, id string) {
	l, ok := s.UserDB.(auth.UserLister)
	if !ok {
		fmt.Fprintf(w, "DONE\t%s\tfail\n", id)
		return
	}
	users, err := l.ListUsers(context.Background())
	if err != nil {
		fmt.Fprintf(w, "DONE\t%s\tfail\n", id)
		return
	}
	for _, u := range users {
		fmt.Fprintf(w, "LIST\t%s\t%s\n", id, escape(u))
	}
	fmt.Fprintf(w, "DONE\t%s\t\n", id)
}
