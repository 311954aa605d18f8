package privsep

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/yubinmail/yubin/auth"
)

// DefaultMaxConcurrent is Server.MaxConcurrent's default.
const DefaultMaxConcurrent = 16

// Server answers password checks from one Client over one connection.
type Server struct {
	// DBs are the databases the worker serves, by the names clients
	// ask for. A request for another name is answered temp and logged.
	DBs map[string]auth.PassDB
	// MaxConcurrent bounds the checks run at once; more wait. 0 means
	// DefaultMaxConcurrent.
	MaxConcurrent int
	// Logger receives refused requests and connection errors; nil
	// discards them. Passwords are never logged.
	Logger *slog.Logger
}

// Serve answers the requests read from conn until it is closed or ctx
// ends, and returns nil when the peer closed the connection cleanly. A
// malformed frame ends it with an error.
func (s *Server) Serve(ctx context.Context, conn io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	max := s.MaxConcurrent
	if max <= 0 {
		max = DefaultMaxConcurrent
	}
	sem := make(chan struct{}, max)
	var wmu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var req request
		if err := readFrame(conn, &req); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			log.Error("privsep: reading a request", "err", err)
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp := s.check(ctx, &req, log)
			wmu.Lock()
			err := writeFrame(conn, resp)
			wmu.Unlock()
			if err != nil {
				log.Error("privsep: writing a response", "err", err)
				cancel()
			}
		}()
	}
}

// check runs one request against its database.
func (s *Server) check(ctx context.Context, req *request, log *slog.Logger) *response {
	resp := &response{ID: req.ID, Result: resultTemp}
	db, ok := s.DBs[req.DB]
	if !ok {
		log.Warn("privsep: request for a database this worker does not serve", "db", req.DB)
		return resp
	}
	ci := &auth.ConnInfo{Service: req.Service, RemoteAddr: tcpAddr(req.Remote), LocalAddr: tcpAddr(req.Local)}
	if req.TLS {
		ci.TLS = &tls.ConnectionState{}
	}
	id, err := db.Authenticate(auth.WithConnInfo(ctx, ci), req.User, req.Password)
	switch {
	case err == nil && id != nil:
		resp.Result, resp.User, resp.Fields = resultOK, id.User, id.Fields
	case errors.Is(err, auth.ErrAuthFailed):
		resp.Result = resultFail
	case errors.Is(err, auth.ErrUnknownUser):
		resp.Result = resultUnknown
	default:
		if err != nil && !errors.Is(err, auth.ErrTempFail) {
			log.Warn("privsep: passdb error", "db", req.DB, "err", err)
		}
	}
	return resp
}

// tcpAddr turns "ip:port" back into an address; nil for anything else.
func tcpAddr(s string) net.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
