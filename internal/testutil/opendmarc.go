package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// OpenDMARCVerdict is what opendmarc(8) in test mode decided for one message.
type OpenDMARCVerdict struct {
	Result      string // dmarc= in the Authentication-Results it adds: pass, fail, none, ...
	Policy      string // p= in its comment: the policy that applied (none, quarantine, reject); "reject" when it set a 5xx reply
	Disposition string // dis= (none, quarantine, reject); "reject" also when it set a 5xx reply
	Reply       string // the SMTP reply it set ("550 5.7.1 ..."), if any
	Output      string
}

var (
	dmarcARRe    = regexp.MustCompile(`dmarc=([a-z]+)`)
	dmarcDisRe   = regexp.MustCompile(`dis=([a-z]+)`)
	dmarcPolRe   = regexp.MustCompile(`\(p=([a-z]+)`)
	dmarcReplyRe = regexp.MustCompile(`SETREPLY: rcode='(\d+)' xcode='([0-9.]+)'`)
)

// RunOpenDMARC runs the real opendmarc in test mode (-t) on each message
// (its Authentication-Results from authserv-id "mx.test" carry the DKIM
// and SPF results opendmarc trusts) with zones served by a private nsd,
// and returns its verdicts in order. Debian's opendmarc 1.4.2 in test
// mode takes the DKIM results from that field but no SPF result (neither
// from it nor from Received-SPF, even with OPENDMARC_TEST_ENVFROM set):
// only DKIM alignment can be compared through it. opendmarc resolves through the
// system's libresolv, which only speaks to port 53 of the servers in
// /etc/resolv.conf: so nsd, opendmarc and a private resolv.conf run in
// a new network and mount namespace (unshare(1)), where 127.0.0.1:53 is
// the test's own and nothing leaves the namespace. It skips (or fails
// under YUBIN_REQUIRE_INTEROP=1) when opendmarc, nsd or unshare is
// missing or namespaces are not permitted.
func RunOpenDMARC(t testing.TB, zones map[string]string, msgs [][]byte) []OpenDMARCVerdict {
	t.Helper()
	odmarc := RequireBinary(t, "opendmarc")
	nsd := RequireBinary(t, "nsd")
	unshare := RequireBinary(t, "unshare")
	ipBin := RequireBinary(t, "ip")
	psl := "/usr/share/publicsuffix/public_suffix_list.dat"
	if _, err := os.Stat(psl); err != nil {
		Unavailable(t, "%s missing (install publicsuffix)", psl)
	}
	if err := exec.Command(unshare, "--net", "--mount", "true").Run(); err != nil {
		Unavailable(t, "unshare --net --mount not permitted here: %v", err)
	}
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "server:\n\tip-address: 127.0.0.1@53\n\tdo-ip6: no\n\tusername: \"\"\n\tchroot: \"\"\n\tzonesdir: %q\n\tpidfile: %q\n\tdatabase: \"\"\n\txfrdfile: %q\n\txfrdir: %q\n\tzonelistfile: %q\n\tlogfile: %q\n\tserver-count: 1\nremote-control:\n\tcontrol-enable: no\n",
		dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "nsd.log"))
	origins := make([]string, 0, len(zones))
	for o := range zones {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for i, o := range origins {
		text := zones[o]
		if !strings.Contains(text, "$ORIGIN") {
			text = "$ORIGIN " + o + "\n" + text
		}
		if !strings.Contains(text, "$TTL") {
			text = "$TTL 60\n" + text
		}
		f := fmt.Sprintf("zone%d.zone", i)
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "zone:\n\tname: %q\n\tzonefile: %q\n", o, f)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nsdConf := write("nsd.conf", conf.String())
	resolv := write("resolv.conf", "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
	odConf := write("opendmarc.conf", "AuthservID mx.test\nTrustedAuthservIDs mx.test\nPublicSuffixList "+psl+
		"\nSyslog false\nSPFSelfValidate false\nSPFIgnoreResults false\nRejectFailures true\n")
	var script strings.Builder
	fmt.Fprintf(&script, "set -u\n%s link set lo up\nmount --bind %s /etc/resolv.conf\n%s -d -c %s >%s/nsd.out 2>&1 &\nNSD=$!\n", ipBin, resolv, nsd, nsdConf, dir)
	fmt.Fprintf(&script, "i=0; while ! grep -q 'nsd started' %s/nsd.log 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && { echo 'nsd did not start'; cat %s/nsd.out; kill $NSD; exit 1; }; sleep 0.05; done\n", dir, dir)
	for i, m := range msgs {
		p := write(fmt.Sprintf("msg%d.eml", i), string(m))
		fmt.Fprintf(&script, "echo '=== %d'\n%s -vv -c %s -t %s 2>/dev/null\n", i, odmarc, odConf, p)
	}
	script.WriteString("kill $NSD; wait $NSD\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--net", "--mount", "sh", "-c", script.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("opendmarc run: %v\n%s", err, out.String())
	}
	parts := strings.Split(out.String(), "=== ")
	verdicts := make([]OpenDMARCVerdict, len(msgs))
	for _, p := range parts[1:] {
		num, rest, _ := strings.Cut(p, "\n")
		i, err := strconv.Atoi(num)
		if err != nil || i >= len(msgs) {
			t.Fatalf("opendmarc output: %q", p)
		}
		v := OpenDMARCVerdict{Output: rest}
		if m := dmarcARRe.FindStringSubmatch(rest); m != nil {
			v.Result = m[1]
		}
		if m := dmarcDisRe.FindStringSubmatch(rest); m != nil {
			v.Disposition = m[1]
		}
		if m := dmarcPolRe.FindStringSubmatch(rest); m != nil {
			v.Policy = m[1]
		}
		if m := dmarcReplyRe.FindStringSubmatch(rest); m != nil {
			v.Reply = m[1] + " " + m[2]
			if m[1][0] == '5' {
				v.Disposition, v.Policy = "reject", "reject"
				if v.Result == "" {
					v.Result = "fail"
				}
			}
		}
		verdicts[i] = v
	}
	return verdicts
}
