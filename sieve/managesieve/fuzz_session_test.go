package managesieve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// memScripts is an in-memory Scripts with sievestore's rules, for the
// session fuzzer.
type memScripts struct {
	mu      sync.Mutex
	scripts map[string][]byte
	active  string
}

func (m *memScripts) List(ctx context.Context) ([]sievestore.Script, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sievestore.Script
	for n, b := range m.scripts {
		out = append(out, sievestore.Script{Name: n, Size: int64(len(b)), Active: n == m.active})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memScripts) Get(ctx context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.scripts[name]
	if !ok {
		return nil, sievestore.ErrNotFound
	}
	return b, nil
}

func (m *memScripts) Put(ctx context.Context, name string, script []byte) error {
	if err := m.HaveSpace(ctx, name, int64(len(script))); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scripts[name] = script
	return nil
}

func (m *memScripts) HaveSpace(ctx context.Context, name string, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[name]; !ok && len(m.scripts) >= 5 {
		return &sievestore.QuotaError{Kind: sievestore.QuotaMaxScripts, Limit: 5}
	}
	return nil
}

func (m *memScripts) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[name]; !ok {
		return sievestore.ErrNotFound
	}
	if m.active == name {
		return sievestore.ErrActive
	}
	delete(m.scripts, name)
	return nil
}

func (m *memScripts) Rename(ctx context.Context, oldName, newName string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.scripts[oldName]
	if !ok {
		return sievestore.ErrNotFound
	}
	if _, ok := m.scripts[newName]; ok {
		return sievestore.ErrExists
	}
	delete(m.scripts, oldName)
	m.scripts[newName] = b
	if m.active == oldName {
		m.active = newName
	}
	return nil
}

func (m *memScripts) SetActive(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[name]; name != "" && !ok {
		return sievestore.ErrNotFound
	}
	m.active = name
	return nil
}

// panicCatcher is a slog handler that records "panic" log records.
type panicCatcher struct {
	slog.Handler
	mu  *sync.Mutex
	got *[]string
}

func (p panicCatcher) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		var msg string
		r.Attrs(func(a slog.Attr) bool { msg += a.String() + " "; return true })
		p.mu.Lock()
		*p.got = append(*p.got, msg)
		p.mu.Unlock()
	}
	return nil
}

// FuzzSession runs whole sessions of arbitrary client bytes through a
// server over a pipe: no panic (the session recovers and logs one,
// which fails the fuzzer), and every session ends once the input does.
func FuzzSession(f *testing.F) {
	login := `AUTHENTICATE "PLAIN" "` + plainResp("u", "pw") + `"` + "\r\n"
	for _, s := range []string{
		"CAPABILITY\r\nLOGOUT\r\n",
		login + "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nSETACTIVE \"a\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"a\"\r\n",
		login + "RENAMESCRIPT \"a\" \"b\"\r\nDELETESCRIPT \"b\"\r\nHAVESPACE \"x\" 10\r\nNOOP \"t\"\r\nUNAUTHENTICATE\r\n",
		"AUTHENTICATE \"PLAIN\"\r\n\"" + plainResp("u", "pw") + "\"\r\nCHECKSCRIPT {6+}\r\nerror;\r\n",
		login + "PUTSCRIPT \"big\" {2000+}\r\n",
		"STARTTLS\r\nAUTHENTICATE \"PLAIN\" {3}\r\nabc\r\n",
	} {
		f.Add([]byte(s))
	}
	var mu sync.Mutex
	var panics []string
	srv := &Server{
		Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1},
		Backend: BackendFunc(func(ctx context.Context, id *auth.Identity) (Scripts, error) {
			return &memScripts{scripts: map[string][]byte{}}, nil
		}),
		Check:            plainCheck,
		Logger:           slog.New(panicCatcher{Handler: slog.DiscardHandler, mu: &mu, got: &panics}),
		MaxScriptSize:    1000,
		MaxLineLength:    512,
		IdleTimeout:      2 * time.Second,
		LoginTimeout:     2 * time.Second,
		MaxLoginCommands: 1000,
	}
	srv.init()
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, c2 := net.Pipe()
		s := newSession(srv, c1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serve()
		}()
		go io.Copy(io.Discard, c2)
		c2.SetWriteDeadline(time.Now().Add(2 * time.Second))
		c2.Write(data)
		c2.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end after the input ended")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(panics) > 0 {
			t.Fatalf("panic in session: %v\ninput %q", panics, data)
		}
	})
}
