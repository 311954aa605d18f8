package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SeaweedFSVersion is the version of github.com/seaweedfs/seaweedfs whose
// weed command .ci/build-weed builds into WeedCachePath.
const SeaweedFSVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// WeedCachePath is where .ci/build-weed puts the weed binary:
// $XDG_CACHE_HOME/yubin/weed-VERSION/weed, or under $HOME/.cache.
func WeedCachePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "yubin", "weed-"+SeaweedFSVersion, "weed")
}

// WeedBinary returns the weed binary to run: $YUBIN_WEED when set, else
// WeedCachePath, else weed on $PATH; "" when there is none.
func WeedBinary() string {
	if p := os.Getenv("YUBIN_WEED"); p != "" {
		return p
	}
	if p := WeedCachePath(); p != "" {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return LookBinary("weed")
}

// SeaweedFS is a private SeaweedFS (`weed server` with a master, a
// volume server, a filer and the S3 gateway in one process) started by a
// test: its data lives in a fresh directory, every port is on 127.0.0.1,
// the S3 gateway answers plain HTTP on S3Addr and HTTPS (the certificate
// of TLS, for "127.0.0.1") on S3TLSAddr, S3 requests are signed with AccessKey and SecretKey (an identity
// allowed everything), writes under /buckets/ are fsynced by the volume
// server before they are acknowledged (fs.configure -fsync=true), and it
// is stopped by PID when the test ends.
type SeaweedFS struct {
	Dir       string // data directory; weed.log holds its output
	S3Addr    string // "127.0.0.1:port" of the S3 gateway, plain HTTP
	S3TLSAddr string // "127.0.0.1:port" of the S3 gateway over HTTPS
	TLS       *TLSFixture
	AccessKey string
	SecretKey string
	ports     seaweedPorts
	cmd       *exec.Cmd
	done      chan struct{}
}

// seaweedPorts are the ports weed server needs: it takes port numbers,
// not listeners, and its gRPC ports default to HTTP port + 10000, which
// may be taken or past 65535, so all are given.
type seaweedPorts struct {
	master, masterGRPC, volume, volumeGRPC, filer, filerGRPC, s3, s3GRPC, s3TLS int
}

func (p seaweedPorts) all() []int {
	return []int{p.master, p.masterGRPC, p.volume, p.volumeGRPC, p.filer, p.filerGRPC, p.s3, p.s3GRPC, p.s3TLS}
}

// errPortTaken marks a start that failed because another program had
// one of the ports: the start is retried on other ports.
var errPortTaken = errors.New("a port was taken by another program")

// StartSeaweedFS starts weed server as described on SeaweedFS and waits
// (up to 90 s: the first volume is made on start) until S3 requests can
// be served. weed binds the ports it is given, so another program may
// take one first: a start where weed reports an address in use or does
// not hold all its ports is retried on fresh ports, up to 5 times. It
// skips (fails under YUBIN_REQUIRE_INTEROP=1) when no weed binary is
// found (see WeedBinary; .ci/build-weed builds one). Start one per test
// package and share it: a start takes seconds.
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	return startSeaweedFSOn(t, choosePorts)
}

// startSeaweedFSOn is StartSeaweedFS with the port chooser given.
func startSeaweedFSOn(t testing.TB, choose func() (seaweedPorts, error)) *SeaweedFS {
	t.Helper()
	bin := WeedBinary()
	if bin == "" {
		Unavailable(t, "SeaweedFS's weed not found at %s, $YUBIN_WEED or on $PATH (build it with .ci/build-weed; .ci/run does)", WeedCachePath())
		return nil
	}
	if _, err := os.Stat(bin); err != nil {
		Unavailable(t, "SeaweedFS's weed: %v", err)
		return nil
	}
	dir, err := os.MkdirTemp("", "yubin-weed-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w := &SeaweedFS{Dir: dir, TLS: NewTLS(t), AccessKey: randomToken(20, upperAlnum), SecretKey: randomToken(40, upperAlnum+"abcdefghijklmnopqrstuvwxyz")}
	if err := w.writeS3Config(); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := w.start(bin, choose, 90*time.Second)
		if err == nil {
			t.Logf("weed server serves S3 on %s after %v", w.S3Addr, time.Since(start).Round(time.Millisecond))
			t.Cleanup(w.stop)
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatalf("weed server: %v\n%s", err, w.logTail(4000))
		}
		t.Logf("weed server, attempt %d: %v; starting again on other ports", attempt, err)
	}
	if err := w.configureFsync(bin); err != nil {
		t.Fatalf("weed shell fs.configure: %v", err)
	}
	return w
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomToken(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// URL returns the s3blob URL of bucket (which may go on with a prefix)
// on this server, plain HTTP.
func (w *SeaweedFS) URL(bucket string) string {
	return "s3://" + url.UserPassword(w.AccessKey, w.SecretKey).String() + "@" + w.S3Addr + "/" + bucket + "?tls=false"
}

// TLSURL is URL over HTTPS, verifying the server with w.TLS's
// certificate.
func (w *SeaweedFS) TLSURL(bucket string) string {
	return "s3://" + url.UserPassword(w.AccessKey, w.SecretKey).String() + "@" + w.S3TLSAddr + "/" + bucket + "?ca=" + url.QueryEscape(w.TLS.CertFile)
}

// PID returns the weed process's id.
func (w *SeaweedFS) PID() int { return w.cmd.Process.Pid }

func (w *SeaweedFS) writeS3Config() error {
	conf := map[string]any{"identities": []any{map[string]any{
		"name":        "yubin",
		"credentials": []any{map[string]string{"accessKey": w.AccessKey, "secretKey": w.SecretKey}},
		"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}
	b, err := json.Marshal(conf)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.Dir, "s3.json"), b, 0o600)
}

// choosePorts picks 9 distinct free ports on 127.0.0.1.
func choosePorts() (seaweedPorts, error) {
	var got []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(got) < 9 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return seaweedPorts{}, err
		}
		ls = append(ls, l) // held until all are chosen, so all differ
		got = append(got, l.Addr().(*net.TCPAddr).Port)
	}
	return seaweedPorts{got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[7], got[8]}, nil
}

func (w *SeaweedFS) logPath() string { return filepath.Join(w.Dir, "weed.log") }

func (w *SeaweedFS) logTail(n int) string {
	b, _ := os.ReadFile(w.logPath())
	return string(tail(b, n))
}

// start runs weed server on fresh ports and waits until it serves S3.
func (w *SeaweedFS) start(bin string, choose func() (seaweedPorts, error), wait time.Duration) error {
	p, err := choose()
	if err != nil {
		return err
	}
	w.ports = p
	w.S3Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.s3))
	w.S3TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.s3TLS))
	data := filepath.Join(w.Dir, "data")
	os.RemoveAll(data)
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	itoa := strconv.Itoa
	args := []string{"-logtostderr", "server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + data,
		"-master.port=" + itoa(p.master), "-master.port.grpc=" + itoa(p.masterGRPC),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-master.volumePreallocate=false",
		"-volume.port=" + itoa(p.volume), "-volume.port.grpc=" + itoa(p.volumeGRPC), "-volume.max=0",
		"-filer", "-filer.port=" + itoa(p.filer), "-filer.port.grpc=" + itoa(p.filerGRPC),
		"-filer.localSocket=" + filepath.Join(w.Dir, "filer.sock"),
		"-s3", "-s3.port=" + itoa(p.s3), "-s3.port.grpc=" + itoa(p.s3GRPC),
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=" + filepath.Join(w.Dir, "s3.json"),
		"-s3.localSocket=" + filepath.Join(w.Dir, "s3.sock"),
		"-s3.port.https=" + itoa(p.s3TLS), "-s3.cert.file=" + w.TLS.CertFile, "-s3.key.file=" + w.TLS.KeyFile,
	}
	logf, err := os.Create(w.logPath())
	if err != nil {
		return err
	}
	defer logf.Close()
	w.cmd = exec.Command(bin, args...)
	w.cmd.Dir = w.Dir
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		return err
	}
	w.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(w.cmd, w.done)
	if err := w.waitReady(wait); err != nil {
		w.stop()
		if errors.Is(err, errPortTaken) || strings.Contains(w.logTail(20000), "address already in use") {
			return fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return err
	}
	return nil
}

// waitReady polls until the master hands out a file id (a writable
// volume exists), the S3 gateway answers HTTP, and weed itself holds
// every port it was given; or weed exits, or wait passes.
func (w *SeaweedFS) waitReady(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(port int, path string) (int, string, error) {
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b), nil
	}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			return fmt.Errorf("weed exited: %v", w.cmd.ProcessState)
		case <-time.After(200 * time.Millisecond):
		}
		if code, body, err := get(w.ports.master, "/dir/assign"); err != nil || code != 200 || !strings.Contains(body, `"fid"`) {
			last = fmt.Errorf("master has no writable volume yet: %d %q %v", code, body, err)
			continue
		}
		if _, _, err := get(w.ports.s3, "/"); err != nil {
			last = fmt.Errorf("s3 gateway: %v", err)
			continue
		}
		for _, port := range w.ports.all() {
			held, known := holdsTCPListener(w.cmd.Process.Pid, port)
			if known && !held {
				return fmt.Errorf("%w: weed does not listen on port %d", errPortTaken, port)
			}
		}
		return nil
	}
	return fmt.Errorf("not ready after %v: %v", wait, last)
}

// configureFsync makes the volume server fsync every write under
// /buckets/ (all S3 objects) before acknowledging it.
func (w *SeaweedFS) configureFsync(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// SeaweedFS addresses are "host:port.grpcPort" when the gRPC port is
	// not port+10000.
	addr := func(port, grpc int) string { return fmt.Sprintf("127.0.0.1:%d.%d", port, grpc) }
	cmd := exec.CommandContext(ctx, bin, "-logtostderr", "shell",
		"-master="+addr(w.ports.master, w.ports.masterGRPC), "-filer="+addr(w.ports.filer, w.ports.filerGRPC))
	cmd.Dir = w.Dir
	cmd.Stdin = strings.NewReader("fs.configure -locationPrefix=/buckets/ -fsync=true -apply\nexit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(`"fsync": true`)) && !bytes.Contains(out, []byte(`"fsync":true`)) {
		return fmt.Errorf("fs.configure did not report fsync: %s", out)
	}
	return nil
}

// stop ends weed and removes the gRPC sockets it leaves in /tmp (their
// path is fixed there, named after the port).
func (w *SeaweedFS) stop() {
	stopProcess(w.cmd, w.done, syscall.SIGTERM, 10*time.Second)
	p := w.ports
	for name, port := range map[string]int{"master": p.masterGRPC, "volume": p.volumeGRPC, "filer": p.filerGRPC, "s3": p.s3GRPC} {
		os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", name, port))
	}
}
