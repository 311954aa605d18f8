package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// writeTestCert writes a certificate and key for localhost and
// 127.0.0.1 under dir and returns their paths.
func writeTestCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	os.MkdirAll(dir, 0o755)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o644)
	return cert, key
}

// replicaPair is two fullservers replicating to each other through
// relays.
type replicaPair struct {
	a, b         *instance
	toB, toA     *testutil.TCPRelay
	certA, certB string
	t            *testing.T
}

func newReplicaPair(t *testing.T, users ...string) *replicaPair {
	return newReplicaPairWith(t, "", users...)
}

// newReplicaPairWith is newReplicaPair with more configuration lines.
func newReplicaPairWith(t *testing.T, more string, users ...string) *replicaPair {
	p := &replicaPair{t: t, toB: testutil.StartTCPRelay(t, ""), toA: testutil.StartTCPRelay(t, "")}
	bundle := filepath.Join(testutil.SharedDir(t), "bundle.pem")
	mk := func(rel *testutil.TCPRelay, name string) (*instance, string) {
		dir := testutil.SharedDir(t)
		cert, key := writeTestCert(t, filepath.Join(dir, name))
		extra := fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nssl_client_ca_file = %s\n"+
			"mail_replica = tcp:127.0.0.1:%d\ndoveadm_inet_listener = 127.0.0.1:0\ndoveadm_password = s3cret-pair\n"+
			"replication_max_conns = 4\n", cert, key, bundle, rel.Port()) + more
		in := newInstance(t, extra)
		os.MkdirAll(in.data, 0o755)
		in.addUsers(users...)
		return in, cert
	}
	p.a, p.certA = mk(p.toB, "a")
	p.b, p.certB = mk(p.toA, "b")
	ca, _ := os.ReadFile(p.certA)
	cb, _ := os.ReadFile(p.certB)
	os.WriteFile(bundle, append(ca, cb...), 0o644)
	p.a.start()
	p.b.start()
	p.toB.SetTarget(p.b.addr("doveadm"))
	p.toA.SetTarget(p.a.addr("doveadm"))
	return p
}

// restart starts a fresh process on an instance's data after a kill.
func restart(t *testing.T, old *instance) *instance {
	in := &instance{t: t, data: old.data, cfg: old.cfg, ports: map[string]int{}, done: make(chan struct{})}
	in.start()
	return in
}

const pyDump = `
import imaplib, ssl, hashlib, json, os, re
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def dump(port, user):
    m = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ctx)
    m.login(user, 'pw-' + user.split('@')[0])
    out = {}
    typ, boxes = m.list()
    for line in boxes:
        line = line.decode()
        if '\\Noselect' in line:
            continue
        name = line.rsplit(' ', 1)[1].strip('"')
        typ, d = m.select('"%s"' % name, readonly=True)
        uv = m.response('UIDVALIDITY')[1][0].decode()
        msgs = {}
        if int(d[0]) > 0:
            typ, data = m.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[])')
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta = item[0].decode()
                uid = re.search(r'UID (\d+)', meta).group(1)
                flags = sorted(f for f in re.search(r'FLAGS \(([^)]*)\)', meta).group(1).split() if f != '\\Recent')
                msgs[uid] = [hashlib.sha256(item[1]).hexdigest()[:16], flags]
        out[name] = {'uidvalidity': uv, 'msgs': msgs}
    m.logout()
    return out
print(json.dumps(dump(int(os.environ['PORT']), os.environ['USER']), sort_keys=True))
`

func dumpIMAP(t *testing.T, in *instance, user string) string {
	t.Helper()
	return strings.TrimSpace(python(t, pyDump, "PORT="+strconv.Itoa(in.ports["imaps"]), "USER="+user+"@localhost"))
}

// converge waits until both servers show user the same mail over IMAP.
func (p *replicaPair) converge(user string, within time.Duration) string {
	p.t.Helper()
	end := time.Now().Add(within)
	var da, db string
	for time.Now().Before(end) {
		da, db = dumpIMAP(p.t, p.a, user), dumpIMAP(p.t, p.b, user)
		if da == db {
			return da
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.t.Fatalf("no convergence within %v:\nA: %s\nB: %s", within, da, db)
	return ""
}

const pyWorkload = `
import imaplib, ssl, os, random
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
r = random.Random(int(os.environ['SEED']))
def connect():
    m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['USER'], os.environ['PASS'])
    return m
m = connect()
tag = os.environ['TAG']
for i in range(int(os.environ['N'])):
    box = r.choice(['INBOX', 'Work'])
    k = r.random()
    try:
        if k < 0.5:
            m.append(box, None, None, ('Subject: %s %d\r\nMessage-ID: <%s.%d@test>\r\n\r\nbody %s %d\r\n' % (tag, i, tag, i, tag, i)).encode())
            continue
        typ, d = m.select(box)
        typ, data = m.uid('SEARCH', 'ALL')
        uids = data[0].split()
        if not uids:
            continue
        uid = r.choice(uids).decode()
        if k < 0.85:
            m.uid('STORE', uid, r.choice(['+FLAGS', '-FLAGS']), '(%s)' % r.choice(['\\Seen', '\\Flagged', '$Work', '\\Answered']))
        else:
            m.uid('STORE', uid, '+FLAGS', '(\\Deleted)')
            m.expunge()
    except imaplib.IMAP4.abort:
        # BYE: the selected mailbox got a new UIDVALIDITY (RFC 9051
        # 2.3.1.1); a client logs in again and resynchronises.
        print('reconnect')
        m = connect()
m.logout()
`

func (p *replicaPair) workload(in *instance, user, tag string, seed, n int) {
	python(p.t, pyWorkload, "PORT="+strconv.Itoa(in.ports["imaps"]), "USER="+user+"@localhost", "PASS=pw-"+user,
		"TAG="+tag, "SEED="+strconv.Itoa(seed), "N="+strconv.Itoa(n))
}

// TestReplicationTwoFullserversConverge: two fullservers on 127.0.0.1
// with their own data directories replicate to each other (TLS, shared
// secret, through relays this test controls). Random changes made over
// IMAP on both at once converge: the same mailboxes, UIDVALIDITYs, UIDs,
// bytes and flags on both. Then the network between them is cut while
// both take changes, and restored; then one server is killed with -9
// while a batch replicates, and restarted: they converge each time.
// `fullserver replicator status` prints Dovecot's table.
func TestReplicationTwoFullserversConverge(t *testing.T) {
	t.Parallel()
	testutil.RequireBinary(t, "python3")
	p := newReplicaPair(t, "alice", "bob")
	start := time.Now()
	stage := func(what string) { t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), what) }
	// The users' first mail, on A alone: B takes A's mailboxes as they
	// are, UIDVALIDITY included.
	for _, user := range []string{"alice", "bob"} {
		python(t, `
import imaplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
m.login(os.environ['USER'], os.environ['PASS'])
m.create('Work')
m.append('INBOX', None, None, b'Subject: first\r\n\r\nfirst\r\n')
m.logout()
`, "PORT="+strconv.Itoa(p.a.ports["imaps"]), "USER="+user+"@localhost", "PASS=pw-"+user)
		p.converge(user, 30*time.Second)
	}
	stage("warm-up converged")
	var wg sync.WaitGroup
	for i, in := range []*instance{p.a, p.b} {
		for j, user := range []string{"alice", "bob"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.workload(in, user, fmt.Sprintf("r%d%d", i, j), i*10+j, 60)
			}()
		}
	}
	wg.Wait()
	for _, user := range []string{"alice", "bob"} {
		d := p.converge(user, 60*time.Second)
		if !strings.Contains(d, `"Work"`) {
			t.Errorf("Work missing: %s", d)
		}
	}

	stage("concurrent workload converged")
	// The network cut: both sides change, neither sees the other.
	p.toA.SetDown(true)
	p.toB.SetDown(true)
	p.workload(p.a, "alice", "cutA", 5, 40)
	p.workload(p.b, "alice", "cutB", 6, 40)
	time.Sleep(time.Second)
	if dumpIMAP(t, p.a, "alice") == dumpIMAP(t, p.b, "alice") {
		t.Error("the two sides converged with the network cut: the cut did not hold")
	}
	p.toA.SetDown(false)
	p.toB.SetDown(false)
	p.converge("alice", 60*time.Second)

	stage("network cut and restored, converged")
	// kill -9 of B in the middle of a batch A replicates to it.
	p.workload(p.a, "bob", "kill", 7, 120)
	time.Sleep(150 * time.Millisecond)
	p.b.cmd.Process.Kill()
	<-p.b.done
	p.workload(p.a, "bob", "afterkill", 8, 20)
	p.b = restart(t, p.b)
	p.toA.SetTarget(p.b.addr("doveadm"))
	p.converge("bob", 60*time.Second)
	stage("kill -9 and restart, converged")

	code, out, errOut := runCmd(t, "", "-config", p.a.cfg, "replicator", "status")
	if code != 0 || !strings.Contains(out, "Queued 'full resync' requests") || !strings.Contains(out, "Total number of known users") {
		t.Errorf("replicator status: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "", "-config", p.a.cfg, "replicator", "status", "*")
	if code != 0 || !strings.HasPrefix(out, "username") || !strings.Contains(out, "alice@localhost") {
		t.Errorf("replicator status '*': %d\n%s%s", code, out, errOut)
	}
	t.Logf("replicator status *:\n%s", out)
}

// mbsyncRC writes an mbsync configuration for alice on the server in
// (IMAPS, its test certificate) syncing into local.
func mbsyncRC(t *testing.T, in *instance, cert, local, rc string) {
	mbsyncRCFor(t, in, "alice", cert, local, rc, "Patterns INBOX\nCreate Near\n")
}

func localCount(t *testing.T, local string) int {
	a, _ := filepath.Glob(filepath.Join(local, "INBOX", "cur", "*"))
	b, _ := filepath.Glob(filepath.Join(local, "INBOX", "new", "*"))
	return len(a) + len(b)
}

const pyAppend = `
import imaplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
for i in range(int(os.environ['N'])):
    m.append('INBOX', None, None, ('Subject: %s %d\r\n\r\nbody %s %d\r\n' % (os.environ['TAG'], i, os.environ['TAG'], i)).encode())
m.logout()
`

const pyUIDL = `
import poplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', int(os.environ['PORT']), context=ctx)
p.user('alice@localhost'); p.pass_('pw-alice')
print(' '.join(sorted(l.decode().split()[1] for l in p.uidl()[1])))
p.quit()
`

// TestMbsyncFailoverNoDuplicates: mbsync syncs alice's INBOX from A;
// A stops; mbsync syncs the same local copy from B: nothing is
// downloaded again and nothing is doubled, because B has the same
// UIDVALIDITY and UIDs. A message that arrives on B after the failover
// is fetched once. POP3 UIDLs seen on A are the same on B.
func TestMbsyncFailoverNoDuplicates(t *testing.T) {
	t.Parallel()
	mbsync := testutil.RequireBinary(t, "mbsync")
	testutil.RequireBinary(t, "python3")
	p := newReplicaPair(t, "alice")
	python(t, pyAppend, "PORT="+strconv.Itoa(p.a.ports["imaps"]), "N=5", "TAG=before")
	p.converge("alice", 30*time.Second)
	uidlA := python(t, pyUIDL, "PORT="+strconv.Itoa(p.a.ports["pop3s"]))

	dir := t.TempDir()
	local := filepath.Join(dir, "mail") + "/"
	os.MkdirAll(local, 0o700)
	rcA, rcB := filepath.Join(dir, "rcA"), filepath.Join(dir, "rcB")
	mbsyncRC(t, p.a, p.certA, local, rcA)
	mbsyncRC(t, p.b, p.certB, local, rcB)
	if out, err := exec.Command(mbsync, "-c", rcA, "-a").CombinedOutput(); err != nil {
		t.Fatalf("mbsync from A: %v\n%s", err, out)
	}
	if n := localCount(t, local); n != 5 {
		t.Fatalf("mbsync copied %d messages from A, want 5", n)
	}
	// Failover: A stops.
	p.a.cmd.Process.Signal(os.Interrupt)
	<-p.a.done
	if uidlB := python(t, pyUIDL, "PORT="+strconv.Itoa(p.b.ports["pop3s"])); uidlB != uidlA {
		t.Errorf("POP3 UIDLs changed across the failover:\nA: %sB: %s", uidlA, uidlB)
	}
	out, err := exec.Command(mbsync, "-V", "-c", rcB, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync from B: %v\n%s", err, out)
	}
	if n := localCount(t, local); n != 5 {
		t.Errorf("after the failover the local copy has %d messages, want the same 5\n%s", n, out)
	}
	if strings.Contains(string(out), "UIDVALIDITY") {
		t.Errorf("mbsync saw a UIDVALIDITY change:\n%s", out)
	}
	python(t, pyAppend, "PORT="+strconv.Itoa(p.b.ports["imaps"]), "N=1", "TAG=after")
	if out, err := exec.Command(mbsync, "-c", rcB, "-a").CombinedOutput(); err != nil {
		t.Fatalf("mbsync from B: %v\n%s", err, out)
	}
	if n := localCount(t, local); n != 6 {
		t.Errorf("local copy has %d messages, want 6", n)
	}
}

// TestDovecotBackupFromBothServers is the independent check: Dovecot's
// own dsync (doveadm backup over imapc, IMAPS) pulls alice's mail from
// each of the two replicated yubin servers into a private Dovecot, and
// the two copies hold the same mailboxes, UIDs, flags and bytes as
// Dovecot sees them.
func TestDovecotBackupFromBothServers(t *testing.T) {
	t.Parallel()
	testutil.RequireBinary(t, "python3")
	p := newReplicaPair(t, "alice")
	python(t, pyAppend, "PORT="+strconv.Itoa(p.a.ports["imaps"]), "N=4", "TAG=dsync-a")
	python(t, pyAppend, "PORT="+strconv.Itoa(p.b.ports["imaps"]), "N=3", "TAG=dsync-b")
	p.converge("alice", 30*time.Second)
	// yubin's hierarchy separator is "/": dsync wants the same on both ends.
	d := testutil.StartDovecot(t, testutil.DovecotConfig{Extra: "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"})
	pull := func(in *instance, copyUser string) string {
		d.Doveadm(t, nil, "-o", "imapc_host=127.0.0.1", "-o", "imapc_port="+strconv.Itoa(in.ports["imaps"]),
			"-o", "imapc_ssl=imaps", "-o", "imapc_ssl_verify=no", "-o", "imapc_user=alice@localhost",
			"-o", "imapc_password=pw-alice", "-o", "ssl_client_ca_dir=/etc/ssl/certs",
			"backup", "-R", "-u", copyUser, "imapc:")
		out := d.Doveadm(t, nil, "-f", "flow", "fetch", "-u", copyUser, "mailbox uid flags text", "ALL")
		// \Recent belongs to Dovecot's session, not to the mail.
		return strings.NewReplacer(`flags=\Recent `, "flags= ", ` \Recent`, "", `\Recent `, "").Replace(out)
	}
	fromA, fromB := pull(p.a, "copya"), pull(p.b, "copyb")
	if fromA != fromB {
		t.Errorf("Dovecot's copies differ:\nfrom A:\n%s\nfrom B:\n%s", fromA, fromB)
	}
	if n := strings.Count(fromA, "mailbox="); n != 7 {
		t.Errorf("Dovecot copied %d messages, want 7:\n%s", n, fromA)
	}
}
