package auth

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStaticUserDBVariables: the templates, parsed once, still expand
// per user and per connection (%{rip}, %s), literals stay as written,
// and "%%" is a literal "%".
func TestStaticUserDBVariables(t *testing.T) {
	s := &StaticUserDB{AllowAllUsers: true, Fields: map[string]string{
		"home": "/var/mail/%d/%n", "mail": "maildir:~/Maildir", "from": "%{rip}/%s", "pct": "100%%"}}
	ctx := WithConnInfo(context.Background(), &ConnInfo{Service: "lmtp",
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000},
		LocalAddr:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 24}})
	for _, name := range []string{"joe@example.jp", "ann@example.org", "bare"} {
		u, err := s.LookupUser(ctx, name)
		require.NoError(t, err)
		wantHome := map[string]string{"joe@example.jp": "/var/mail/example.jp/joe",
			"ann@example.org": "/var/mail/example.org/ann", "bare": "/var/mail//bare"}[name]
		require.Equal(t, wantHome, u.Home, name)
		require.Equal(t, "maildir:~/Maildir", u.MailLocation)
		require.Equal(t, "192.0.2.7/lmtp", u.Fields["from"])
		require.Equal(t, "100%", u.Fields["pct"])
	}
	// Without a connection the connection's variables are empty.
	u, err := s.LookupUser(context.Background(), "joe@example.jp")
	require.NoError(t, err)
	require.Equal(t, "/", u.Fields["from"])
}

// TestStaticUserDBBadTemplate: a template with a syntax error fails
// every lookup with ErrBadTemplate, not only the first.
func TestStaticUserDBBadTemplate(t *testing.T) {
	s := &StaticUserDB{AllowAllUsers: true, Fields: map[string]string{"home": "/h/%{nosuchvar}"}}
	for range 2 {
		_, err := s.LookupUser(context.Background(), "joe@example.jp")
		require.True(t, errors.Is(err, ErrBadTemplate), "err = %v", err)
	}
}

// TestStaticUserDBAllocs: a lookup whose templates use only the user's
// name does not parse them again nor build the connection's variables.
func TestStaticUserDBAllocs(t *testing.T) {
	s := &StaticUserDB{AllowAllUsers: true, Fields: map[string]string{"mail": "maildir:/var/mail/%d/%n/Maildir"}}
	ctx := WithConnInfo(context.Background(), &ConnInfo{Service: "lmtp",
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}})
	_, err := s.LookupUser(ctx, "joe@example.jp")
	require.NoError(t, err)
	n := testing.AllocsPerRun(100, func() { s.LookupUser(ctx, "joe@example.jp") })
	// The fields map, the expanded value, the User and the closure;
	// parsing again and the connection's variables made 18.
	require.LessOrEqual(t, n, 6.0)
}
