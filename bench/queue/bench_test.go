package queuebench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The benchmarks' knobs (environment variables, so that "go test
// -bench" needs no flags of its own):
//
//	QUEUE_BENCH_SESSIONS   parallel SMTP sessions, comma-separated (default 10,50)
//	QUEUE_BENCH_SIZES      message payloads in bytes, k for KiB (default 4k,100k)
//	QUEUE_BENCH_MESSAGES   messages per server and round (default 1000)
//	QUEUE_BENCH_BOXES      recipients the messages are spread over, one
//	                       smtp-source process each (default 10)
//	QUEUE_BENCH_SYNCS      0: do not count fsyncs (default: count them with
//	                       strace in an untimed first round)
//	QUEUE_BENCH_BARE       1: also run bench/smtp's library-only SMTP server
//	QUEUE_BENCH_CLIENT     go: bench/smtp's load tool (yubin's smtp.Client:
//	                       PIPELINING, BDAT) instead of smtp-source
//	QUEUE_BENCH_SYSCALLS   1: the strace round counts every system call
//	                       and logs them per message
//	QUEUE_BENCH_CPUPROFILE prefix: CPU profiles of the fullserver during
//	                       the timed loads, written to prefix.1, prefix.2, ...
//	QUEUE_BENCH_FULLSERVER_CF, QUEUE_BENCH_POSTFIX_CF
//	                       extra main.cf lines for either server
//	QUEUE_BENCH_FULLSERVER_ENV
//	                       VAR=VALUE words for the fullserver's environment
//
// -benchtime Nx sets the number of timed rounds (the default, 1s, makes
// one).
type knobs struct {
	sessions []int
	sizes    []int
	messages int
	boxes    int
	syncs    bool
	bare     bool
	profile  string
	allCalls bool // QUEUE_BENCH_SYSCALLS=1: strace counts every system call
	fsExtra  string
	pfExtra  string
}

func readKnobs(b *testing.B) knobs {
	k := knobs{sessions: []int{10, 50}, sizes: []int{4 << 10, 100 << 10}, messages: 1000, boxes: 10,
		syncs: os.Getenv("QUEUE_BENCH_SYNCS") != "0", bare: os.Getenv("QUEUE_BENCH_BARE") == "1",
		profile: os.Getenv("QUEUE_BENCH_CPUPROFILE"), allCalls: os.Getenv("QUEUE_BENCH_SYSCALLS") == "1",
		fsExtra: os.Getenv("QUEUE_BENCH_FULLSERVER_CF"), pfExtra: os.Getenv("QUEUE_BENCH_POSTFIX_CF")}
	ints := func(name string, def []int) []int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		var out []int
		for _, f := range strings.Split(v, ",") {
			f = strings.ToLower(strings.TrimSpace(f))
			mult := 1
			if s, ok := strings.CutSuffix(f, "k"); ok {
				f, mult = s, 1024
			}
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				b.Fatalf("%s: %q is not a positive number", name, f)
			}
			out = append(out, n*mult)
		}
		return out
	}
	k.sessions = ints("QUEUE_BENCH_SESSIONS", k.sessions)
	k.sizes = ints("QUEUE_BENCH_SIZES", k.sizes)
	k.messages = ints("QUEUE_BENCH_MESSAGES", []int{k.messages})[0]
	k.boxes = ints("QUEUE_BENCH_BOXES", []int{k.boxes})[0]
	return k
}

// contender is one server under load.
type contender struct {
	name      string
	addr      string
	pids      func() []int         // its processes, for strace
	cpu       func() time.Duration // CPU time its processes used so far
	delivered func() int           // messages delivered so far
	profOn    func()               // around timed loads (fullserver's profile)
	profOff   func()
}

// sample is one timed load.
type sample struct {
	accepted  float64 // msg/s by smtp-source's elapsed time
	delivered float64 // msg/s until the last message was delivered
	cpu       float64 // server ms CPU per message, until delivered
	gen       float64 // load generator ms CPU per message
}

// benchCase is one load shape.
type benchCase struct{ sessions, size int }

func (c benchCase) String() string {
	size := fmt.Sprintf("%dB", c.size)
	if c.size%1024 == 0 {
		size = fmt.Sprintf("%dKiB", c.size/1024)
	}
	return fmt.Sprintf("c%d-%s", c.sessions, size)
}

// env is what a benchmark run shares.
type env struct {
	source string // smtp-source
	strace string // "" when not counting
	k      knobs
	rcpts  []string
	lmtp   bool // speak LMTP (smtp-source -L)
	logf   func(format string, args ...any)
}

// loadTimeout bounds one load (smtp-source is killed after it).
const loadTimeout = 5 * time.Minute

// measure sends n messages to c and waits until c delivered them.
func (e *env) measure(ctx context.Context, c *contender, bc benchCase, n int) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	d0, cpu0 := c.delivered(), c.cpu()
	if c.profOn != nil {
		c.profOn()
	}
	start := time.Now()
	r, err := runSource(ctx, e.source, c.addr, bc.sessions, n, bc.size, e.rcpts, e.lmtp)
	if c.profOff != nil {
		c.profOff()
	}
	if err != nil {
		return sample{}, err
	}
	if err := waitCount(c.delivered, d0+n, 3*time.Minute); err != nil {
		return sample{}, err
	}
	total := time.Since(start)
	cpu := c.cpu() - cpu0
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	return sample{accepted: float64(n) / r.elapsed.Seconds(), delivered: float64(n) / total.Seconds(), cpu: ms(cpu), gen: ms(r.cpu)}, nil
}

// countSyncs runs n messages through c under strace and returns the
// sync-class calls per message (and the counts by call).
func (e *env) countSyncs(ctx context.Context, c *contender, bc benchCase, n int) (float64, map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*loadTimeout)
	defer cancel()
	d0 := c.delivered()
	counts, err := straceSyncs(ctx, e.strace, c.pids(), e.k.allCalls, func() error {
		if _, err := runSource(ctx, e.source, c.addr, bc.sessions, n, bc.size, e.rcpts, e.lmtp); err != nil {
			return err
		}
		return waitCount(c.delivered, d0+n, 3*time.Minute)
	})
	if err != nil {
		return 0, nil, err
	}
	if e.k.allCalls {
		// Every call was counted: log them all per message, and keep
		// only the sync-class ones for the figure.
		calls := make([]string, 0, len(counts))
		for name, k := range counts {
			calls = append(calls, fmt.Sprintf("%s %.2f", name, float64(k)/float64(n)))
		}
		sort.Strings(calls)
		e.logf("%s: system calls per message (%d total): %s", c.name, sumCounts(counts)/n, strings.Join(calls, ", "))
		for name := range counts {
			if !isSyncCall(name) {
				delete(counts, name)
			}
		}
	}
	return float64(sumCounts(counts)) / float64(n), counts, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// setup checks the prerequisites and reads the knobs.
func setup(b *testing.B) *env {
	if os.Geteuid() != 0 {
		testutil.Unavailable(b, "a private Postfix instance needs root")
	}
	e := &env{source: testutil.RequireBinary(b, "smtp-source"), k: readKnobs(b), logf: b.Logf}
	if os.Getenv("QUEUE_BENCH_CLIENT") == "go" {
		e.source = buildGoClient(b, b.TempDir())
	}
	if e.k.syncs {
		if e.strace = testutil.LookBinary("strace"); e.strace == "" {
			b.Logf("strace not installed (Debian package strace): fsyncs not counted")
		}
	}
	return e
}

// fullserverContender starts the fullserver with its users and returns
// it as a contender whose deliveries are counted by count (nil: its
// Maildirs).
func (e *env) fullserverContender(b *testing.B, s *sink, count func() int) (*contender, *fullserver) {
	fs := startFullserver(b, 50, s.port, e.k.fsExtra, e.k.profile != "")
	pid := fs.PID()
	if count == nil {
		count = func() int { return countMaildirs(fs.data + "/mail/example.jp/*/Maildir") }
	}
	c := &contender{name: "fullserver", addr: fs.addr, pids: func() []int { return []int{pid} },
		cpu: func() time.Duration { return treeCPU(pid) }, delivered: count}
	if e.k.profile != "" {
		c.profOn, c.profOff = fs.startProfile, fs.stopProfile
		b.Cleanup(func() { fs.saveProfiles(b, e.k.profile) })
	}
	return c, fs
}

// postfixContender starts Postfix (local users as the fullserver's,
// relayhost the sink).
func (e *env) postfixContender(b *testing.B, s *sink, count func() int) *contender {
	pf := startPostfix(b, 50, s.port, e.k.pfExtra)
	if count == nil {
		count = func() int { return countMaildirs(pf.base + "/*/Maildir") }
	}
	return &contender{name: "postfix", addr: pf.Addr(), pids: func() []int { return tree(pf.master) },
		cpu: func() time.Duration { return treeCPU(pf.master) }, delivered: count}
}

// compare runs every case against the contenders (the last one,
// Postfix, is the reference): first an untimed round per case and
// contender, under strace when fsyncs are counted (it also creates the
// Maildirs and starts Postfix's processes), then the timed rounds,
// every case in every round, the contenders taking turns in alternating
// order. It logs each round and, at the end, the medians.
func (e *env) compare(b *testing.B, what string, cs []*contender) {
	ctx := context.Background()
	var cases []benchCase
	for _, s := range e.k.sessions {
		for _, z := range e.k.sizes {
			cases = append(cases, benchCase{s, z})
		}
	}
	ref := cs[len(cs)-1]
	syncs := map[string]float64{} // case/contender -> fsyncs per message
	for _, bc := range cases {
		n := min(e.k.messages, 500)
		for _, c := range cs {
			if e.strace == "" {
				if _, err := e.measure(ctx, c, bc, n); err != nil {
					b.Fatalf("%s %s warm-up: %v", c.name, bc, err)
				}
				continue
			}
			per, counts, err := e.countSyncs(ctx, c, bc, n)
			if err != nil {
				b.Fatalf("%s %s strace round: %v", c.name, bc, err)
			}
			syncs[bc.String()+"/"+c.name] = per
			b.Logf("%s %-12s %-10s %.2f fsyncs/message (%v over %d messages, strace -f)", what, bc, c.name, per, counts, n)
		}
	}
	samples := map[string][]sample{}
	ratios := map[string][][3]float64{} // accepted, delivered, CPU ratio to the reference
	round := 0
	for b.Loop() {
		round++
		for _, bc := range cases {
			order := append([]*contender(nil), cs...)
			if round%2 == 0 {
				for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
					order[i], order[j] = order[j], order[i]
				}
			}
			got := map[string]sample{}
			for _, c := range order {
				s, err := e.measure(ctx, c, bc, e.k.messages)
				if err != nil {
					b.Fatalf("%s %s round %d: %v", c.name, bc, round, err)
				}
				got[c.name] = s
				samples[bc.String()+"/"+c.name] = append(samples[bc.String()+"/"+c.name], s)
			}
			r := got[ref.name]
			line := fmt.Sprintf("round %d %s %-12s %s %5.0f msg/s accepted %5.0f delivered %.2f ms CPU/msg", round, what, bc, ref.name, r.accepted, r.delivered, r.cpu)
			for _, c := range cs[:len(cs)-1] {
				y := got[c.name]
				x := [3]float64{y.accepted / r.accepted, y.delivered / r.delivered, r.cpu / y.cpu}
				ratios[bc.String()+"/"+c.name] = append(ratios[bc.String()+"/"+c.name], x)
				line += fmt.Sprintf(" | %s %5.0f accepted %5.0f delivered %.2f ms CPU/msg: %.2fx accepted %.2fx delivered %.2fx less CPU", c.name, y.accepted, y.delivered, y.cpu, x[0], x[1], x[2])
			}
			b.Log(line)
		}
	}
	var t strings.Builder
	client := "smtp-source"
	if filepath.Base(e.source) == goClientName {
		client = "bench/smtp's Go client"
	}
	fmt.Fprintf(&t, "%s: medians of %d rounds, %d messages per round, one per connection, over %d recipients (%s)\n", what, round, e.k.messages, len(e.rcpts), client)
	fmt.Fprintf(&t, "%-13s %-10s %9s %9s %8s %8s %7s | %8s %8s %8s\n", "case", "server", "accept/s", "deliv/s", "CPUms/m", "genms/m", "fsync/m", "x accept", "x deliv", "x CPU")
	for _, bc := range cases {
		for _, c := range cs {
			key := bc.String() + "/" + c.name
			ss := samples[key]
			col := func(f func(sample) float64) float64 {
				xs := make([]float64, len(ss))
				for i, s := range ss {
					xs[i] = f(s)
				}
				return median(xs)
			}
			sy := "-"
			if v, ok := syncs[key]; ok {
				sy = fmt.Sprintf("%.2f", v)
			}
			fmt.Fprintf(&t, "%-13s %-10s %9.0f %9.0f %8.3f %8.3f %7s", bc, c.name,
				col(func(s sample) float64 { return s.accepted }), col(func(s sample) float64 { return s.delivered }),
				col(func(s sample) float64 { return s.cpu }), col(func(s sample) float64 { return s.gen }), sy)
			if c != ref {
				rs := ratios[key]
				var a, d, u []float64
				for _, x := range rs {
					a, d, u = append(a, x[0]), append(d, x[1]), append(u, x[2])
				}
				fmt.Fprintf(&t, " | %7.2fx %7.2fx %7.2fx", median(a), median(d), median(u))
				b.ReportMetric(median(a), fmt.Sprintf("x-accept-%s-%s", c.name, bc))
			}
			t.WriteString("\n")
		}
	}
	b.Log("\n" + t.String())
}

// recipients returns n addresses uN@domain.
func recipients(n int, domain string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%d@%s", i, domain)
	}
	return out
}

// BenchmarkQueueCompare: acceptance for local delivery through the
// fullserver binary against Postfix 3.7 delivering to Maildir (virtual),
// in the same run, driven by smtp-source with one message per
// connection. "accepted" is smtp-source's elapsed time (every message
// acknowledged), "delivered" runs until the last message is in its
// Maildir (the same for a server that delivers during DATA).
func BenchmarkQueueCompare(b *testing.B) {
	e := setup(b)
	e.rcpts = recipients(min(e.k.boxes, 50), "example.jp")
	s := startSink(b)
	var cs []*contender
	fsc, _ := e.fullserverContender(b, s, nil)
	cs = append(cs, fsc)
	if e.k.bare {
		br := startBare(b)
		cs = append(cs, &contender{name: "bare", addr: br.addr, pids: func() []int { return []int{br.cmd.Process.Pid} },
			cpu:       func() time.Duration { return treeCPU(br.cmd.Process.Pid) },
			delivered: func() int { return countMaildirs(br.base + "/*/Maildir") }})
	}
	cs = append(cs, e.postfixContender(b, s, nil))
	e.compare(b, "local", cs)
}

// BenchmarkQueueRelay: relaying to smtp-sink through the fullserver
// (relayhost = [127.0.0.1]:sink) against Postfix relaying to the same
// sink. "delivered" runs until the sink counted every message. While the
// fullserver has no outbound queue it refuses relaying (451 at RCPT):
// the benchmark then says so and measures Postfix alone.
func BenchmarkQueueRelay(b *testing.B) {
	e := setup(b)
	e.rcpts = recipients(e.k.boxes, "relay.example")
	s := startSink(b)
	fsc, _ := e.fullserverContender(b, s, s.received)
	pf := e.postfixContender(b, s, s.received)
	cs := []*contender{fsc, pf}
	if err := probeRelay(fsc.addr, e.rcpts[0]); err != nil {
		b.Logf("fullserver cannot relay yet: %v; measuring Postfix alone", err)
		cs = []*contender{pf}
	}
	e.compare(b, "relay", cs)
}

// probeRelay asks the server at addr to take mail for rcpt (MAIL, RCPT,
// then RSET: nothing is sent) and returns the refusal, if any.
func probeRelay(addr, rcpt string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(conn)
	tp.R = bufio.NewReader(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return err
	}
	for _, cmd := range []string{"EHLO load.example.org", "MAIL FROM:<bench@example.org>", "RCPT TO:<" + rcpt + ">"} {
		if err := tp.PrintfLine("%s", cmd); err != nil {
			return err
		}
		if code, msg, err := tp.ReadResponse(250); err != nil {
			return fmt.Errorf("%s: %d %s", strings.Fields(cmd)[0], code, msg)
		}
	}
	tp.PrintfLine("RSET")
	tp.ReadResponse(250)
	tp.PrintfLine("QUIT")
	tp.ReadResponse(221)
	return nil
}
