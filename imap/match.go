package imap

import "strings"

// listMatch reports whether a mailbox name matches a LIST pattern (RFC
// 9051 6.3.9): "*" matches anything, "%" anything but the hierarchy
// separator "/". It runs in O(len(name)*len(pattern)), so no pattern can
// make it slow. A leading "INBOX" in the pattern matches case-insensitively.
func listMatch(pattern, name string) bool {
	if len(pattern) >= 5 && strings.EqualFold(pattern[:5], "INBOX") && (len(pattern) == 5 || pattern[5] == '/' || pattern[5] == '*' || pattern[5] == '%') {
		pattern = "INBOX" + pattern[5:]
	}
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		p := pattern[i]
		switch p {
		case '*':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || cur[j-1]
			}
		case '%':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || (cur[j-1] && name[j-1] != '/')
			}
		default:
			cur[0] = false
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j-1] && name[j-1] == p
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
