package privsep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/yubinmail/yubin/auth"
)

// Client sends password checks to a worker's Server over one
// connection. It is safe for concurrent use; checks are multiplexed.
type Client struct {
	conn io.ReadWriteCloser

	wmu  sync.Mutex // serialises frames on conn
	mu   sync.Mutex
	next uint64
	wait map[uint64]chan *response
	dead error // set when the connection failed: every check is then temp
}

// NewClient starts reading answers from conn and returns the client.
func NewClient(conn io.ReadWriteCloser) *Client {
	c := &Client{conn: conn, wait: map[uint64]chan *response{}}
	go c.read()
	return c
}

// PassDB returns the worker's database of that name as an auth.PassDB.
func (c *Client) PassDB(name string) auth.PassDB { return &remoteDB{c: c, name: name} }

// Close closes the connection; a worker then exits.
func (c *Client) Close() error {
	c.fail(errors.New("closed"))
	return c.conn.Close()
}

// read delivers answers to their waiting checks until the connection
// fails.
func (c *Client) read() {
	for {
		var resp response
		if err := readFrame(c.conn, &resp); err != nil {
			c.fail(err)
			return
		}
		c.mu.Lock()
		ch := c.wait[resp.ID]
		delete(c.wait, resp.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- &resp
		}
	}
}

// fail marks the connection dead and wakes every waiting check.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead == nil {
		c.dead = err
	}
	for id, ch := range c.wait {
		close(ch)
		delete(c.wait, id)
	}
}

// check sends req and waits for its answer.
func (c *Client) check(ctx context.Context, req *request) (*response, error) {
	ch := make(chan *response, 1)
	c.mu.Lock()
	if c.dead != nil {
		err := c.dead
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: privsep: auth worker gone: %v", auth.ErrTempFail, err)
	}
	c.next++
	req.ID = c.next
	c.wait[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.wait, req.ID)
		c.mu.Unlock()
	}

	c.wmu.Lock()
	err := writeFrame(c.conn, req)
	c.wmu.Unlock()
	if err != nil {
		forget()
		if errors.Is(err, errFrameSize) {
			return nil, fmt.Errorf("%w: privsep: request too large", auth.ErrAuthFailed)
		}
		c.fail(err)
		return nil, fmt.Errorf("%w: privsep: auth worker: %v", auth.ErrTempFail, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: privsep: auth worker gone", auth.ErrTempFail)
		}
		return resp, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("%w: privsep: %v", auth.ErrTempFail, ctx.Err())
	}
}

// remoteDB is one of the worker's databases.
type remoteDB struct {
	c    *Client
	name string
}

// Authenticate asks the worker to check password for user.
func (d *remoteDB) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	req := &request{DB: d.name, User: user, Password: password}
	if ci := auth.ConnInfoFrom(ctx); ci != nil {
		req.Service = ci.Service
		req.TLS = ci.TLS != nil
		if ci.RemoteAddr != nil {
			req.Remote = ci.RemoteAddr.String()
		}
		if ci.LocalAddr != nil {
			req.Local = ci.LocalAddr.String()
		}
	}
	resp, err := d.c.check(ctx, req)
	if err != nil {
		return nil, err
	}
	switch resp.Result {
	case resultOK:
		if resp.User == "" {
			resp.User = user
		}
		return &auth.Identity{User: resp.User, Fields: resp.Fields}, nil
	case resultFail:
		return nil, auth.ErrAuthFailed
	case resultUnknown:
		return nil, auth.ErrUnknownUser
	}
	return nil, fmt.Errorf("%w: privsep: the auth worker could not check the password", auth.ErrTempFail)
}
