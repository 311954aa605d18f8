package maildir

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// The subscriptions file (FORMATS.md 1.10): "V\t2\n\n", then one name per
// line, its levels in modified UTF-7 joined by TAB, each level escaped
// with \x01 ('1' \x01, 't' TAB, 'r' CR, 'n' LF, '0' NUL).

var subsEscaper = strings.NewReplacer("\x01", "\x011", "\t", "\x01t", "\r", "\x01r", "\n", "\x01n", "\x00", "\x010")
var subsUnescaper = strings.NewReplacer("\x011", "\x01", "\x01t", "\t", "\x01r", "\r", "\x01n", "\n", "\x010", "\x00")

func formatSubscription(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = subsEscaper.Replace(mutf7.Encode(l))
	}
	return strings.Join(levels, "\t")
}

func parseSubscriptions(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "V\t") {
				continue
			}
		}
		if line == "" {
			continue
		}
		levels := strings.Split(line, "\t")
		ok := true
		for i, l := range levels {
			d, err := mutf7.Decode(subsUnescaper.Replace(l))
			if err != nil {
				ok = false
				break
			}
			levels[i] = d
		}
		name := store.CanonicalName(strings.Join(levels, "/"))
		if ok && store.ValidateName(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.root, "subscriptions"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	return parseSubscriptions(data), nil
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(ctx, name, true)
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, name string) error {
	return s.editSubscriptions(ctx, name, false)
}

func (s *Store) editSubscriptions(ctx context.Context, name string, add bool) error {
	name = store.CanonicalName(name)
	if err := store.ValidateName(name); err != nil {
		return err
	}
	path := filepath.Join(s.root, "subscriptions")
	l, err := s.lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer l.unlock()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("maildir: %w", err)
	}
	names := parseSubscriptions(data)
	var out []string
	found := false
	for _, n := range names {
		if n == name {
			found = true
			if !add {
				continue
			}
		}
		out = append(out, n)
	}
	if add == found {
		return nil
	}
	if add {
		out = append(out, name)
	}
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, n := range out {
		b.WriteString(formatSubscription(n))
		b.WriteByte('\n')
	}
	return s.writeFileAtomic(path, []byte(b.String()), false)
}
