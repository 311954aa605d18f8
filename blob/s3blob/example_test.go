package s3blob_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/s3blob"
)

// A store on a local S3 server (plain HTTP, bucket "mail" created when
// missing, objects under "host1/"): put a body by its content address,
// then read part of it back with a ranged GET.
func Example() {
	ctx := context.Background()
	s, err := s3blob.OpenURL(ctx, "s3://ACCESSKEY:SECRETKEY@127.0.0.1:8333/mail/host1?tls=false")
	if err != nil {
		log.Fatal(err)
	}
	body := "Subject: hi\r\n\r\nhello\r\n"
	key := blob.Key([]byte(body))
	if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		log.Fatal(err)
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	text := make([]byte, 5)
	if _, err := r.ReadAt(text, 15); err != nil && err != io.EOF {
		log.Fatal(err)
	}
	fmt.Println(r.Size(), string(text))
}
