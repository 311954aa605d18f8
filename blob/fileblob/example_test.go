package fileblob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/fileblob"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// A mail store keeps a body under its content address, then reads part
// of it back.
func Example() {
	dir, err := os.MkdirTemp("", "fileblob-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := fileblob.New(dir)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	body := "Subject: hi\r\n\r\nhello\r\n"
	key := blob.Key([]byte(body))
	if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		panic(err)
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	text := make([]byte, 5)
	r.ReadAt(text, 15)
	fmt.Println(r.Size(), string(text))
	// Output: 22 hello
}
