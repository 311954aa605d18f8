package replicate

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"
)

// Dialer connects to the partner's replication listener.
type Dialer struct {
	// Addr is the partner's host:port (mail_replica = tcp:HOST:PORT).
	Addr string
	// TLSConfig, when set, is used for the connection.
	TLSConfig *tls.Config
	Secret    string
	// Partner is this server's name as the partner files its state
	// (each side keeps a state per partner).
	Partner string
	// MaxFrame bounds a frame received (DefaultMaxFrame when 0).
	MaxFrame int
	Timeout  time.Duration // per request, 5 min when 0
}

// RemoteEndpoint is the partner's side of one user's sync, reached over
// the network. It is used by one goroutine.
type RemoteEndpoint struct {
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	max     int
	timeout time.Duration
}

// Dial connects, authenticates and names the user.
func (d *Dialer) Dial(ctx context.Context, user string) (*RemoteEndpoint, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", d.Addr)
	if err != nil {
		return nil, err
	}
	if d.TLSConfig != nil {
		tc := tls.Client(c, d.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	e := &RemoteEndpoint{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10), max: d.MaxFrame, timeout: d.Timeout}
	if e.max == 0 {
		e.max = DefaultMaxFrame
	}
	if e.timeout == 0 {
		e.timeout = 5 * time.Minute
	}
	if _, err := e.call(ctx, &Request{Op: "hello", Secret: d.Secret, Version: ProtocolVersion}); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := e.call(ctx, &Request{Op: "user", User: user, Partner: d.Partner}); err != nil {
		c.Close()
		return nil, err
	}
	return e, nil
}

// Close ends the connection.
func (e *RemoteEndpoint) Close() error { return e.c.Close() }

func (e *RemoteEndpoint) send(ctx context.Context, q *Request) error {
	dl := time.Now().Add(e.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	e.c.SetDeadline(dl)
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	if len(b) > e.max {
		return fmt.Errorf("replicate: request of %d bytes over the frame limit", len(b))
	}
	return writeFrame(e.w, frameRequest, b)
}

func (e *RemoteEndpoint) recv() (Response, error) {
	if err := e.w.Flush(); err != nil {
		return Response{}, err
	}
	kind, p, err := readFrame(e.r, e.max)
	if err != nil {
		return Response{}, err
	}
	if kind != frameResponse {
		return Response{}, errFrame
	}
	var resp Response
	if err := json.Unmarshal(p, &resp); err != nil {
		return Response{}, fmt.Errorf("%w: %v", errFrame, err)
	}
	if resp.Err != "" {
		return resp, codeErr(resp.Err)
	}
	return resp, nil
}

func (e *RemoteEndpoint) call(ctx context.Context, q *Request) (Response, error) {
	if err := e.send(ctx, q); err != nil {
		return Response{}, err
	}
	stop := context.AfterFunc(ctx, func() { e.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return e.recv()
}

// Gens implements Endpoint.
func (e *RemoteEndpoint) Gens(ctx context.Context) ([]uint64, error) {
	r, err := e.call(ctx, &Request{Op: "gens"})
	return r.Gens, err
}

// Begin implements Endpoint.
func (e *RemoteEndpoint) Begin(ctx context.Context, gen uint64) (BeginResult, error) {
	r, err := e.call(ctx, &Request{Op: "begin", Gen: gen})
	if err != nil {
		return BeginResult{}, err
	}
	if r.Begin == nil {
		return BeginResult{}, errFrame
	}
	return *r.Begin, nil
}

// Diff implements Endpoint.
func (e *RemoteEndpoint) Diff(ctx context.Context, mailbox string, full bool) (Diff, error) {
	r, err := e.call(ctx, &Request{Op: "diff", Mailbox: mailbox, Full: full})
	if err != nil {
		return Diff{}, err
	}
	if r.Diff == nil {
		return Diff{}, errFrame
	}
	return *r.Diff, nil
}

// Hash implements Endpoint.
func (e *RemoteEndpoint) Hash(ctx context.Context, mailbox string, ids []string) (map[string]string, error) {
	r, err := e.call(ctx, &Request{Op: "hash", Mailbox: mailbox, IDs: ids})
	return r.Hashes, err
}

// CreateMailbox implements Endpoint.
func (e *RemoteEndpoint) CreateMailbox(ctx context.Context, name, specialUse string) error {
	_, err := e.call(ctx, &Request{Op: "create", Mailbox: name, SpecialUse: specialUse})
	return err
}

// DeleteMailbox implements Endpoint.
func (e *RemoteEndpoint) DeleteMailbox(ctx context.Context, name string) error {
	_, err := e.call(ctx, &Request{Op: "delete", Mailbox: name})
	return err
}

// RenameMailbox implements Endpoint.
func (e *RemoteEndpoint) RenameMailbox(ctx context.Context, oldName, newName string) error {
	_, err := e.call(ctx, &Request{Op: "rename", Mailbox: oldName, NewName: newName})
	return err
}

// RenameState implements Endpoint.
func (e *RemoteEndpoint) RenameState(ctx context.Context, renames map[string]string) error {
	_, err := e.call(ctx, &Request{Op: "renamestate", Renames: renames})
	return err
}

// SetSpecialUse implements Endpoint.
func (e *RemoteEndpoint) SetSpecialUse(ctx context.Context, name, attr string) error {
	_, err := e.call(ctx, &Request{Op: "specialuse", Mailbox: name, SpecialUse: attr})
	return err
}

// Subscribe implements Endpoint.
func (e *RemoteEndpoint) Subscribe(ctx context.Context, name string, on bool) error {
	_, err := e.call(ctx, &Request{Op: "subscribe", Mailbox: name, On: on})
	return err
}

// Append implements Endpoint.
func (e *RemoteEndpoint) Append(ctx context.Context, mailbox string, m Msg, body io.Reader) error {
	if err := e.send(ctx, &Request{Op: "append", Mailbox: mailbox, Msg: &m}); err != nil {
		return err
	}
	if err := writeData(e.w, body); err != nil {
		e.c.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { e.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := e.recv()
	return err
}

// Fetch implements Endpoint. The reader must be read to EOF or closed
// before the next call.
func (e *RemoteEndpoint) Fetch(ctx context.Context, mailbox string, m UIDGUID) (io.ReadCloser, error) {
	if _, err := e.call(ctx, &Request{Op: "fetch", Mailbox: mailbox, Target: &m}); err != nil {
		return nil, err
	}
	return &fetchReader{dataReader{r: e.r, max: e.max}}, nil
}

type fetchReader struct{ dataReader }

func (f *fetchReader) Close() error { return f.drain() }

// SetFlags implements Endpoint.
func (e *RemoteEndpoint) SetFlags(ctx context.Context, mailbox string, changes []FlagChange) ([]uint32, error) {
	r, err := e.call(ctx, &Request{Op: "flags", Mailbox: mailbox, Changes: changes})
	return r.Failed, err
}

// Expunge implements Endpoint.
func (e *RemoteEndpoint) Expunge(ctx context.Context, mailbox string, ms []UIDGUID) error {
	_, err := e.call(ctx, &Request{Op: "expunge", Mailbox: mailbox, Messages: ms})
	return err
}

// SetUIDNext implements Endpoint.
func (e *RemoteEndpoint) SetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	_, err := e.call(ctx, &Request{Op: "uidnext", Mailbox: mailbox, UIDNext: uidNext})
	return err
}

// Renumber implements Endpoint.
func (e *RemoteEndpoint) Renumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	_, err := e.call(ctx, &Request{Op: "renumber", Mailbox: mailbox, UIDValidity: uidValidity, UIDNext: uidNext, UIDs: uids})
	return err
}

// Commit implements Endpoint.
func (e *RemoteEndpoint) Commit(ctx context.Context, gen uint64, subs []string, sieve *SieveBase, cs []Commit) error {
	_, err := e.call(ctx, &Request{Op: "commit", Gen: gen, Subs: subs, SieveBase: sieve, Commits: cs})
	return err
}

// GetScript implements Endpoint.
func (e *RemoteEndpoint) GetScript(ctx context.Context, name string) ([]byte, error) {
	r, err := e.call(ctx, &Request{Op: "getscript", Script: name})
	return r.Text, err
}

// PutScript implements Endpoint.
func (e *RemoteEndpoint) PutScript(ctx context.Context, name string, text []byte) error {
	_, err := e.call(ctx, &Request{Op: "putscript", Script: name, Text: text})
	return err
}

// DeleteScript implements Endpoint.
func (e *RemoteEndpoint) DeleteScript(ctx context.Context, name string) error {
	_, err := e.call(ctx, &Request{Op: "deletescript", Script: name})
	return err
}

// SetActiveScript implements Endpoint.
func (e *RemoteEndpoint) SetActiveScript(ctx context.Context, name string) error {
	_, err := e.call(ctx, &Request{Op: "activescript", Script: name})
	return err
}
