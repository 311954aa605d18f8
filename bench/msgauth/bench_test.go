package msgauthbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/msgauth"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// message is a 4 KiB message from alice@example.test, in LF lines as
// smtp-source -F reads them.
func message(b *testing.B, signer *msgauth.Signer) string {
	var body strings.Builder
	for body.Len() < 4<<10 {
		body.WriteString("The quick brown fox jumps over the lazy dog, again and again and again.\r\n")
	}
	msg := "From: Alice <alice@example.test>\r\nTo: u0@example.jp\r\nSubject: load\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <load@example.test>\r\n\r\n" + body.String()
	if signer != nil {
		sig, err := signer.Sign(context.Background(), strings.NewReader(msg))
		if err != nil || sig == "" {
			b.Fatalf("sign: %q %v", sig, err)
		}
		msg = sig + msg
	}
	return strings.ReplaceAll(msg, "\r\n", "\n")
}

// BenchmarkInboundChecksCPU compares the fullserver's CPU per accepted
// and delivered message with msgauth_inbound_checks = yes and = no, for
// a DKIM-signed (RSA-2048, SPF and DMARC pass) and an unsigned message
// (SPF and DMARC pass). Each round loads both servers in turn (order
// reversed every other round); the end prints the medians and the share
// the checks add.
func BenchmarkInboundChecksCPU(b *testing.B) {
	src := testutil.RequireBinary(b, "smtp-source")
	s, _, err := msgauth.GenerateKey(msgauth.AlgRSA)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := msgauth.ZoneRecord("example.test", "sel", s.Public())
	if err != nil {
		b.Fatal(err)
	}
	ns := testutil.StartNSD(b, map[string]string{"example.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 3600\n@ IN NS ns\nns IN A 127.0.0.1\n" +
		rec + "\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	dir := b.TempDir()
	files := map[string]string{}
	for name, signer := range map[string]*msgauth.Signer{
		"signed":   {Keys: msgauth.DomainKeys{"example.test": {{Domain: "example.test", Selector: "sel", Signer: s}}}},
		"unsigned": nil,
	} {
		files[name] = filepath.Join(dir, name+".eml")
		if err := os.WriteFile(files[name], []byte(message(b, signer)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bin := build(b, dir)
	servers := map[string]*server{
		"off": start(b, bin, "msgauth_inbound_checks = no\n"),
		"on":  start(b, bin, "msgauth_inbound_checks = yes\nmsgauth_nameservers = "+ns.Addr+"\nauthserv_id = mx.example.jp\n"),
	}
	msgs := envInt("MSGAUTH_BENCH_MESSAGES", 2000)
	sessions := envInt("MSGAUTH_BENCH_SESSIONS", 10)
	kinds := []string{"signed", "unsigned"}
	if k := os.Getenv("MSGAUTH_BENCH_KINDS"); k != "" {
		kinds = strings.Split(k, ",")
	}
	sent := map[string]int{}
	load := func(name, kind string, n int) time.Duration {
		sv := servers[name]
		c0 := sv.cpu(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, src, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(n), "-F", files[kind],
			"-f", "alice@example.test", "-t", "u0@example.jp", "-M", "client.example.test", sv.addr).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source: %v\n%s", err, out)
		}
		sent[name] += n
		sv.waitDelivered(b, sent[name])
		return sv.cpu(b) - c0
	}
	// Warm up: DNS and key caches, Maildirs, goroutine pools.
	for name := range servers {
		load(name, "signed", 200)
		load(name, "unsigned", 200)
	}
	checkResults(b, servers["on"])
	per := map[string][]float64{}
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		order := []string{"off", "on"}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, kind := range kinds {
			for _, name := range order {
				us := float64(load(name, kind, msgs).Microseconds()) / float64(msgs)
				per[kind+"/"+name] = append(per[kind+"/"+name], us)
				b.Logf("round %d %s checks %s: %.0f µs CPU/msg", round+1, kind, name, us)
			}
		}
	}
	b.StopTimer()
	for _, kind := range kinds {
		on, off := median(per[kind+"/on"]), median(per[kind+"/off"])
		var ratios []float64
		for i := range per[kind+"/on"] {
			ratios = append(ratios, per[kind+"/on"][i]/per[kind+"/off"][i])
		}
		b.Logf("%s: median %.0f µs/msg checks on, %.0f off: the checks add %.0f µs, %.1f%% (median of per-round ratios %.3f)",
			kind, on, off, on-off, 100*(on-off)/off, median(ratios))
		b.ReportMetric(100*(median(ratios)-1), kind+"-added-%")
	}
}

// checkResults makes sure the checked server judged the load as meant:
// dkim=pass and dmarc=pass in a delivered message's Authentication-Results.
func checkResults(b *testing.B, sv *server) {
	d := filepath.Join(sv.data, "mail", "example.jp", "u0", "Maildir", "new")
	ents, _ := os.ReadDir(d)
	for _, e := range ents {
		raw, _ := os.ReadFile(filepath.Join(d, e.Name()))
		if strings.Contains(string(raw), "DKIM-Signature:") {
			if !strings.Contains(string(raw), "dkim=pass") || !strings.Contains(string(raw), "dmarc=pass") || !strings.Contains(string(raw), "spf=pass") {
				b.Fatalf("signed message not judged pass:\n%.1500s", raw)
			}
			return
		}
	}
	b.Fatal("no signed message delivered")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
