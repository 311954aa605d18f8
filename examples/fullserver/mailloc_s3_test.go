package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/s3blob"
	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSeaweedFSPgstoreBodiesInS3: two fullservers on one PostgreSQL with
// mail_blob_location on a real S3 server (SeaweedFS): a message
// delivered over LMTP through the first is seen over IMAP through the
// second, and the message as stored is the one object in the bucket,
// named by its content (blob.Key).
func TestSeaweedFSPgstoreBodiesInS3(t *testing.T) {
	weed := testutil.StartSeaweedFS(t)
	c, err := testutil.StartPGCluster()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	db := c.NewDatabase(t)
	bucket := weed.URL("mail")
	var ins []*instance
	for i := 0; i < 2; i++ {
		in := newInstance(t, "mail_location = pgsql:"+c.ConnString(db)+"\nmail_blob_location = "+bucket+"\n")
		in.addUsers("bob")
		in.start()
		ins = append(ins, in)
	}
	body := "Subject: kept in S3\r\n\r\n" + strings.Repeat("a line of the body\r\n", 500)
	if reply := lmtpDeliver(t, ins[0], "bob@localhost", strings.ReplaceAll(body, "\r\n", "\n")); !strings.HasPrefix(reply, "250") {
		t.Fatalf("delivery: %s", reply)
	}
	ic := dialIMAP(t, ins[1])
	ic.cmd("SELECT INBOX")
	got := strings.Join(ic.cmd("FETCH 1 (RFC822.SIZE)"), "\n")

	s3, err := s3blob.OpenURL(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s3.List(context.Background(), func(i blob.Info) error {
		keys = append(keys, i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("bucket holds %q, want one message", keys)
	}
	r, err := s3.Open(context.Background(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stored, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if blob.Key(stored) != keys[0] || !strings.Contains(string(stored), body) || !strings.Contains(got, fmt.Sprintf("RFC822.SIZE %d", len(stored))) {
		t.Fatalf("the object (%d bytes, key %s) is not the message IMAP sees through the other server (%q)", len(stored), keys[0], got)
	}
}
