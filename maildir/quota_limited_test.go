package maildir

import "testing"

// TestQuotaLimited: QuotaLimited is true exactly when a storage or
// message limit is set, so IMAP APPEND can skip Quota's folder scan.
func TestQuotaLimited(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want bool
	}{
		{Options{}, false},
		{Options{QuotaStorage: 1000}, true},
		{Options{QuotaMessages: 3}, true},
	} {
		s := newTestStore(t, t.TempDir(), tc.opts)
		if got := s.QuotaLimited(); got != tc.want {
			t.Errorf("QuotaLimited with %+v = %v, want %v", tc.opts, got, tc.want)
		}
	}
}
