package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/yubinmail/yubin/sieve/sievestore"
)

// Sieve scripts (Pigeonhole's per-user "file" storage, as ManageSieve
// changes them) are synced with the mail when both sides have a
// sievestore.Store for the user (LocalEndpoint.Sieve): a three-way merge
// against the scripts of the last sync, by name and SHA-256.
//
//   - A script changed on one side only takes that side's text; one new
//     on one side is copied; one deleted on one side and unchanged on the
//     other is deleted there (changed there, the change wins and it
//     comes back).
//   - A script changed on both sides to different texts: the newer
//     (file modification time; equal times: the greater SHA-256) wins
//     under its name on both, and the other is kept on both as
//     "<name>-conflict-<first 8 hex of its SHA-256>". Dovecot's dsync
//     syncs Pigeonhole's scripts as mail attributes and keeps only the
//     newer (the attribute with the later change time); keeping the
//     other too loses no user's work.
//   - The active script: a side that changed it since the base wins; if
//     neither did, nothing changes.

// SieveFunc finds a user's Sieve script storage (nil, nil: none).
type SieveFunc func(ctx context.Context, user string) (*sievestore.Store, error)

// SieveScripts is one side's scripts at Begin.
type SieveScripts struct {
	Scripts map[string]SieveScript `json:"scripts"`
	Active  string                 `json:"active,omitempty"`
}

// SieveScript is one script: the SHA-256 of its text (hex) and its
// modification time.
type SieveScript struct {
	SHA256  string    `json:"sha256"`
	ModTime time.Time `json:"mtime"`
}

// SieveBase is the Sieve part of the sync state: each script's SHA-256
// and the active script's name after the last sync.
type SieveBase struct {
	Scripts map[string]string `json:"scripts,omitempty"`
	Active  string            `json:"active,omitempty"`
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// sieveScripts lists a storage's scripts with their sums and times.
func sieveScripts(ctx context.Context, s *sievestore.Store) (*SieveScripts, error) {
	l, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &SieveScripts{Scripts: map[string]SieveScript{}}
	for _, sc := range l {
		b, err := s.Get(ctx, sc.Name)
		if errors.Is(err, sievestore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var mt time.Time
		if fi, err := os.Stat(filepath.Join(s.Dir, sc.Name+sievestore.Suffix)); err == nil {
			mt = fi.ModTime()
		}
		out.Scripts[sc.Name] = SieveScript{SHA256: sum(b), ModTime: mt}
		if sc.Active {
			out.Active = sc.Name
		}
	}
	return out, nil
}

// conflictName is where the losing text of a script changed on both
// sides is kept.
func conflictName(name, sha string) string {
	n := name + "-conflict-" + sha[:8]
	if !sievestore.ValidName(n) {
		n = "conflict-" + sha[:16]
	}
	return n
}

// mergeSieve syncs the scripts and returns the new base (nil when either
// side keeps no scripts: then nothing is synced).
func (s *Syncer) mergeSieve(ctx context.Context, a, b Endpoint, ba, bb BeginResult) (*SieveBase, error) {
	if ba.Sieve == nil || bb.Sieve == nil {
		return nil, nil
	}
	base := ba.SieveBase
	if base == nil {
		base = &SieveBase{}
	}
	sa, sb := ba.Sieve, bb.Sieve
	out := &SieveBase{Scripts: map[string]string{}}
	names := map[string]bool{}
	for _, m := range []map[string]SieveScript{sa.Scripts, sb.Scripts} {
		for n := range m {
			names[n] = true
		}
	}
	for n := range base.Scripts {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var errs []error
	copyScript := func(from, to Endpoint, name, toName string) error {
		text, err := from.GetScript(ctx, name)
		if err != nil {
			return err
		}
		return to.PutScript(ctx, toName, text)
	}
	type del struct {
		e    Endpoint
		name string
	}
	var dels []del
	for _, n := range sorted {
		xa, inA := sa.Scripts[n]
		xb, inB := sb.Scripts[n]
		b0, inBase := base.Scripts[n]
		var err error
		switch {
		case inA && inB && xa.SHA256 == xb.SHA256:
			out.Scripts[n] = xa.SHA256
		case inA && inB && xb.SHA256 == b0 && inBase:
			if err = copyScript(a, b, n, n); err == nil {
				out.Scripts[n] = xa.SHA256
			}
		case inA && inB && xa.SHA256 == b0 && inBase:
			if err = copyScript(b, a, n, n); err == nil {
				out.Scripts[n] = xb.SHA256
			}
		case inA && inB:
			// Changed on both sides: the newer wins, the other is kept.
			win, lose, winX, loseX := a, b, xa, xb
			if xb.ModTime.After(xa.ModTime) || xb.ModTime.Equal(xa.ModTime) && xb.SHA256 > xa.SHA256 {
				win, lose, winX, loseX = b, a, xb, xa
			}
			cn := conflictName(n, loseX.SHA256)
			if err = copyScript(lose, lose, n, cn); err == nil {
				if err = copyScript(lose, win, n, cn); err == nil {
					err = copyScript(win, lose, n, n)
				}
			}
			if err == nil {
				out.Scripts[n] = winX.SHA256
				out.Scripts[cn] = loseX.SHA256
				s.log().Info("replicate: Sieve script changed on both sides; the older kept aside", "script", n, "aside", cn)
			}
		case inA || inB:
			from, to, x := a, b, xa
			if inB {
				from, to, x = b, a, xb
			}
			if inBase && x.SHA256 == b0 {
				dels = append(dels, del{from, n}) // deleted on the other side
				continue
			}
			if err = copyScript(from, to, n, n); err == nil {
				out.Scripts[n] = x.SHA256
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sieve script %s: %w", n, err))
		}
	}
	want := sb.Active
	if sa.Active != base.Active {
		want = sa.Active
	}
	if _, ok := out.Scripts[want]; !ok && want != "" {
		want = "" // its script did not make it to both sides
	}
	out.Active = want
	for _, p := range []struct {
		e   Endpoint
		has string
	}{{a, sa.Active}, {b, sb.Active}} {
		if p.has != want {
			if err := p.e.SetActiveScript(ctx, want); err != nil {
				errs = append(errs, fmt.Errorf("sieve active script %q: %w", want, err))
				out.Active = base.Active
			}
		}
	}
	for _, d := range dels {
		if d.name == out.Active {
			out.Scripts[d.name] = base.Scripts[d.name]
			continue
		}
		if err := d.e.DeleteScript(ctx, d.name); err != nil {
			errs = append(errs, fmt.Errorf("sieve script %s: %w", d.name, err))
			out.Scripts[d.name] = base.Scripts[d.name]
		}
	}
	return out, errors.Join(errs...)
}
