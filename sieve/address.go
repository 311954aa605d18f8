package sieve

import (
	"errors"
	"net/mail"
	"strings"
)

// parseAddrSpec parses one bare or bracketed address (redirect's
// argument, an envelope address).
func parseAddrSpec(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	if !strings.Contains(a.Address, "@") {
		return "", errors.New("no domain")
	}
	return a.Address, nil
}

// parseAddressList parses an address header value into its addresses.
func parseAddressList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(s)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("no address")
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out, nil
}

// splitAddress splits an address into local part and domain.
func splitAddress(a string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, "", false
	}
	return a[:i], a[i+1:], true
}

// addressPart extracts the part an address test compares (RFC 5228
// section 2.7.4, RFC 5233); ok is false when the part does not exist.
func addressPart(a, part, sep string) (string, bool) {
	switch part {
	case "all":
		return a, true
	case "localpart":
		l, _, _ := splitAddress(a)
		return l, true
	case "domain":
		_, d, ok := splitAddress(a)
		return d, ok
	case "user", "detail":
		l, _, _ := splitAddress(a)
		i := strings.Index(l, sep)
		if part == "user" {
			if i < 0 {
				return l, true
			}
			return l[:i], true
		}
		if i < 0 {
			return "", false
		}
		return l[i+len(sep):], true
	}
	return a, true
}
