package msgauth

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
)

func TestSignerHeaderListOversigns(t *testing.T) {
	s := &Signer{}
	_, fields, err := readHeader(bufioReader("From: a@x.test\r\nTo: b@y.test\r\nTo: c@y.test\r\nDate: now\r\nX-Other: 1\r\n\r\n"), 1<<20, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.headerKeys(fields), ":")
	want := "From:From:Subject:Date:To:To:To"
	if got != want {
		t.Fatalf("h= %s, want %s", got, want)
	}
}

func TestSignerNoKeyNoFrom(t *testing.T) {
	k := newTestKeys(t, "example.test")
	s := &Signer{Keys: DomainKeys{"example.test": {k.edKey()}}}
	ctx := context.Background()
	sig, err := s.Sign(ctx, strings.NewReader("From: a@other.test\r\n\r\nx\r\n"))
	if err != nil || sig != "" {
		t.Fatalf("other domain: %q %v", sig, err)
	}
	if _, err := s.Sign(ctx, strings.NewReader("To: a@example.test\r\n\r\nx\r\n")); !errors.Is(err, ErrNoFrom) {
		t.Fatalf("no From: %v", err)
	}
	if _, err := s.Sign(ctx, strings.NewReader("From: a@example.test\r\nFrom: b@example.test\r\n\r\nx\r\n")); !errors.Is(err, ErrNoFrom) {
		t.Fatalf("two From: %v", err)
	}
	big := "From: a@example.test\r\nX: " + strings.Repeat("y", 2<<20) + "\r\n\r\n"
	if _, err := s.Sign(ctx, strings.NewReader(big)); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("2 MiB header: %v", err)
	}
}

func TestOpenDKIMTables(t *testing.T) {
	k := newTestKeys(t, "example.test")
	load := func(path string) (crypto.Signer, error) {
		switch path {
		case k.rsaFile:
			return LoadPrivateKey(k.rsaFile)
		case k.edFile:
			return LoadPrivateKey(k.edFile)
		}
		return nil, errors.New("no such key")
	}
	kt := []string{
		"# comment",
		"rsa._domainkey.example.test example.test:yrsa:" + k.rsaFile,
		"ed._domainkey.example.test  example.test:yed25519:" + k.edFile,
		"any  %:yed25519:" + k.edFile,
	}
	st := []string{
		"*@example.test rsa._domainkey.example.test",
		"*@example.test ed._domainkey.example.test",
		"boss@sub.example.test rsa._domainkey.example.test",
		"other.test any",
	}
	tb, err := ParseOpenDKIMTables(kt, st, load)
	if err != nil {
		t.Fatal(err)
	}
	sel := func(from string) string {
		var s []string
		for _, key := range tb.SigningKeys(from) {
			s = append(s, key.Selector+"@"+key.Domain)
		}
		return strings.Join(s, ",")
	}
	for from, want := range map[string]string{
		"User@Example.test":     "yrsa@example.test,yed25519@example.test",
		"boss@sub.example.test": "yrsa@example.test",
		"x@sub.example.test":    "",
		"x@other.test":          "yed25519@other.test",
	} {
		if got := sel(from); got != want {
			t.Errorf("%s: %q, want %q", from, got, want)
		}
	}
	if _, err := ParseOpenDKIMTables(kt, []string{"*@x.test missing"}, load); err == nil {
		t.Error("unknown key name accepted")
	}
	if _, err := ParseOpenDKIMTables([]string{"name example.test:sel"}, nil, load); err == nil {
		t.Error("KeyTable line without key file accepted")
	}
}
