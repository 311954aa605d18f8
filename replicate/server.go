package replicate

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Server answers a partner's syncs (the doveadm_port listener of a
// Dovecot replica pair). Each connection authenticates with the shared
// secret, names a user, and runs one sync as the partner's Syncer drives
// it against a LocalEndpoint of that user.
type Server struct {
	Backend store.Backend
	States  *StateStore
	// Partner, when set, is the name the States of the syncs the
	// partner drives are filed under: set it to the Partner of this
	// server's own Replicator toward that partner, so that syncs driven
	// from either side continue one State. Empty: the name the partner
	// gives (its Dialer.Partner). Two States per user, one per direction,
	// are not a safe base: a sync driven by one side would take what the
	// other direction deleted since for new, and copy it back.
	Partner string
	// Secret is the shared secret (doveadm_password); empty refuses
	// every connection.
	Secret string
	// TLSConfig, when set, wraps accepted connections in TLS.
	TLSConfig *tls.Config
	// Locks serialises syncs of one user with the local Replicator
	// (nil: a private set).
	Locks *UserLocks
	// MaxFrame bounds a frame (DefaultMaxFrame when 0); MaxMessageSize
	// a message received (0: the store's limit only).
	MaxFrame       int
	MaxMessageSize int64
	// Sieve, when set, finds a user's Sieve script storage, so scripts
	// are synced too (a user without one: return nil).
	Sieve SieveFunc
	// IdleTimeout ends a connection silent that long (10 min when 0).
	IdleTimeout time.Duration
	Logger      *slog.Logger

	mu     sync.Mutex
	lns    []net.Listener
	closed bool
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve accepts partner connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.Locks == nil {
		s.Locks = &UserLocks{}
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		if s.TLSConfig != nil {
			c = tls.Server(c, s.TLSConfig)
		}
		go s.serveConn(c)
	}
}

// Shutdown stops the listeners; syncs in progress end with their
// connections (a sync is safe to cut anywhere).
func (s *Server) Shutdown(ctx context.Context) error { return s.Close() }

// Close stops the listeners.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	return nil
}

type serverConn struct {
	s   *Server
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	max int
}

func (sc *serverConn) respond(resp Response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	if err := writeFrame(sc.w, frameResponse, b); err != nil {
		return err
	}
	return sc.w.Flush()
}

func (sc *serverConn) next() (*Request, error) {
	idle := sc.s.IdleTimeout
	if idle == 0 {
		idle = 10 * time.Minute
	}
	sc.c.SetReadDeadline(time.Now().Add(idle))
	kind, p, err := readFrame(sc.r, sc.max)
	if err != nil {
		return nil, err
	}
	if kind != frameRequest {
		return nil, errFrame
	}
	return decodeRequest(p)
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	max := s.MaxFrame
	if max == 0 {
		max = DefaultMaxFrame
	}
	sc := &serverConn{s: s, c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10), max: max}
	log := s.log().With("remote", c.RemoteAddr().String())
	q, err := sc.next()
	if err != nil || q.Op != "hello" {
		log.Warn("replicate: bad hello from partner", "err", err)
		return
	}
	if s.Secret == "" || subtle.ConstantTimeCompare([]byte(q.Secret), []byte(s.Secret)) != 1 {
		log.Warn("replicate: partner gave a wrong secret")
		time.Sleep(500 * time.Millisecond)
		sc.respond(Response{Err: codeAuth})
		return
	}
	if err := sc.respond(Response{}); err != nil {
		return
	}
	q, err = sc.next()
	if err != nil || q.Op != "user" || q.User == "" || q.Partner == "" {
		log.Warn("replicate: bad user request", "err", err)
		sc.respond(Response{Err: codeInvalid})
		return
	}
	user, partner := q.User, q.Partner
	if s.Partner != "" {
		partner = s.Partner
	}
	if !s.Locks.TryLock(user) {
		sc.respond(Response{Err: codeBusy})
		return
	}
	defer s.Locks.Unlock(user)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := s.Backend.Open(ctx, user)
	if err != nil {
		sc.respond(Response{Err: errCode(err)})
		return
	}
	defer st.Close()
	e := &LocalEndpoint{Store: st, States: s.States, Partner: partner, User: user, MaxMessageSize: s.MaxMessageSize}
	if s.Sieve != nil {
		if e.Sieve, err = s.Sieve(ctx, user); err != nil {
			log.Warn("replicate: Sieve storage not found; scripts not synced", "user", user, "err", err)
		}
	}
	if err := sc.respond(Response{}); err != nil {
		return
	}
	log = log.With("user", user)
	for {
		q, err := sc.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("replicate: partner sent a bad request; connection closed", "err", err)
				sc.respond(Response{Err: codeInvalid})
			}
			return
		}
		resp, err := sc.call(ctx, e, q)
		if errors.Is(err, errAnswered) {
			continue
		}
		if err != nil {
			if errors.Is(err, errFrame) || errors.Is(err, io.ErrUnexpectedEOF) {
				log.Warn("replicate: bad message data from partner", "err", err)
				return
			}
			code := errCode(err)
			if code == codeInternal || code == codeInvalid || code == codeTooBig {
				log.Warn("replicate: request failed", "op", q.Op, "mailbox", q.Mailbox, "err", err)
			}
			resp = Response{Err: code}
		}
		if err := sc.respond(resp); err != nil {
			return
		}
	}
}

// call runs one request against the endpoint.
func (sc *serverConn) call(ctx context.Context, e *LocalEndpoint, q *Request) (Response, error) {
	switch q.Op {
	case "gens":
		g, err := e.Gens(ctx)
		return Response{Gens: g}, err
	case "begin":
		b, err := e.Begin(ctx, q.Gen)
		return Response{Begin: &b}, err
	case "diff":
		d, err := e.Diff(ctx, q.Mailbox, q.Full)
		return Response{Diff: &d}, err
	case "hash":
		h, err := e.Hash(ctx, q.Mailbox, q.IDs)
		return Response{Hashes: h}, err
	case "create":
		return Response{}, e.CreateMailbox(ctx, q.Mailbox, q.SpecialUse)
	case "delete":
		return Response{}, e.DeleteMailbox(ctx, q.Mailbox)
	case "subscribe":
		return Response{}, e.Subscribe(ctx, q.Mailbox, q.On)
	case "rename":
		return Response{}, e.RenameMailbox(ctx, q.Mailbox, q.NewName)
	case "renamestate":
		return Response{}, e.RenameState(ctx, q.Renames)
	case "specialuse":
		return Response{}, e.SetSpecialUse(ctx, q.Mailbox, q.SpecialUse)
	case "append":
		dr := &dataReader{r: sc.r, max: sc.max}
		err := e.Append(ctx, q.Mailbox, *q.Msg, dr)
		// Drain what the store did not read, so the stream stays in step.
		if derr := dr.drain(); derr != nil {
			return Response{}, derr
		}
		return Response{}, err
	case "fetch":
		rd, err := e.Fetch(ctx, q.Mailbox, *q.Target)
		if err != nil {
			return Response{}, err
		}
		defer rd.Close()
		if err := sc.respond(Response{}); err != nil {
			return Response{}, err
		}
		if err := writeData(sc.w, rd); err != nil {
			return Response{}, errFrame
		}
		if err := sc.w.Flush(); err != nil {
			return Response{}, errFrame
		}
		return Response{}, errAnswered
	case "flags":
		f, err := e.SetFlags(ctx, q.Mailbox, q.Changes)
		return Response{Failed: f}, err
	case "expunge":
		return Response{}, e.Expunge(ctx, q.Mailbox, q.Messages)
	case "uidnext":
		return Response{}, e.SetUIDNext(ctx, q.Mailbox, q.UIDNext)
	case "renumber":
		return Response{}, e.Renumber(ctx, q.Mailbox, q.UIDValidity, q.UIDNext, q.UIDs)
	case "commit":
		return Response{}, e.Commit(ctx, q.Gen, q.Subs, q.SieveBase, q.Commits)
	case "getscript":
		t, err := e.GetScript(ctx, q.Script)
		return Response{Text: t}, err
	case "putscript":
		return Response{}, e.PutScript(ctx, q.Script, q.Text)
	case "deletescript":
		return Response{}, e.DeleteScript(ctx, q.Script)
	case "activescript":
		return Response{}, e.SetActiveScript(ctx, q.Script)
	}
	return Response{}, ErrInvalidRequest
}

// errAnswered: call has written its response (and data) itself.
var errAnswered = errors.New("answered")

// writeData sends r as data frames and an end frame.
func writeData(w io.Writer, r io.Reader) error {
	buf := make([]byte, dataChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := writeFrame(w, frameData, buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return writeFrame(w, frameEnd, nil)
		}
		if err != nil {
			return err
		}
	}
}

// dataReader reads message bytes from data frames up to the end frame.
type dataReader struct {
	r    *bufio.Reader
	max  int
	buf  []byte
	done bool
	err  error
}

func (d *dataReader) Read(p []byte) (int, error) {
	for len(d.buf) == 0 {
		if d.done {
			return 0, io.EOF
		}
		if d.err != nil {
			return 0, d.err
		}
		kind, b, err := readFrame(d.r, d.max)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.err = err
			return 0, err
		}
		switch kind {
		case frameData:
			d.buf = b
		case frameEnd:
			d.done = true
		default:
			d.err = errFrame
			return 0, errFrame
		}
	}
	n := copy(p, d.buf)
	d.buf = d.buf[n:]
	return n, nil
}

func (d *dataReader) drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}
