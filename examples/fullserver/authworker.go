package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/yubinmail/yubin/auth/privsep"
	"github.com/yubinmail/yubin/config"
)

// authWorkerCommand is the hidden command line of the auth worker: the
// process that stays root to run PAM (pam_unix reads /etc/shadow) when
// the host, started as root, drops to mail_owner. Dovecot keeps its
// auth process as root for the same reason. The host starts it with one
// end of a socket pair as file descriptor 3 and the pam passdbs it may
// serve as arguments; it serves nothing else and exits when the host's
// end closes.
const authWorkerCommand = "auth-worker"

// pamKey validates the options of one "passdb = pam[:...]" and returns
// the name the auth worker serves that passdb by: its service and
// switches in a fixed form.
func pamKey(opts map[string]string, words []string) (string, error) {
	for k := range opts {
		if k != "setcred" && k != "session" {
			return "", fmt.Errorf("unknown pam option %s", k)
		}
	}
	service := "dovecot"
	switch len(words) {
	case 0:
	case 1:
		service = words[0]
	default:
		return "", fmt.Errorf("want pam[:[session=yes] [setcred=yes] [SERVICE]]")
	}
	yes := func(k string) string {
		if opts[k] == "yes" {
			return "yes"
		}
		return "no"
	}
	return "service=" + service + " setcred=" + yes("setcred") + " session=" + yes("session"), nil
}

// pamKeys lists the pam passdbs the passdb setting names, once each.
func pamKeys(c *config.Config) ([]string, error) {
	var keys []string
	for _, part := range strings.Split(c.Get("passdb"), ",") {
		driver, opts, words := driverArgs(strings.TrimSpace(part))
		if driver != "pam" {
			continue
		}
		k, err := pamKey(opts, words)
		if err != nil {
			return nil, fmt.Errorf("passdb = %s: %w", c.Get("passdb"), err)
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// startAuthWorker starts the auth worker when the host runs as root, was
// built with PAM and uses a pam passdb; it must run before privileges
// are dropped. The worker's log lines go to the host's standard error.
func (h *host) startAuthWorker(stderr io.Writer) error {
	if !pamBuilt || os.Geteuid() != 0 {
		return nil
	}
	keys, err := pamKeys(h.cfg)
	if err != nil || len(keys) == 0 {
		return err
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("auth worker: %w", err)
	}
	hostEnd, workerEnd := os.NewFile(uintptr(fds[0]), "auth-worker"), os.NewFile(uintptr(fds[1]), "auth-worker")
	defer hostEnd.Close()
	defer workerEnd.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("auth worker: %w", err)
	}
	cmd := exec.Command(exe, append([]string{authWorkerCommand}, keys...)...)
	cmd.ExtraFiles = []*os.File{workerEnd} // descriptor 3
	cmd.Stderr = stderr
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("auth worker: %w", err)
	}
	go cmd.Wait() // reaped when it exits
	conn, err := net.FileConn(hostEnd)
	if err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("auth worker: %w", err)
	}
	h.authWorker = privsep.NewClient(conn)
	h.log.Info(fmt.Sprintf("auth worker pid %d serves passdb pam as root (%s)", cmd.Process.Pid, strings.Join(keys, "; ")))
	return nil
}

// runAuthWorker is the auth worker's main: it serves the pam passdbs
// named by keys over descriptor 3 until the host closes its end.
func runAuthWorker(keys []string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("service", authWorkerCommand)
	dbs, err := pamWorkerDBs(keys)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	f := os.NewFile(3, "auth-worker")
	if f == nil {
		log.Error("no socket on descriptor 3: the auth worker is started by the fullserver, not by hand")
		return 2
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Error("no socket on descriptor 3: the auth worker is started by the fullserver, not by hand", "err", err)
		return 2
	}
	// The host's SIGTERM or SIGINT reaches the whole process group; the
	// worker ends when the host closes its end, after the host's last
	// login, not before.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	srv := &privsep.Server{DBs: dbs, Logger: log}
	if err := srv.Serve(context.Background(), conn); err != nil {
		return 1
	}
	return 0
}
