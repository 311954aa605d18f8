package imapmsg

import (
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"
)

// typicalMessage is a ~100 KiB message as mail clients send them: a
// multipart/mixed with a text/html alternative and a base64 attachment,
// stored with bare LFs.
func typicalMessage() string {
	var b strings.Builder
	b.WriteString("Return-Path: <ann@example.org>\nDelivered-To: bob@example.net\n")
	for i := 0; i < 6; i++ {
		b.WriteString("Received: from mx" + string(rune('a'+i)) + ".example.org (mx.example.org [192.0.2.1])\n\tby mail.example.net (Postfix) with ESMTPS id 4Xy1z2\n\tfor <bob@example.net>; Mon, 4 Mar 2024 10:00:00 +0100 (CET)\n")
	}
	b.WriteString("From: Ann Example <ann@example.org>\nTo: Bob <bob@example.net>, carol@example.net\nCc: \"Dave, D.\" <dave@example.com>\n" +
		"Subject: =?UTF-8?B?UXVhcnRlcmx5IHJlcG9ydCDinJM=?=\nDate: Mon, 4 Mar 2024 09:59:58 +0100\nMessage-ID: <20240304095958.1234@example.org>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n" +
		"This is a multi-part message in MIME format.\n--outer\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\n" +
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n")
	for i := 0; i < 60; i++ {
		b.WriteString("Here are the quarterly figures we discussed, see the attached report for det=\nails.\n")
	}
	b.WriteString("--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<html><body>\n")
	for i := 0; i < 60; i++ {
		b.WriteString("<p>Here are the quarterly figures we discussed, see the <b>attached</b> report.</p>\n")
	}
	b.WriteString("</body></html>\n--alt--\n\n--outer\nContent-Type: application/pdf; name=\"report.pdf\"\n" +
		"Content-Disposition: attachment; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\n")
	raw := make([]byte, 63<<10)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--outer--\n")
	return b.String()
}

// BenchmarkParseBodyStructure is Parse plus BODYSTRUCTURE of a ~100 KiB
// multipart message: the cost of a first FETCH BODYSTRUCTURE.
func BenchmarkParseBodyStructure(b *testing.B) {
	msg := typicalMessage()
	r := strings.NewReader(msg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(r, int64(len(msg)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.WriteBodyStructure(io.Discard, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedBodyStructure is a later FETCH BODYSTRUCTURE of the same
// message: a cache hit and the writer.
func BenchmarkCachedBodyStructure(b *testing.B) {
	msg := typicalMessage()
	r := strings.NewReader(msg)
	c := NewCache(0)
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Load("k", r, int64(len(msg)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.WriteBodyStructure(io.Discard, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchBody is SEARCH BODY on the same message (no match, so
// every text part is decoded and scanned).
func BenchmarkMatchBody(b *testing.B) {
	msg := typicalMessage()
	r := strings.NewReader(msg)
	m, err := Parse(r, int64(len(msg)), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := m.MatchBody(r, "no such words"); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func TestTypicalMessageStructure(t *testing.T) {
	msg := typicalMessage()
	if len(msg) < 90<<10 || len(msg) > 110<<10 {
		t.Fatalf("typical message is %d bytes", len(msg))
	}
	m := mustParse(t, msg)
	if len(m.Root.Children) != 2 || len(m.Root.Children[0].Children) != 2 {
		t.Fatalf("unexpected structure")
	}
	n, err := m.BinarySize(strings.NewReader(msg), []int{2})
	if err != nil || n != 63<<10 {
		t.Fatalf("BINARY.SIZE[2] = %d, %v", n, err)
	}
}

// BenchmarkParseBodyStructureFile is BenchmarkParseBodyStructure reading
// the message from a file, as a Maildir store serves it.
func BenchmarkParseBodyStructureFile(b *testing.B) {
	msg := typicalMessage()
	path := b.TempDir() + "/msg"
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Parse(f, int64(len(msg)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.WriteBodyStructure(io.Discard, true); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
