package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseBool reads a Postfix/Dovecot boolean: yes/no, true/false, on/off,
// 1/0 (case-insensitive).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0", "":
		return false, nil
	}
	return false, errors.New("not a boolean (want yes or no)")
}

// ParseInt reads a decimal integer; "" is 0.
func ParseInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// ParseDuration reads a Postfix time value: a non-negative number with an
// optional unit s, m, h, d or w (seconds when none). Go durations such as
// "1m30s" are accepted too. "" is 0.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	unit := time.Second
	num := s
	switch s[len(s)-1] {
	case 's':
		num = s[:len(s)-1]
	case 'm':
		unit, num = time.Minute, s[:len(s)-1]
	case 'h':
		unit, num = time.Hour, s[:len(s)-1]
	case 'd':
		unit, num = 24*time.Hour, s[:len(s)-1]
	case 'w':
		unit, num = 7*24*time.Hour, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err == nil && n >= 0 && n <= int64(1<<62)/int64(unit) {
		return time.Duration(n) * unit, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, errors.New("not a time value (want a number with an optional unit s, m, h, d or w)")
}

// SplitList splits a list value at commas and white space, dropping empty
// items, as Postfix does for mydestination, mynetworks and restriction
// lists.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// checkKind checks that v reads as kind k.
func checkKind(k Kind, v string) error {
	var err error
	switch k {
	case Bool:
		_, err = ParseBool(v)
	case Int:
		_, err = ParseInt(v)
	case Duration:
		_, err = ParseDuration(v)
	}
	return err
}
