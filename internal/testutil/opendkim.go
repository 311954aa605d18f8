package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OpenDKIM runs the real opendkim(8) in its test mode (-t) with a private
// configuration: it signs or verifies one message file and exits. Keys
// are looked up through libunbound forwarded to a DNS server the test
// runs (StartNSD), with the RFC 6761 "test." zone un-blocked.
type OpenDKIM struct {
	bin string
	dir string
}

// NewOpenDKIM prepares opendkim to resolve through the DNS server at
// dnsAddr ("127.0.0.1:port"). It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when opendkim is not installed.
func NewOpenDKIM(t testing.TB, dnsAddr string) *OpenDKIM {
	t.Helper()
	bin := RequireBinary(t, "opendkim")
	dir := t.TempDir()
	host, port, ok := strings.Cut(dnsAddr, ":")
	if !ok {
		t.Fatalf("opendkim: bad DNS address %q", dnsAddr)
	}
	ub := fmt.Sprintf(`server:
	do-not-query-localhost: no
	module-config: "iterator"
	local-zone: "test." nodefault
	local-zone: "invalid." nodefault
forward-zone:
	name: "."
	forward-addr: %s@%s
`, host, port)
	if err := os.WriteFile(filepath.Join(dir, "unbound.conf"), []byte(ub), 0o644); err != nil {
		t.Fatal(err)
	}
	return &OpenDKIM{bin: bin, dir: dir}
}

// OpenDKIMVerdict is opendkim's verdict on one message in test mode.
type OpenDKIMVerdict struct {
	Pass   bool   // "verification (...) succeeded"
	Output string // opendkim's output, for failure messages
}

// Verify runs opendkim as a verifier (Mode v, the client not internal)
// on msg and reports whether it said the signature verified. With
// several signatures opendkim reports on the first it judges.
func (o *OpenDKIM) Verify(t testing.TB, msg []byte) OpenDKIMVerdict {
	t.Helper()
	conf := "Mode v\nInternalHosts 192.0.2.1\n"
	out := o.run(t, conf, msg)
	return OpenDKIMVerdict{Pass: strings.Contains(out, ") succeeded"), Output: out}
}

// Sign runs opendkim as a signer (Mode s, relaxed/relaxed) with the
// private key file for domain and selector and returns the
// DKIM-Signature field it adds, CRLF line ends, ready to prepend.
func (o *OpenDKIM) Sign(t testing.TB, msg []byte, domain, selector, keyFile string, extra string) string {
	t.Helper()
	conf := fmt.Sprintf("Mode s\nDomain %s\nSelector %s\nKeyFile %s\nCanonicalization relaxed/relaxed\n%s", domain, selector, keyFile, extra)
	out := o.run(t, conf, msg)
	// Output: "opendkim: FILE:\n" then the header fields it inserts.
	_, hdr, ok := strings.Cut(out, ":\n")
	if !ok || !strings.HasPrefix(hdr, "DKIM-Signature:") {
		t.Fatalf("opendkim did not sign: %s", out)
	}
	hdr = strings.TrimRight(hdr, "\n")
	return strings.ReplaceAll(hdr, "\n", "\r\n") + "\r\n"
}

func (o *OpenDKIM) run(t testing.TB, conf string, msg []byte) string {
	t.Helper()
	f, err := os.CreateTemp(o.dir, "msg-*.eml")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(msg)
	f.Close()
	cf := filepath.Join(o.dir, fmt.Sprintf("opendkim-%d.conf", time.Now().UnixNano()))
	conf += "Syslog no\nRequireSafeKeys no\nResolverConfiguration " + filepath.Join(o.dir, "unbound.conf") + "\n"
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, "-x", cf, "-t", f.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("opendkim -t: %v\n%s", err, out.String())
	}
	return out.String()
}
