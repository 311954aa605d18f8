package queue

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The crash tests run this test binary again as a child that works on a
// spool as fast as it can and prints what it has done, line by line,
// only after the spool call returned:
//
//	A <token>          put returned: the message is acknowledged
//	D <token> <idx>    record(idx, Sent) returned
//	F <token>          deferTo returned
//	r <token>          remove is about to be called
//	R <token>          remove returned
//
// The parent kills it with SIGKILL at a random moment (every third round
// early, maybe during recovery), opens the spool and checks what it
// finds against those lines.
const (
	crashModeEnv  = "YUBIN_SPOOL_CRASH_CHILD"
	crashDirEnv   = "YUBIN_SPOOL_CRASH_DIR"
	crashRoundEnv = "YUBIN_SPOOL_CRASH_ROUND"
)

// crashOptions are the spool options of the child and the parent: small
// segments and a low large-message limit, so that rolls, segment deletion
// and large files all happen.
func crashOptions(dir string) spoolOptions {
	return spoolOptions{Dir: dir, SegmentBytes: 256 << 10, LargeBytes: 8 << 10}
}

// crashBody is the content of the message of token: its size varies
// with the token, some are large.
func crashBody(token string) string {
	h := fnv.New32a()
	io.WriteString(h, token)
	n := int(h.Sum32() % 40)
	if n == 0 {
		n = 800 // about 12 KiB: a large message
	}
	return "Subject: " + token + "\r\n\r\n" + strings.Repeat(token+" line\r\n", n)
}

func crashToken(m *qmsg) string { return strings.TrimSuffix(m.env.From, "@example.jp") }

// TestQueueCrashHelper is the child process of the crash tests; run
// alone it skips.
func TestQueueCrashHelper(t *testing.T) {
	mode := os.Getenv(crashModeEnv)
	if mode == "" {
		t.Skip("the child process of TestQueueCrash*; nothing to do alone")
	}
	s, msgs, err := openSpool(crashOptions(os.Getenv(crashDirEnv)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: openSpool:", err)
		os.Exit(3)
	}
	round := os.Getenv(crashRoundEnv)
	var out sync.Mutex
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		out.Lock()
		os.Stdout.WriteString(line) // one write: a line is whole or absent
		out.Unlock()
	}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "child: %s: %v\n", what, err)
		os.Exit(4)
	}
	// Work on the messages of earlier rounds too (activity mode).
	old := make(chan *qmsg, len(msgs))
	for _, m := range msgs {
		old <- m
	}
	close(old)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				token := fmt.Sprintf("r%sg%dn%d", round, g, i)
				env := spoolTestEnvelope(token+"@example.jp", "r0@example.jp", "r1@example.jp", "r2@example.jp")
				env.Hold = rng.IntN(25) == 0
				m, err := s.put(context.Background(), env, strings.NewReader(crashBody(token)))
				if err != nil {
					fail("put", err)
				}
				say("A %s", token)
				if mode != "activity" {
					continue
				}
				if o, ok := <-old; ok {
					m = o // sometimes an older message instead
				}
				token = crashToken(m)
				if err := s.record(m, 0, Sent, ""); err != nil {
					fail("record", err)
				}
				say("D %s 0", token)
				if rng.IntN(2) == 0 && m.queue != queueHold {
					if err := s.deferTo(m, time.Now().Add(time.Hour)); err != nil {
						fail("deferTo", err)
					}
					say("F %s", token)
				}
				if err := s.record(m, 2, Deferred, "4.4.1 connection timed out"); err != nil {
					fail("record", err)
				}
				if rng.IntN(3) == 0 {
					if err := s.record(m, 1, Bounced, "5.1.1 unknown"); err != nil {
						fail("record", err)
					}
					say("D %s 1", token)
				}
				if rng.IntN(2) == 0 {
					say("r %s", token)
					if err := s.remove(m); err != nil {
						fail("remove", err)
					}
					say("R %s", token)
				}
			}
		}()
	}
	wg.Wait()
}

// crashLog is what the children said, over all rounds.
type crashLog struct {
	acked    map[string]bool
	done     map[string][]int
	removing map[string]bool // remove called, maybe not returned
	removed  map[string]bool
	deferred int
}

func (l *crashLog) read(r io.Reader) (lines int) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return lines // a last line without its newline was cut by the kill
		}
		lines++
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "A":
			l.acked[f[1]] = true
		case len(f) == 3 && f[0] == "D":
			idx, _ := strconv.Atoi(f[2])
			l.done[f[1]] = append(l.done[f[1]], idx)
		case len(f) == 2 && f[0] == "F":
			l.deferred++
		case len(f) == 2 && f[0] == "r":
			l.removing[f[1]] = true
		case len(f) == 2 && f[0] == "R":
			l.removed[f[1]] = true
		}
	}
}

// TestQueueCrashPut kills a child putting messages from 16 goroutines,
// several times, and checks that every message whose put returned is
// recovered with its content.
func TestQueueCrashPut(t *testing.T) {
	testQueueCrash(t, "put", 6)
}

// TestQueueCrashActivity kills a child that puts, records outcomes,
// defers and removes messages (also those of earlier rounds) and checks
// that no acknowledged message is lost, no recorded outcome is lost, and
// no removed message comes back.
func TestQueueCrashActivity(t *testing.T) {
	testQueueCrash(t, "activity", 6)
}

func testQueueCrash(t *testing.T, mode string, rounds int) {
	if testing.Short() {
		t.Skip("-short: the crash test runs a child process several times")
	}
	dir := t.TempDir()
	log := &crashLog{acked: map[string]bool{}, done: map[string][]int{}, removing: map[string]bool{}, removed: map[string]bool{}}
	var totalLost, totalDoneLost, totalResurrected, totalWrong, totalDups int
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestQueueCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashModeEnv+"="+mode, crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it at a random moment once it has started working.
		started := make(chan struct{})
		var lines atomic.Int64
		readDone := make(chan struct{})
		pr, pw := io.Pipe()
		go func() {
			defer close(readDone)
			lines.Store(int64(log.read(pr)))
		}()
		go func() {
			br := bufio.NewReader(stdout)
			first, err := br.ReadString('\n')
			pw.Write([]byte(first))
			close(started)
			if err == nil {
				io.Copy(pw, br)
			}
			pw.Close()
		}()
		if round%3 == 2 {
			// Early: maybe while the child is still recovering the
			// spool (cutting torn ends, marking duplicates removed).
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		} else {
			select {
			case <-started:
			case <-time.After(30 * time.Second):
			}
			time.Sleep(time.Duration(10+rand.IntN(200)) * time.Millisecond)
		}
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		<-readDone
		if strings.Contains(stderr.String(), "child:") {
			t.Fatalf("round %d: the child failed: %s", round, stderr.String())
		}

		lb := &spoolLog{}
		o := crashOptions(dir)
		o.Logger = lb.logger()
		s, msgs, err := openSpool(o)
		if err != nil {
			t.Fatalf("round %d: openSpool: %v", round, err)
		}
		got := spoolByID(msgs)
		byToken := map[string]*qmsg{}
		for _, m := range got {
			byToken[crashToken(m)] = m
		}
		var lost, doneLost, resurrected, wrong, unacked int
		dups := strings.Count(lb.String(), "the file wins")
		torn := strings.Count(lb.String(), "torn")
		totalDups += dups
		for tok := range log.acked {
			if log.removing[tok] {
				continue
			}
			if byToken[tok] == nil {
				lost++
				t.Errorf("round %d: acknowledged message %s lost", round, tok)
			}
		}
		for tok, m := range byToken {
			if !log.acked[tok] {
				unacked++
			}
			if log.removed[tok] {
				resurrected++
				t.Errorf("round %d: removed message %s came back", round, tok)
			}
			if c := spoolContent(t, s, m); c != crashBody(tok) {
				wrong++
				t.Errorf("round %d: message %s has content of %d bytes, want %d", round, tok, len(c), len(crashBody(tok)))
			}
			for _, idx := range log.done[tok] {
				if !m.done[idx] {
					doneLost++
					t.Errorf("round %d: %s recipient %d was recorded done, recovered not done", round, tok, idx)
				}
			}
		}
		t.Logf("round %d: %d lines from the child; %d acknowledged so far, %d live messages recovered (%d never acknowledged: fine), %d lost, %d done outcomes lost, %d removed came back, %d wrong; %d in a segment and a file (deduplicated), %d torn ends cut",
			round, lines.Load(), len(log.acked), len(got), unacked, lost, doneLost, resurrected, wrong, dups, torn)
		totalLost += lost
		totalDoneLost += doneLost
		totalResurrected += resurrected
		totalWrong += wrong
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: %d rounds: %d acknowledged, %d done outcomes, %d deferTo, %d removed; lost %d, done lost %d, resurrected %d, wrong %d, deduplicated %d",
		mode, rounds, len(log.acked), crashCountDone(log.done), log.deferred, len(log.removed), totalLost, totalDoneLost, totalResurrected, totalWrong, totalDups)
	if len(log.acked) == 0 {
		t.Fatal("the child acknowledged nothing")
	}
	if mode == "activity" && len(log.removed) == 0 {
		t.Fatal("the child removed nothing")
	}
}

func crashCountDone(m map[string][]int) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}
