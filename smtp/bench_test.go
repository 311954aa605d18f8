package smtp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// BenchmarkServerSession measures the server's cost of one whole session
// (greeting, EHLO, MAIL, RCPT, the message, QUIT) over loopback TCP, with
// a Session that reads the message and drops it and a logger that formats
// every line (as a real one would). The client side writes the session
// pre-built, so most of the time is the server's.
func BenchmarkServerSession(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
		bdat bool
	}{{"DATA-4KiB", 4 << 10, false}, {"BDAT-4KiB", 4 << 10, true}, {"BDAT-100KiB", 100 << 10, true}} {
		b.Run(tc.name, func(b *testing.B) {
			// The script pipelines past EHLO, as no real client may.
			srv := &Server{Hostname: "mx.example.jp", MaxConnsPerClient: -1, AllowUnauthPipelining: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Backend: DataFunc(func(ctx context.Context, env *Envelope, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Close()
			body := strings.Repeat(strings.Repeat("abcdefghij", 7)+"\r\n", tc.size/72)
			var script string
			if tc.bdat {
				script = "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.jp>\r\nBDAT " + strconv.Itoa(len(body)) + " LAST\r\n" + body + "QUIT\r\n"
			} else {
				script = "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n" + body + ".\r\nQUIT\r\n"
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			sem := make(chan struct{}, 10)
			for range b.N {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					c, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					go io.WriteString(c, script)
					r := bufio.NewReader(c)
					n := 0
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							break
						}
						if strings.HasPrefix(line, "250 2.0.0 Ok: queued") {
							n++
						}
					}
					if n != 1 {
						b.Error("message not accepted")
					}
				}()
			}
			wg.Wait()
		})
	}
}
