// Command fullserver is a complete mail host in one process: SMTP (MX,
// submission, submissions), IMAP, POP3 and LMTP over Maildir, configured
// with one file in Postfix's main.cf syntax. See README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/yubinmail/yubin/config"
)

const usage = `usage: fullserver [-data DIR] [-config FILE] [command]

commands:
  (none)        run the mail host
  check         check the configuration and report problems with file:line
  config        print the settings that differ from the defaults
  config -a     print every setting with its value
  adduser USER  add USER (user@domain; a bare name gets @$myorigin when
                myorigin is set) to the passwd file; the password is read
                from standard input (prompted for on a terminal) and
                hashed with default_pass_scheme
  deluser USER  remove USER from the passwd file (its mail stays)
  passwd USER   change USER's password (read as adduser reads it)
  users         list the users in the passwd file
  auth test USER [PASSWORD]  try a login through the passdb (doveadm auth test)
  pw [-s SCHEME] [-p PASSWORD]  print a password's hash (doveadm pw)
                A running server sees these changes at the next login.
  reload        make the running server re-read its configuration (SIGHUP,
                as postfix reload): listeners, maillog_file, users, tables
  stop          stop the running server and wait until it has drained
                (SIGTERM, as postfix stop); both find it through the locked
                pid file DATA/fullserver.pid
  queue list [json]        the running server's queue, as mailq (postqueue -p, -j)
  queue flush              deliver all queued mail now (postqueue -f)
  queue hold ID|ALL        put messages on hold (postsuper -h)
  queue release ID|ALL     release held messages (postsuper -H)
  queue delete ID|ALL      delete messages (postsuper -d)
  queue requeue ID|ALL     route messages anew and retry them (postsuper -r)
  replicator status [USER] replication queues, or users matching USER (doveadm replicator status)

flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	data       string // -data, "" when not given
	configFile string // -config, "" when not given
	args       []string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("fullserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.data, "data", "", "data directory (default ./yubin-data, or data_directory from the config)")
	fs.StringVar(&o.configFile, "config", "", "configuration file in main.cf syntax (default DATA/main.cf when it exists)")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.args = fs.Args()
	return o, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cmd := ""
	if len(o.args) > 0 {
		cmd = o.args[0]
	}
	if cmd == authWorkerCommand {
		return runAuthWorker(o.args[1:], stderr)
	}
	switch cmd {
	case "", "run", "check", "config", "queue", "dkim", "replicator", "reload", "stop":
	default:
		if slices.Contains(userCommandNames, cmd) {
			break
		}
		fmt.Fprintf(stderr, "fullserver: unknown command %q\n", cmd)
		return 2
	}
	ld, err := loadAll(o)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: configuration errors:\n%s\n", indent(err.Error()))
		if cmd == "stop" {
			return stopDespiteErrors(o, stderr)
		}
		return 1
	}
	cfg, file := ld.cfg, ld.file
	switch cmd {
	case "check":
		// Build everything a start would, recording what is read: a
		// setting nothing reads gets a warning, never a silent OK.
		reads := config.NewReadLog()
		if err := checkRuntime(cfg.WithReadLog(reads)); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "fullserver: %s\n", line)
			}
			return 1
		}
		if n := ld.printWarnings(stderr) + unusedWarnings(stderr, cfg, reads); n > 0 {
			fmt.Fprintf(stdout, "%s: configuration usable, but %d setting(s) have no effect (see the warnings)\n", file, n)
			return 0
		}
		fmt.Fprintf(stdout, "%s: configuration OK\n", file)
		return 0
	case "config":
		all := len(o.args) > 1 && o.args[1] == "-a"
		if !all && ld.dovecotRoot != nil {
			printMainAndDovecot(stdout, cfg, ld)
			return 0
		}
		printConfig(stdout, cfg, all)
		return 0
	case "adduser", "deluser", "passwd", "users", "auth", "pw":
		return userCommand(cfg, cmd, o.args[1:], stdin, stdout, stderr)
	case "queue":
		return queueCommand(cfg, o.args[1:], stdout, stderr)
	case "reload", "stop":
		return controlCommand(cfg, cmd, stdout, stderr)
	case "dkim":
		return dkimCommand(cfg, o.args[1:], stdout, stderr)
	case "replicator":
		return replicatorCommand(cfg, o.args[1:], stdout, stderr)
	}
	return serve(cfg, file, o, stdout, stderr)
}

// loadConfig reads the configuration: the -config file, else
// DATA/main.cf when it exists, else the embedded defaults. It returns the
// name of what it read.
func loadConfig(o *options) (*config.Config, string, error) {
	ld, err := loadAll(o)
	return ld.cfg, ld.file, err
}

// loadMain reads main.cf (as loadConfig says) on top of base, the
// settings read from dovecot.conf.
func loadMain(o *options, schema *config.Schema, base []config.Setting, more ...config.Setting) (*config.Config, string, error) {
	var extra []config.Setting
	if o.data != "" {
		extra = append(extra, config.Setting{Name: "data_directory", Value: o.data, Pos: config.Pos{File: "-data flag"}})
	}
	extra = append(extra, more...)
	file := o.configFile
	if file == "" {
		data := o.data
		if data == "" {
			data = "./yubin-data"
		}
		if p := filepath.Join(data, "main.cf"); fileExists(p) {
			file = p
		}
	}
	if file == "" {
		c, err := schema.ParseOver(base, "(defaults)", strings.NewReader(""), extra...)
		return c, "(embedded defaults)", err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, file, config.ErrorList{{Msg: err.Error()}}
	}
	defer f.Close()
	c, err := schema.ParseOver(base, file, f, extra...)
	return c, file, err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// printConfig writes settings as "name = value" lines, the way postconf -n
// (all=false) and postconf (all=true) do.
func printConfig(w io.Writer, c *config.Config, all bool) {
	if !all {
		for _, s := range c.NonDefault() {
			fmt.Fprintf(w, "%s = %s\n", s.Key(), s.Value)
		}
		return
	}
	for _, p := range c.Schema().Params() {
		if p.Runtime {
			continue
		}
		fmt.Fprintf(w, "%s = %s\n", p.Name, c.Raw(p.Name))
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
