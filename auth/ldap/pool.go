package ldap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/yubinmail/yubin/internal/ldapconn"
)

// pool holds idle connections, at most cap(slots) in use and idle
// together, as ldapconn.Pool but of conn: an operation runs on the
// caller's goroutine.
type pool struct {
	d       *ldapconn.Dialer
	timeout time.Duration
	slots   chan struct{}
	idle    ldapconn.Idle[*conn]
}

// newPool returns a pool of at most max connections made by d; timeout
// is d's (each operation's bound).
func newPool(d *ldapconn.Dialer, timeout time.Duration, max int) *pool {
	return &pool{d: d, timeout: timeout, slots: make(chan struct{}, max)}
}

// dial makes a connection as d says (URIs, TLS, bind).
func (p *pool) dial(ctx context.Context) (*conn, error) {
	return ldapconn.DialWith(ctx, p.d, newConn)
}

// get takes a slot and an idle connection (reused) or a new one.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	select {
	case p.slots <- struct{}{}:
	default:
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("%w: %v", ldapconn.ErrUnavailable, ctx.Err())
		case <-t.C:
			return nil, false, fmt.Errorf("%w: all %d connections busy", ldapconn.ErrUnavailable, cap(p.slots))
		}
	}
	if c, ok := p.idle.Take(); ok {
		return c, true, nil
	}
	c, err = p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, false, err
	}
	return c, false, nil
}

func (p *pool) put(c *conn, ok bool) {
	if ok {
		p.idle.Put(c)
	} else {
		c.Close()
	}
	<-p.slots
}

// do runs op on a pooled connection within the timeout. A cancelled
// ctx closes the connection (so op returns); failures other than an
// LDAP result from the server close it too, and come back wrapping
// ldapconn.ErrUnavailable. LDAP results (invalid credentials, no such
// object...) come back as they are, and the connection is kept.
func (p *pool) do(ctx context.Context, op func(*conn) error) error {
	c, reused, err := p.get(ctx)
	if err != nil {
		return err
	}
	for {
		err = p.run(ctx, c, op)
		if err == nil || ldapconn.IsResult(err) {
			p.put(c, true)
			return err
		}
		c.Close()
		if ctx.Err() != nil {
			<-p.slots
			return fmt.Errorf("%w: %v", ldapconn.ErrUnavailable, ctx.Err())
		}
		if !reused || isTimeout(err) {
			<-p.slots
			return fmt.Errorf("%w: %v", ldapconn.ErrUnavailable, err)
		}
		// An idle connection the server has closed meanwhile (its
		// idle timeout, a restart): once more on a new one, in the
		// same slot. Searches and binds can be repeated. A server
		// that does not answer in time gets no second wait.
		reused = false
		if c, err = p.dial(ctx); err != nil {
			<-p.slots
			return err
		}
	}
}

// run runs op on c by the timeout and ctx's deadline; a cancelled ctx
// closes c so that op returns.
func (p *pool) run(ctx context.Context, c *conn, op func(*conn) error) error {
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetDeadline(deadline)
	if ctx.Done() == nil {
		return op(c)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err := op(c)
	if !stop() {
		// Cancelled, perhaps just as op ended: the connection is
		// closed, whatever op returned.
		return ctx.Err()
	}
	return err
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// close closes the idle connections; the pool stays usable.
func (p *pool) close() { p.idle.Close() }
