package queue_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yubinmail/yubin/queue"
)

func ExampleWriteMailq() {
	at := time.Date(2026, 12, 7, 5, 30, 1, 0, time.Local)
	queue.WriteMailq(os.Stdout, []queue.Entry{
		{ID: "4A1B2C3D4E", Queue: "deferred", Size: 2310, Arrival: at, From: "taro@example.jp",
			Recipients: []queue.EntryRecipient{{Addr: "hanako@example.net", Reason: "connect to mx.example.net[192.0.2.25]:25: Connection refused"}}},
		{ID: "5F6A7B8C9D", Queue: "hold", Size: 1200, Arrival: at,
			Recipients: []queue.EntryRecipient{{Addr: "postmaster@example.jp"}}},
	})
	// Output:
	// -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
	// 4A1B2C3D4E     2310 Mon Dec  7 05:30:01  taro@example.jp
	//                 (connect to mx.example.net[192.0.2.25]:25: Connection refused)
	//                                          hanako@example.net
	//
	// 5F6A7B8C9D!    1200 Mon Dec  7 05:30:01  MAILER-DAEMON
	//                                          postmaster@example.jp
	//
	// -- 3 Kbytes in 2 Requests.
}

func ExampleScanHeaders() {
	msg := "Received: from mx.example.net\r\nDelivered-To: taro@example.jp\r\nSubject: hi\r\n\r\nbody\r\n"
	h, err := queue.ScanHeaders(strings.NewReader(msg), queue.DefaultHeaderSizeLimit)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Received > queue.DefaultHopcountLimit, h.Delivered("Taro@example.jp"))
	// Output: false true
}

// listOnly is an Admin with an empty queue.
type listOnly struct{}

func (listOnly) List() []queue.Entry            { return nil }
func (listOnly) Flush()                         {}
func (listOnly) Hold(id string) (int, error)    { return 0, nil }
func (listOnly) Release(id string) (int, error) { return 0, nil }
func (listOnly) Delete(id string) (int, error)  { return 0, nil }
func (listOnly) Requeue(id string) (int, error) { return 0, nil }

func ExampleServeControl() {
	dir, _ := os.MkdirTemp("", "yubin")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "queue.sock")
	l, err := queue.ListenControl(path)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go queue.ServeControl(ctx, l, listOnly{}, slog.New(slog.DiscardHandler))

	// What "fullserver queue list" and "fullserver queue hold ALL" do.
	out, err := queue.ControlCommand(ctx, path, "list")
	fmt.Print(out, err, "\n")
	out, err = queue.ControlCommand(ctx, path, "hold", "ALL")
	fmt.Print(out, err, "\n")
	_, err = queue.ControlCommand(ctx, path, "delete", "../x")
	fmt.Println(err)
	// Output:
	// Mail queue is empty
	// <nil>
	// Placed on hold: 0 messages
	// <nil>
	// queue control: invalid queue ID: delete ../x
}
