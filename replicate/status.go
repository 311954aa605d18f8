package replicate

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteOverview prints the queue counts as `doveadm replicator status`
// does without a user mask.
func WriteOverview(w io.Writer, o Overview) error {
	rows := [][2]string{
		{"Queue 'sync' requests", fmt.Sprint(o.Sync)},
		{"Queue 'high' requests", fmt.Sprint(o.High)},
		{"Queue 'low' requests", fmt.Sprint(o.Low)},
		{"Queue 'failed' requests", fmt.Sprint(o.Failed)},
		{"Queue 'full resync' requests", fmt.Sprint(o.FullResync)},
		{"Waiting 'failed' requests", fmt.Sprint(o.WaitingFailed)},
		{"Total number of known users", fmt.Sprint(o.Users)},
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "%-*s %s\n", width, r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
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
	head := []string{"username", "priority", "fast sync", "full sync", "success sync", "failed"}
	rows := [][]string{head}
	for _, u := range users {
		failed := "-"
		if u.Failed {
			failed = "y"
		}
		rows = append(rows, []string{u.User, u.Priority.String(), timeAgo(now, u.LastFast), timeAgo(now, u.LastFull), timeAgo(now, u.LastSuccess), failed})
	}
	widths := make([]int, len(head))
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], len(v))
		}
	}
	// The username column takes what is left of 80 columns, as
	// doveadm's table printer expands it.
	total := len(widths) - 1
	for _, x := range widths {
		total += x
	}
	if total < 80 {
		widths[0] += 80 - total
	}
	for _, r := range rows {
		var b strings.Builder
		for i, v := range r {
			if i == len(r)-1 {
				b.WriteString(v)
				break
			}
			fmt.Fprintf(&b, "%-*s ", widths[i], v)
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}
