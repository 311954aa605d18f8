package msgauthbench

import (
	"context"
	"crypto"
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

// newKey makes a signing key of alg for example.test and its zone line
// at selector sel.
func newKey(b *testing.B, alg, sel string) (crypto.Signer, string) {
	s, _, err := msgauth.GenerateKey(alg)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := msgauth.ZoneRecord("example.test", sel, s.Public())
	if err != nil {
		b.Fatal(err)
	}
	return s, rec
}

// BenchmarkInboundChecksCPU compares the fullserver with
// msgauth_inbound_checks = yes and = no, for a message DKIM-signed with
// RSA-2048 ("signed"), one signed with Ed25519 ("ed25519") and an
// unsigned one, all three SPF and DMARC pass: the server's CPU per
// accepted and delivered message (and its user part: the system part
// swings with the machine's other disk work), and the throughput
// (messages per second from smtp-source's start until the last is in
// the Maildir). Each round loads the servers in turn (the order
// reversed every other round); the end prints the medians and the
// medians of the per-round ratios, which are what to trust on a busy
// machine. MSGAUTH_BENCH_BASE_BIN adds a third server, another build
// with the checks on ("base"), to compare two builds in the same run.
func BenchmarkInboundChecksCPU(b *testing.B) {
	src := testutil.RequireBinary(b, "smtp-source")
	s, rec := newKey(b, msgauth.AlgRSA, "sel")
	es, erec := newKey(b, msgauth.AlgEd25519, "ed")
	ns := testutil.StartNSD(b, map[string]string{"example.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 3600\n@ IN NS ns\nns IN A 127.0.0.1\n" +
		rec + "\n" + erec + "\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	dir := b.TempDir()
	files := map[string]string{}
	for name, signer := range map[string]*msgauth.Signer{
		"signed":   {Keys: msgauth.DomainKeys{"example.test": {{Domain: "example.test", Selector: "sel", Signer: s}}}},
		"ed25519":  {Keys: msgauth.DomainKeys{"example.test": {{Domain: "example.test", Selector: "ed", Signer: es}}}},
		"unsigned": nil,
	} {
		files[name] = filepath.Join(dir, name+".eml")
		if err := os.WriteFile(files[name], []byte(message(b, signer)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bin := build(b, dir)
	prof := os.Getenv("MSGAUTH_BENCH_PROFILE")
	profEnv := func(name string) []string {
		if prof == "" {
			return nil
		}
		return []string{"YUBIN_CPUPROFILE=" + prof + "-" + name + ".prof"}
	}
	onConf := "msgauth_inbound_checks = yes\nmsgauth_nameservers = " + ns.Addr + "\nauthserv_id = mx.example.jp\n"
	servers := map[string]*server{
		"off": start(b, bin, "msgauth_inbound_checks = no\n", profEnv("off")...),
		"on":  start(b, bin, onConf, profEnv("on")...),
	}
	names := []string{"off", "on"}
	// MSGAUTH_BENCH_BASE_BIN: another fullserver binary (an older
	// build) loaded in the same rounds with the checks on, as "base".
	if base := os.Getenv("MSGAUTH_BENCH_BASE_BIN"); base != "" {
		servers["base"] = start(b, base, onConf, profEnv("base")...)
		names = append(names, "base")
	}
	msgs := envInt("MSGAUTH_BENCH_MESSAGES", 2000)
	sessions := envInt("MSGAUTH_BENCH_SESSIONS", 10)
	kinds := []string{"signed", "ed25519", "unsigned"}
	if k := os.Getenv("MSGAUTH_BENCH_KINDS"); k != "" {
		kinds = strings.Split(k, ",")
	}
	sent := map[string]int{}
	// load sends n messages of a kind to one server and returns the
	// server's user and system CPU time and the wall time until all
	// were delivered.
	load := func(name, kind string, n int) (user, sys, wall time.Duration) {
		sv := servers[name]
		u0, s0 := sv.cpu(b)
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, src, "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(n), "-F", files[kind],
			"-f", "alice@example.test", "-t", "u0@example.jp", "-M", "client.example.test", sv.addr).CombinedOutput()
		if err != nil {
			b.Fatalf("smtp-source: %v\n%s", err, out)
		}
		sent[name] += n
		sv.waitDelivered(b, sent[name])
		wall = time.Since(t0)
		u1, s1 := sv.cpu(b)
		return u1 - u0, s1 - s0, wall
	}
	// Warm up: DNS and key caches, Maildirs, goroutine pools.
	for name := range servers {
		for _, kind := range []string{"signed", "ed25519", "unsigned"} {
			load(name, kind, 200)
		}
	}
	for _, name := range names[1:] {
		checkResults(b, servers[name])
	}
	cpuPer := map[string][]float64{}  // µs of server CPU per message
	userPer := map[string][]float64{} // the user part of it
	rate := map[string][]float64{}    // messages per second
	b.ResetTimer()
	// The rounds come from MSGAUTH_BENCH_ROUNDS, not b.N: run with
	// -benchtime 1x so that the whole comparison runs once.
	rounds := envInt("MSGAUTH_BENCH_ROUNDS", 5)
	for round := 0; round < rounds; round++ {
		order := slices.Clone(names)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, kind := range kinds {
			for _, name := range order {
				user, sys, wall := load(name, kind, msgs)
				us := float64((user + sys).Microseconds()) / float64(msgs)
				uus := float64(user.Microseconds()) / float64(msgs)
				mps := float64(msgs) / wall.Seconds()
				cpuPer[kind+"/"+name] = append(cpuPer[kind+"/"+name], us)
				userPer[kind+"/"+name] = append(userPer[kind+"/"+name], uus)
				rate[kind+"/"+name] = append(rate[kind+"/"+name], mps)
				b.Logf("round %d %s checks %-4s: %4.0f µs CPU/msg (user %4.0f, system %4.0f), %5.0f msg/s", round+1, kind, name, us, uus, us-uus, mps)
			}
		}
	}
	b.StopTimer()
	if prof != "" {
		for name, sv := range servers {
			sv.writeProfile(b, prof+"-"+name+".prof")
		}
		b.Logf("CPU profiles: %[1]s-on.prof, %[1]s-off.prof, %[1]s-base.prof with a base (same messages: go tool pprof -diff_base %[1]s-off.prof %[1]s-on.prof)", prof)
	}
	for _, kind := range kinds {
		for _, name := range names[1:] {
			key, base := kind+"/"+name, kind+"/off"
			on, off := median(cpuPer[key]), median(cpuPer[base])
			uon, uoff := median(userPer[key]), median(userPer[base])
			ron, roff := median(rate[key]), median(rate[base])
			var cpuRatios, rateRatios []float64
			for i := range cpuPer[key] {
				cpuRatios = append(cpuRatios, cpuPer[key][i]/cpuPer[base][i])
				rateRatios = append(rateRatios, rate[key][i]/rate[base][i])
			}
			b.Logf("%s CPU: median %.0f µs/msg checks %s, %.0f off: the checks add %.0f µs, %.1f%% (median of per-round ratios %.3f); user CPU %.0f vs %.0f µs, +%.0f",
				kind, on, name, off, on-off, 100*(on-off)/off, median(cpuRatios), uon, uoff, uon-uoff)
			b.Logf("%s throughput: median %.0f msg/s checks %s, %.0f off: %.1f%% less (median of per-round ratios %.3f)",
				kind, ron, name, roff, 100*(roff-ron)/roff, median(rateRatios))
			b.ReportMetric(100*(median(cpuRatios)-1), kind+"-"+name+"-cpu-added-%")
			b.ReportMetric(100*(1-median(rateRatios)), kind+"-"+name+"-throughput-lost-%")
		}
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
