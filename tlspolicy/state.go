package tlspolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxStateSize bounds what Recorder.Load and STS.Load read.
const MaxStateSize = 16 << 20

// recorderState is what Recorder.Save writes.
type recorderState struct {
	Start    time.Time
	Policies []PolicyCounts
}

// Save writes the counts of the current period as JSON, so that a
// restart does not lose them (Load reads them back). The period goes
// on.
func (r *Recorder) Save(w io.Writer) error {
	p := r.Peek()
	return json.NewEncoder(w).Encode(recorderState{Start: p.Start, Policies: p.Policies})
}

// Load adds the counts a Save wrote to the current period, whose start
// becomes the earlier of the two. The Recorder's limits apply; a state
// that does not parse, or is larger than MaxStateSize, is an error and
// adds nothing.
func (r *Recorder) Load(rd io.Reader) error {
	var st recorderState
	if err := decodeState(rd, &st); err != nil {
		return fmt.Errorf("tlspolicy: TLS-RPT counts: %w", err)
	}
	for _, c := range st.Policies {
		if c.Success < 0 || c.Failure < 0 {
			return errors.New("tlspolicy: TLS-RPT counts: negative count")
		}
		for _, f := range c.Failures {
			if f.Count < 0 {
				return errors.New("tlspolicy: TLS-RPT counts: negative count")
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range st.Policies {
		e := r.entry(c.Policy)
		if e == nil {
			break
		}
		e.Success += c.Success
		e.Failure += c.Failure
		for _, f := range c.Failures {
			r.addFailure(e, f.Failure, f.Count)
		}
	}
	if !st.Start.IsZero() && (r.start.IsZero() || st.Start.Before(r.start)) {
		r.start = st.Start
	}
	return nil
}

// stsState is one cached policy as STS.Save writes it.
type stsState struct {
	Domain  string
	ID      string
	Policy  string // the policy text, parsed again by Load
	Fetched time.Time
	Expires time.Time
}

// Save writes the cached policies as JSON, so that a restart keeps them
// (RFC 8461 5.1: a sender caches a policy for its max_age; losing it
// would let an attacker who blocks the fetch downgrade the next
// deliveries). Load reads them back.
func (s *STS) Save(w io.Writer) error {
	s.mu.Lock()
	out := make([]stsState, 0, len(s.cache))
	for d, e := range s.cache {
		out = append(out, stsState{Domain: d, ID: e.id, Policy: strings.Join(e.policy.Text, "\n"), Fetched: e.fetched, Expires: e.expires})
	}
	s.mu.Unlock()
	return json.NewEncoder(w).Encode(out)
}

// Load adds the policies a Save wrote to the cache: each is parsed again
// (ParseSTSPolicy), and those that expired or do not parse are left out.
// A state larger than MaxStateSize or that is not such JSON is an error.
func (s *STS) Load(r io.Reader) error {
	var st []stsState
	if err := decodeState(r, &st); err != nil {
		return fmt.Errorf("tlspolicy: MTA-STS cache: %w", err)
	}
	now := s.now()
	for _, e := range st {
		d := normalizeHost(e.Domain)
		if d == "" || len(d) > 253 || e.ID == "" || len(e.ID) > 32 || !now.Before(e.Expires) {
			continue
		}
		p, err := ParseSTSPolicy([]byte(e.Policy))
		if err != nil {
			continue
		}
		// Never longer than the policy's own max_age from now.
		exp := e.Expires
		if lim := now.Add(p.MaxAge); exp.After(lim) {
			exp = lim
		}
		s.store(d, &stsEntry{id: e.ID, policy: p, fetched: e.Fetched, expires: exp})
	}
	return nil
}

func decodeState(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxStateSize+1))
	if err != nil {
		return err
	}
	if len(b) > MaxStateSize {
		return fmt.Errorf("larger than %d bytes", MaxStateSize)
	}
	return json.Unmarshal(b, v)
}
