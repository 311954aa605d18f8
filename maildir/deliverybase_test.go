package maildir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDeliveryBase: the name is Dovecot's
// "<seconds>.M<microseconds>P<pid>Q<seq>.<host>".
func TestDeliveryBase(t *testing.T) {
	now := time.Unix(1796694190, 876228999)
	want := fmt.Sprintf("1796694190.M876228P%dQ7.mx.example.jp", os.Getpid())
	if got := deliveryBase(now, 7, "mx.example.jp"); got != want {
		t.Errorf("deliveryBase = %q, want %q", got, want)
	}
}

// TestSetFileTimes: the times set through the descriptor are the date
// in microseconds, rounded up as unix.NsecToTimeval rounds for
// unix.Futimes.
func TestSetFileTimes(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "m"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	date := time.Date(2001, 2, 3, 4, 5, 6, 789123456, time.UTC)
	if err := (messageTemp{f: f}).setTimes(date); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2001, 2, 3, 4, 5, 6, 789124000, time.UTC); !fi.ModTime().Equal(want) {
		t.Errorf("mtime = %v, want %v", fi.ModTime(), want)
	}
}
