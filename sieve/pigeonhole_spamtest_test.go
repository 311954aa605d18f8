package sieve

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPigeonholeSpamtest runs spamtest, spamtest :percent and virustest
// under sieve-test with score and text status headers configured, and
// requires the same values from TestScoreConfig and Run.
func TestPigeonholeSpamtest(t *testing.T) {
	p := startPigeonhole(t)
	conf := filepath.Join(p.dir, "spamtest.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %[1]s/run
mail_location = maildir:%[1]s/mail
mail_uid = nobody
mail_gid = nogroup
plugin {
  sieve_extensions = +spamtest +spamtestplus +virustest
  sieve_spamtest_status_type = score
  sieve_spamtest_status_header = X-Spam-Score
  sieve_spamtest_max_value = 10
  sieve_virustest_status_type = text
  sieve_virustest_status_header = X-Virus-Scan: ([a-zA-Z]+)
  sieve_virustest_text_value1 = clean
  sieve_virustest_text_value5 = infected
}
`, p.dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `require ["spamtestplus", "virustest", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if spamtest :matches "*" { fileinto "s${1}"; }
if spamtest :percent :matches "*" { fileinto "p${1}"; }
if virustest :matches "*" { fileinto "v${1}"; }
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" { fileinto "junk"; }
`
	spath := filepath.Join(p.dir, "spam.sieve")
	os.WriteFile(spath, []byte(script), 0o644)
	s := mustParse(t, script, WithExtensions(append(append([]string(nil), DefaultExtensions...), "spamtest", "spamtestplus", "virustest")...))
	spam := &TestScoreConfig{Type: "score", Header: "X-Spam-Score", MaxValue: 10}
	virus := &TestScoreConfig{Type: "text", Header: "X-Virus-Scan: ([a-zA-Z]+)", TextValues: map[string]int{"clean": 1, "infected": 5}}
	for i, hdr := range []string{"", "X-Spam-Score: 0\r\nX-Virus-Scan: clean\r\n", "X-Spam-Score: 5\r\nX-Virus-Scan: infected\r\n",
		"X-Spam-Score: 12\r\n", "X-Spam-Score: -3\r\n", "X-Spam-Score: 2.5\r\nX-Virus-Scan: unknown\r\n", "X-Spam-Score: 7.77\r\n", "X-Spam-Score: x\r\n"} {
		msg := hdr + "Subject: s\r\n\r\nbody\r\n"
		mpath := filepath.Join(p.dir, fmt.Sprintf("spam%d.eml", i))
		os.WriteFile(mpath, []byte(msg), 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, p.sieveTest, "-c", conf, spath, mpath).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("sieve-test: %v\n%s", err, out)
		}
		want := normPigeonhole(string(out))
		m := ParseMessage([]byte(msg))
		env := &Env{}
		env.SpamTest, env.SpamTestPercent = spam.Values(m)
		env.VirusTest, _ = virus.Values(m)
		got := formatResult(s.Run(context.Background(), m, env))
		if got != want {
			t.Errorf("%q:\n--- Pigeonhole\n%s--- yubin\n%s", hdr, want, got)
		}
	}
}
