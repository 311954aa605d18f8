package main

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPgsqlKillMidAppend: clients append through server 2 of three on
// one database while it is killed with SIGKILL. Every APPEND that was
// acknowledged (APPENDUID) is listed by server 0 and reads back whole;
// every message server 0 lists reads back (no row without its body).
func TestPgsqlKillMidAppend(t *testing.T) {
	ins := pgInstances(t, 3)
	victim := ins[2]
	body := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 3000)
	appendUID := regexp.MustCompile(`APPENDUID \d+ (\d+)`)
	var mu sync.Mutex
	var acked []int
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", victim.addr("imap"), 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReader(c)
			r.ReadString('\n')
			fmt.Fprintf(c, "l LOGIN bob@localhost pw-bob\r\n")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(l, "l ") {
					break
				}
			}
			for i := 0; ; i++ {
				msg := fmt.Sprintf("X-Writer: %d %d\r\n%s", w, i, body)
				fmt.Fprintf(c, "a%d APPEND INBOX {%d+}\r\n%s\r\n", i, len(msg), msg)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return // killed
					}
					if strings.HasPrefix(l, fmt.Sprintf("a%d ", i)) {
						if m := appendUID.FindStringSubmatch(l); m != nil {
							uid, _ := strconv.Atoi(m[1])
							mu.Lock()
							acked = append(acked, uid)
							mu.Unlock()
						}
						break
					}
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	victim.cmd.Process.Kill()
	<-victim.done
	wg.Wait()
	mu.Lock()
	got := append([]int(nil), acked...)
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no append was acknowledged before the kill")
	}
	ic := dialIMAP(t, ins[0])
	ic.cmd("SELECT INBOX")
	listed := map[int]bool{}
	uidRe := regexp.MustCompile(`UID (\d+)`)
	for _, l := range ic.cmd("UID FETCH 1:* (UID RFC822.SIZE)") {
		if m := uidRe.FindStringSubmatch(l); m != nil {
			u, _ := strconv.Atoi(m[1])
			listed[u] = true
		}
	}
	for _, u := range got {
		if !listed[u] {
			t.Fatalf("acknowledged UID %d lost (listed %d, acknowledged %d)", u, len(listed), len(got))
		}
	}
	for u := range listed {
		lines := ic.cmd(fmt.Sprintf("UID FETCH %d (BODY.PEEK[TEXT]<0.64>)", u))
		if len(lines) == 0 || !strings.Contains(strings.Join(lines, "\n"), "FETCH") {
			t.Fatalf("UID %d listed but its body does not read: %q", u, lines)
		}
	}
	t.Logf("%d appends acknowledged before the kill, %d messages listed, all readable", len(got), len(listed))
}
