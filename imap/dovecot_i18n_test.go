package imap

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// i18nTexts are subjects and bodies whose i;unicode-casemap forms
// (RFC 5051: titlecase, then NFKD) differ from their lower-cased ones:
// full-width and half-width forms, ligatures, composed and decomposed
// accents, final sigma, the Kelvin sign, dotted capital I, digraphs,
// circled digits, sharp s.
var i18nTexts = []string{
	"Ｆｕｌｌｗｉｄｔｈ letters",
	"ﬁnancial report",
	"Café crème",
	"Cafe\u0301 decomposed",
	"ΟΔΥΣΣΕΥΣ returns",
	"οδυσσευς ends with ς",
	"Straße closed",
	"STRASSE open",
	"\u212a is kelvin",
	"İstanbul trip",
	"ǆemal wrote",
	"ｶﾀｶﾅ half",
	"カタカナ full",
	"score ①② today",
	"plain ascii",
}

// i18nSortChars are ranges sampled (every fifth code point) for
// one-character subjects that SORT compares with Dovecot: Latin with
// stacked accents, digraphs, Greek with its titlecase forms, Cyrillic,
// letterlike symbols, enclosed and full-width forms, Hangul, CJK
// compatibility, mathematical letters outside the BMP.
var i18nSortChars = [][2]rune{
	{0xa0, 0x250}, {0x370, 0x480}, {0x1e00, 0x1f00}, {0x1f88, 0x1fb0}, {0x2100, 0x2190},
	{0x2460, 0x24ff}, {0x3130, 0x3190}, {0x3200, 0x3250}, {0xac00, 0xac40}, {0xf900, 0xf930},
	{0xfb00, 0xfb07}, {0xff01, 0xffef}, {0x1d400, 0x1d440}, {0x1f100, 0x1f130},
}

// i18nSearches are the needles searched for in SUBJECT, BODY and TEXT.
var i18nSearches = []string{
	"fullwidth", "ＦＵＬＬ", "FINANCIAL", "ﬁ", "café", "CAFE\u0301", "cafe", "Οδυσσευς", "ΟΔΥΣΣΕΥΣ", "σ", "ς",
	"straße", "STRASSE", "ss", "k is", "K IS", "istanbul", "İSTANBUL", "i\u0307stanbul", "ǅemal", "DŽEMAL", "dzemal",
	"カタカナ", "ｶﾀｶﾅ", "12", "①", "ASCII",
}

// TestDovecotI18NLevel1 compares SEARCH and SORT over i18nTexts with
// Dovecot 2.3 (I18NLEVEL=1: i;unicode-casemap is the comparator of
// SEARCH substring matches and of SORT).
func TestDovecotI18NLevel1(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	dir := filepath.Join(corpus, "Maildir")
	s, err := maildir.Open(dir, maildir.Options{NoSync: true, AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		t.Fatal(err)
	}
	var chars []string
	for _, rg := range i18nSortChars {
		for r := rg[0]; r < rg[1]; r += 5 {
			chars = append(chars, string(r)+"q")
		}
	}
	if err := s.CreateMailbox(context.Background(), "Chars", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, text := range append(i18nTexts, chars...) {
		box := "INBOX"
		if i >= len(i18nTexts) {
			box = "Chars"
		}
		msg := fmt.Sprintf("From: sender%d@example.org\r\nTo: alice@example.org\r\nSubject: =?UTF-8?B?%s?=\r\nDate: Mon, 1 Jan 2024 10:%02d:00 +0000\r\nMessage-ID: <%d@i18n>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nbody: %s\r\n",
			i, base64.StdEncoding.EncodeToString([]byte(text)), i%60, i, text)
		when := time.Date(2024, 2, 1, 12, 0, i, 0, time.UTC)
		if _, err := s.Deliver(context.Background(), box, strings.NewReader(msg), store.AppendOptions{InternalDate: when}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	dv := startDovecotSession(t, dovecotIMAPConf(t, dvRoot), "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	yb := yubinDiffSession{env.login(t, "alice", "secret")}
	steps := []string{"SELECT INBOX"}
	lit := func(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }
	for _, n := range i18nSearches {
		for _, key := range []string{"SUBJECT", "BODY", "TEXT"} {
			steps = append(steps, "SEARCH CHARSET UTF-8 "+key+" "+lit(n))
		}
	}
	steps = append(steps, "SORT (SUBJECT) UTF-8 ALL", "SORT (REVERSE SUBJECT) UTF-8 ALL", "SEARCH CHARSET UTF-8 HEADER Subject "+lit("ｆｉｎａｎｃｉａｌ"),
		"SELECT Chars", "SORT (SUBJECT) UTF-8 ALL", "SEARCH CHARSET UTF-8 SUBJECT "+lit("ＡＢ"))
	runDiffSteps(t, dv, yb, steps)
}
