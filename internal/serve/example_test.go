package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/yubinmail/yubin/internal/serve"
)

// greeter is a session that sends one line and waits for the client to
// hang up; asked to drain, it says goodbye at once.
type greeter struct{ conn net.Conn }

func (g *greeter) Drain() { g.conn.SetReadDeadline(time.Now()) }
func (g *greeter) Abort() { g.conn.Close() }

func Example() {
	var group serve.Group
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go group.Serve(l, func(c net.Conn) {
		defer c.Close()
		s := &greeter{conn: c}
		if !group.Track(s) {
			return
		}
		defer group.Untrack(s)
		fmt.Fprintln(c, "hello")
		c.Read(make([]byte, 1))
		fmt.Fprintln(c, "goodbye")
	})

	c, _ := net.Dial("tcp", l.Addr().String())
	r := bufio.NewReader(c)
	line, _ := r.ReadString('\n')
	fmt.Print(line)
	group.Shutdown(context.Background())
	line, _ = r.ReadString('\n')
	fmt.Print(line)
	// Output:
	// hello
	// goodbye
}
