package mbox

import (
	"context"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestPostfixLocalDeliveryMbox: Postfix's local(8) delivers into a spool
// mbox (fcntl + dotlock, ">From " quoting, no Content-Length) while yubin
// appends to the same file; yubin reads every message, gives UIDs in file
// order and writes them, sees a later delivery from Poll, and Dovecot on
// the same file reports the same UIDs, flags and bodies.
func TestPostfixLocalDeliveryMbox(t *testing.T) {
	spool := filepath.Join(testutil.SharedDir(t), "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(spool, 0o1777)
	inboxPath := filepath.Join(spool, "nobody")
	// The spool file belongs to the user, as Debian's adduser makes it.
	if err := os.WriteFile(inboxPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, inboxPath, testutil.PlainUID, testutil.PlainGID)
	p := testutil.StartSMTPPostfix(t, "")
	p.Reconfigure(t, fmt.Sprintf(`mydestination = example.test
local_transport = local
mail_spool_directory = %s
home_mailbox =
mailbox_command =
mailbox_delivery_lock = fcntl, dotlock
`, spool), "")
	send := func(i int) error {
		body := fmt.Sprintf("From: sender@example.org\r\nTo: nobody@example.test\r\nSubject: postfix %d\r\n\r\nline one\r\nFrom the middle of message %d\r\nend\r\n", i, i)
		return smtp.SendMail(p.Addr(), nil, "sender@example.org", []string{"nobody@example.test"}, []byte(body))
	}
	home := filepath.Join(testutil.SharedDir(t), "home")
	s, err := Open(filepath.Join(home, "mail"), Options{Inbox: inboxPath})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := send(i); err != nil {
				errs <- err
			}
		}
	}()
	go func() {
		defer wg.Done()
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		if err != nil {
			errs <- err
			return
		}
		defer mb.Close()
		for i := 0; i < n; i++ {
			_, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: yubin %d\r\n\r\nappended\r\n", i)), store.AppendOptions{Flags: store.Flags{System: store.Seen}})
			if err != nil {
				errs <- err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitDelivered(t, p, n)

	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var subjects []string
	var lastUID uint32
	err = mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		r, err := mb.Open(c, mi.UID)
		if err != nil {
			return err
		}
		defer r.Close()
		b := make([]byte, r.Size())
		if _, err := r.ReadAt(b, 0); err != nil {
			return err
		}
		text := string(b)
		_, subj, _ := strings.Cut(text, "Subject: ")
		subj, _, _ = strings.Cut(subj, "\n")
		subjects = append(subjects, strings.TrimSpace(subj))
		if strings.HasPrefix(subj, "postfix") {
			i := strings.TrimSpace(strings.TrimPrefix(subj, "postfix "))
			if !strings.Contains(text, "\n>From the middle of message "+i+"\n") || !strings.HasSuffix(text, "\nend\n") || !strings.Contains(text, "Delivered-To: nobody@example.test") {
				t.Errorf("postfix message %s read as %q", i, text)
			}
			if mi.Flags.System != 0 {
				t.Errorf("postfix message %s flags %v", i, mi.Flags.System.Names())
			}
		} else if text != fmt.Sprintf("Subject: %s\r\n\r\nappended\r\n", strings.TrimSpace(subj)) || mi.Flags.System != store.Seen {
			t.Errorf("yubin message read as %q %v", text, mi.Flags.System.Names())
		}
		if mi.UID <= lastUID {
			t.Errorf("UID %d after %d", mi.UID, lastUID)
		}
		lastUID = mi.UID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 2*n {
		t.Fatalf("%d messages in the spool, want %d: %v", len(subjects), 2*n, subjects)
	}
	data, _ := os.ReadFile(inboxPath)
	if strings.Count(string(data), "\nX-UID: ") != 2*n {
		t.Errorf("UIDs not written into the spool file:\n%s", data)
	}
	if fi, err := os.Stat(inboxPath); err != nil || fi.Sys() == nil {
		t.Fatal(err)
	} else if uid := statUID(fi); uid != testutil.PlainUID {
		t.Errorf("spool file owner changed to %d", uid)
	}

	// A later delivery shows up in Poll.
	if err := send(100); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, p, n+1)
	deadline := time.Now().Add(10 * time.Second)
	var got []store.Change
	for len(got) == 0 && time.Now().Before(deadline) {
		select {
		case <-mb.Notify():
		case <-time.After(200 * time.Millisecond):
		}
		ch, err := mb.Poll(c)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ch...)
	}
	if len(got) != 1 || got[0].Kind != store.ChangeNew || got[0].UID != lastUID+1 {
		t.Fatalf("poll after a delivery: %+v (last UID %d)", got, lastUID)
	}

	// Dovecot reads the same spool with the same UIDs and bodies.
	want := yubinMessages(t, s)
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: "mbox:~/mail:INBOX=" + inboxPath})
	dhome := d.Home("alice")
	os.MkdirAll(filepath.Join(dhome, "mail"), 0o700)
	testutil.ChownTree(t, dhome, testutil.PlainUID, testutil.PlainGID)
	compareMessages(t, doveadmMessages(t, d), want)
}

// waitDelivered waits for n "status=sent" local deliveries in the log.
func waitDelivered(t *testing.T, p *testutil.SMTPPostfix, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(p.Log(), "relay=local, delay") < n {
		if time.Now().After(deadline) {
			t.Fatalf("postfix delivered %d of %d:\n%s", strings.Count(p.Log(), "relay=local, delay"), n, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(p.Log(), "status=deferred") || strings.Contains(p.Log(), "status=bounced") {
		t.Fatalf("postfix could not deliver:\n%s", p.Log())
	}
}

func statUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
