package replicate

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The output of `doveadm replicator status`, byte for byte as Dovecot
// 2.3's doveadm prints it with its table formatter (doveadm-print-table.c)
// on a non-terminal: columns as wide as their longest value or title
// among the first 100 rows, shrunk to fit 80 columns, or widened by half
// of what is left of 80 (the username column, or the last one); values
// padded to the width and never cut; the titles line left out when every
// title is hidden. TestDoveadmReplicatorStatusSameBytes compares it with
// a running Dovecot replicator.

const (
	tableColumns    = 80
	tableBufferRows = 100
)

// table is doveadm's table printer.
type table struct {
	titles []string
	hidden bool // every title hidden
	expand int  // the column that takes the spare width (-1: the last)
	rows   [][]string
}

func (t *table) write(w io.Writer) error {
	n := len(t.titles)
	length := make([]int, n)
	minLen := make([]int, n)
	maxLen := make([]int, n)
	for i, h := range t.titles {
		length[i], minLen[i], maxLen[i] = len(h), len(h), len(h)
	}
	for _, r := range t.rows[:min(len(t.rows), tableBufferRows)] {
		for i, v := range r {
			l := utf8.RuneCountInString(v)
			minLen[i] = min(minLen[i], l)
			if l > maxLen[i] {
				maxLen[i], length[i] = l, l
			}
		}
	}
	total := -1
	for i := range maxLen {
		total += maxLen[i] + 1
	}
	for total > tableColumns {
		orig := total
		for i := n - 1; ; i-- {
			diff := length[i] - minLen[i]
			if total-diff <= tableColumns {
				diff = total - tableColumns
				length[i] -= diff
				total -= diff
				break
			}
			if diff > 0 {
				if diff == 1 {
					length[i]--
				} else {
					length[i] -= diff / 2
				}
			}
			if i == 0 {
				break
			}
		}
		if total == orig {
			break
		}
	}
	if total < tableColumns {
		e := t.expand
		if e < 0 || e >= n {
			e = n - 1
		}
		length[e] += (tableColumns - total) / 2
	}
	var b strings.Builder
	line := func(r []string) {
		for i, v := range r {
			// printf("%-*s") pads by bytes: UTF-8 continuation bytes
			// are added to the width, as doveadm's utf8_correction.
			pad := length[i] + len(v) - utf8.RuneCountInString(v)
			fmt.Fprintf(&b, "%-*s", pad, v)
			if i == n-1 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
	}
	if !t.hidden {
		line(t.titles)
	}
	for _, r := range t.rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteOverview prints the queue counts as `doveadm replicator status`
// does without a user mask.
func WriteOverview(w io.Writer, o Overview) error {
	t := &table{titles: []string{"field", "value"}, hidden: true, expand: -1}
	for _, r := range [][2]any{
		{"Queued 'sync' requests", o.Sync},
		{"Queued 'high' requests", o.High},
		{"Queued 'low' requests", o.Low},
		{"Queued 'failed' requests", o.Failed},
		{"Queued 'full resync' requests", o.FullResync},
		{"Waiting 'failed' requests", o.WaitingFailed},
		{"Total number of known users", o.Users},
	} {
		t.rows = append(t.rows, []string{fmt.Sprint(r[0]), fmt.Sprint(r[1])})
	}
	return t.write(w)
}

// timeAgo is doveadm's "HH:MM:SS" since t, "-" for never.
func timeAgo(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := int(now.Sub(t) / time.Second)
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%02d:%02d:%02d", d/3600, (d/60)%60, d%60)
}

// WriteUserStatus prints users as `doveadm replicator status MASK`
// does: username, priority, fast sync, full sync, success sync, failed.
func WriteUserStatus(w io.Writer, now time.Time, users []UserStatus) error {
	t := &table{titles: []string{"username", "priority", "fast sync", "full sync", "success sync", "failed"}}
	for _, u := range users {
		failed := "-"
		if u.Failed {
			failed = "y"
		}
		t.rows = append(t.rows, []string{u.User, u.Priority.String(), timeAgo(now, u.LastFast), timeAgo(now, u.LastFull), timeAgo(now, u.LastSuccess), failed})
	}
	return t.write(w)
}
