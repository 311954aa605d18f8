package maildir_test

import (
	"context"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	gomaildir "github.com/emersion/go-maildir"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// The Maildir info letters and the IMAP system flags they stand for
// (Dovecot's mapping; P, "passed", has no IMAP flag).
var flagLetters = map[gomaildir.Flag]store.SystemFlags{
	gomaildir.FlagSeen:    store.Seen,
	gomaildir.FlagReplied: store.Answered,
	gomaildir.FlagFlagged: store.Flagged,
	gomaildir.FlagTrashed: store.Deleted,
	gomaildir.FlagDraft:   store.Draft,
}

// flagSets are the combinations the interop tests write: none, each
// letter alone, all of them.
var flagSets = [][]gomaildir.Flag{
	nil,
	{gomaildir.FlagSeen},
	{gomaildir.FlagReplied},
	{gomaildir.FlagFlagged},
	{gomaildir.FlagTrashed},
	{gomaildir.FlagDraft},
	{gomaildir.FlagDraft, gomaildir.FlagFlagged, gomaildir.FlagReplied, gomaildir.FlagSeen, gomaildir.FlagTrashed},
}

func systemOf(flags []gomaildir.Flag) store.SystemFlags {
	var s store.SystemFlags
	for _, f := range flags {
		s |= flagLetters[f]
	}
	return s
}

// TestGoMaildirWritesYubinReads: a Maildir written by go-maildir, an
// independent implementation (messages created in cur/ with every
// flag combination, and one delivered to new/), is read by yubin with
// the same bytes and flags, and yubin's flag changes are what go-maildir
// then reads.
func TestGoMaildirWritesYubinReads(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "Maildir")
	d := gomaildir.Dir(root)
	require.NoError(t, d.Init())
	want := map[string]store.SystemFlags{} // body -> flags
	for i, fs := range flagSets {
		_, w, err := d.Create(fs)
		require.NoError(t, err)
		body := "Subject: go-maildir " + string(rune('a'+i)) + "\r\n\r\nbody " + string(rune('a'+i)) + "\r\n"
		_, err = io.WriteString(w, body)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		want[body] = systemOf(fs)
	}
	del, err := gomaildir.NewDelivery(root)
	require.NoError(t, err)
	delivered := "Subject: delivered\r\n\r\nto new/\r\n"
	_, err = io.WriteString(del, delivered)
	require.NoError(t, err)
	require.NoError(t, del.Close())
	want[delivered] = 0

	ctx := context.Background()
	s, err := maildir.Open(root, maildir.Options{})
	require.NoError(t, err)
	defer s.Close()
	mb, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	require.NoError(t, err)
	defer mb.Close()
	got := map[string]store.SystemFlags{}
	uids := map[string]uint32{}
	require.NoError(t, mb.Messages(ctx, nil, func(m *store.MessageInfo) error {
		r, err := mb.Open(ctx, m.UID)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		got[string(b)] = m.Flags.System
		uids[string(b)] = m.UID
		return nil
	}))
	require.Equal(t, want, got, "bytes and flags yubin reads from go-maildir's Maildir")

	// yubin flags the delivered message \Seen \Flagged; go-maildir sees it.
	_, _, err = mb.SetFlags(ctx, store.UIDSet{{Start: uids[delivered], Stop: uids[delivered]}}, store.FlagsAdd, store.Flags{System: store.Seen | store.Flagged}, 0)
	require.NoError(t, err)
	msgs, err := d.Messages()
	require.NoError(t, err)
	found := false
	for _, m := range msgs {
		if readAll(t, m) == delivered {
			found = true
			require.ElementsMatch(t, []gomaildir.Flag{gomaildir.FlagFlagged, gomaildir.FlagSeen}, m.Flags())
		}
	}
	require.True(t, found, "go-maildir lost the message yubin flagged")
}

// TestYubinWritesGoMaildirReads: messages yubin appends with every flag
// combination are listed by go-maildir with the same bytes and flag
// letters.
func TestYubinWritesGoMaildirReads(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "Maildir")
	ctx := context.Background()
	s, err := maildir.Open(root, maildir.Options{})
	require.NoError(t, err)
	defer s.Close()
	mb, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	require.NoError(t, err)
	defer mb.Close()
	want := map[string][]gomaildir.Flag{}
	for i, fs := range flagSets {
		body := "Subject: yubin " + string(rune('a'+i)) + "\r\n\r\nbody\r\n"
		_, err := mb.Append(ctx, strings.NewReader(body), store.AppendOptions{Flags: store.Flags{System: systemOf(fs)}})
		require.NoError(t, err)
		want[body] = sortedFlags(fs)
	}
	// A go-maildir reader takes what is in new/ first (Unseen moves it
	// to cur/), then lists cur/.
	_, err = gomaildir.Dir(root).Unseen()
	require.NoError(t, err)
	msgs, err := gomaildir.Dir(root).Messages()
	require.NoError(t, err)
	got := map[string][]gomaildir.Flag{}
	for _, m := range msgs {
		got[readAll(t, m)] = sortedFlags(m.Flags())
	}
	require.Equal(t, want, got, "bytes and flags go-maildir reads from yubin's Maildir")
	// go-maildir moved the flagless message from new/ to cur/: for yubin
	// it is the same message, not an expunge and a new one.
	changes, err := mb.Poll(ctx)
	require.NoError(t, err)
	require.Empty(t, changes, "yubin saw changes after go-maildir read its Maildir")
	st, err := mb.Status(ctx)
	require.NoError(t, err)
	require.EqualValues(t, len(flagSets), st.Messages)
	require.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)))
}

func sortedFlags(fs []gomaildir.Flag) []gomaildir.Flag {
	out := append([]gomaildir.Flag{}, fs...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) == 0 {
		return []gomaildir.Flag{}
	}
	return out
}

func readAll(t *testing.T, m *gomaildir.Message) string {
	t.Helper()
	r, err := m.Open()
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}
