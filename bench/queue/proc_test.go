package queuebench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procStat is what the harness reads from /proc/PID/stat.
type procStat struct {
	ppid           int
	self, children time.Duration // utime+stime, cutime+cstime (reaped children)
}

// readStat reads /proc/PID/stat; ok is false when the process is gone.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

// parseStat parses the text of /proc/PID/stat.
func parseStat(b []byte) (procStat, bool) {
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return procStat{}, false
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
	return procStat{
		ppid:     int(n(4)),
		self:     time.Duration(n(14)+n(15)) * clockTick,
		children: time.Duration(n(16)+n(17)) * clockTick,
	}, true
}

// allStats reads every process's stat once.
func allStats() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if s, ok := readStat(pid); ok {
			out[pid] = s
		}
	}
	return out
}

// tree returns root and all its descendants that are alive.
func tree(root int) []int {
	stats := allStats()
	if _, ok := stats[root]; !ok {
		return nil
	}
	kids := map[int][]int{}
	for pid, s := range stats {
		kids[s.ppid] = append(kids[s.ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// treeCPU is the CPU time used by root and its descendants: root's own,
// every reaped child's (cutime, cstime: a Postfix smtpd that exited after
// max_use messages), and the running descendants' own. Differences
// between two readings give the CPU of what ran in between, as long as
// the root lives.
func treeCPU(root int) time.Duration {
	stats := allStats()
	r, ok := stats[root]
	if !ok {
		return 0
	}
	total := r.self + r.children
	kids := map[int][]int{}
	for pid, s := range stats {
		kids[s.ppid] = append(kids[s.ppid], pid)
	}
	queue := append([]int(nil), kids[root]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		// A running child's reaped children are in its cutime; its
		// running children are visited below.
		total += stats[pid].self + stats[pid].children
		queue = append(queue, kids[pid]...)
	}
	return total
}
