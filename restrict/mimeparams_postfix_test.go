package restrict_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// TestPostfixMIMEParamDefaults: the defaults of the content inspection
// parameters are Postfix 3.7's, as "postconf -d" prints them.
func TestPostfixMIMEParamDefaults(t *testing.T) {
	bin := testutil.RequireBinary(t, "postconf")
	names := []string{"header_checks", "mime_header_checks", "nested_header_checks", "body_checks",
		"body_checks_size_limit", "header_size_limit", "line_length_limit", "mime_nesting_limit",
		"mime_boundary_length_limit", "disable_mime_input_processing", "strict_mime_encoding_domain",
		"strict_8bitmime", "strict_7bit_headers", "strict_8bitmime_body", "cleanup_replace_stray_cr_lf"}
	out, err := exec.Command(bin, append([]string{"-c", testutil.PostfixConfigDir(t), "-d"}, names...)...).Output()
	if err != nil {
		t.Fatalf("postconf -d: %v", err)
	}
	ours := restrict.DefaultParams()
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, value, ok := strings.Cut(line, " = ")
		if !ok {
			name, value = strings.TrimSuffix(line, " ="), ""
		}
		seen++
		if got, ok := ours[name]; !ok || got != value {
			t.Errorf("%s: yubin %q (set %v), postfix %q", name, got, ok, value)
		}
	}
	if seen != len(names) {
		t.Errorf("postconf printed %d of %d parameters:\n%s", seen, len(names), out)
	}
}
