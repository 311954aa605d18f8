package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PostfixConfigDir writes a minimal main.cf into a new temporary directory
// and returns it, for postmap/postalias/postconf -c DIR.
func PostfixConfigDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cf := "compatibility_level = 3.6\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// PostmapQuery asks the real postmap(1) for keys in the table ref
// ("cidr:/path", "hash:/path"...) with "postmap -q -" and returns the
// keys found with their values. It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when postmap is not installed.
func PostmapQuery(t testing.TB, configDir, ref string, keys []string) map[string]string {
	t.Helper()
	bin := RequireBinary(t, "postmap")
	var in bytes.Buffer
	res := map[string]string{}
	for _, k := range keys {
		if strings.ContainsAny(k, "\n") {
			// Keys with line breaks cannot go through stdin: ask one by one.
			out, err := exec.Command(bin, "-c", configDir, "-q", k, ref).Output()
			if err == nil {
				res[k] = strings.TrimSuffix(string(out), "\n")
			}
			continue
		}
		in.WriteString(k)
		in.WriteByte('\n')
	}
	cmd := exec.Command(bin, "-c", configDir, "-q", "-", ref)
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if strings.Contains(errb.String(), "fatal:") {
		t.Fatalf("postmap -q - %s: %s", ref, errb.String())
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("postmap -q - %s: %v: %s", ref, err, errb.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("postmap output line without tab: %q", line)
		}
		res[k] = v
	}
	return res
}

// Postmap runs "postmap -c DIR args..." (to build hash: .db files) and
// fails the test on error.
func Postmap(t testing.TB, configDir string, args ...string) {
	t.Helper()
	bin := RequireBinary(t, "postmap")
	out, err := exec.Command(bin, append([]string{"-c", configDir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("postmap %v: %v: %s", args, err, out)
	}
}

// PostfixMapTypes returns the lookup table types "postconf -m" lists.
func PostfixMapTypes(t testing.TB, configDir string) []string {
	t.Helper()
	bin := RequireBinary(t, "postconf")
	out, err := exec.Command(bin, "-c", configDir, "-m").Output()
	if err != nil {
		t.Fatalf("postconf -m: %v", err)
	}
	return strings.Fields(string(out))
}
