package imap

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sortModel is a client's copy of a sorted context's result, kept by
// applying ESEARCH ADDTO/REMOVEFROM (in order, RFC 5267 4.3.2) and, for
// sequence numbers, EXPUNGE.
type sortModel struct {
	t    *testing.T
	tag  string
	uid  bool
	list []uint32
}

var esearchUpdateRE = regexp.MustCompile(`^\* ESEARCH \(TAG "([^"]+)"\)( UID)?((?: (?:ADDTO|REMOVEFROM) \([^)]*\))+)$`)
var updateItemRE = regexp.MustCompile(`(ADDTO|REMOVEFROM) \(([^)]*)\)`)
var expungeRE = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)

func parseOrderedSet(t *testing.T, s string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		a, b, rng := strings.Cut(part, ":")
		x, err1 := strconv.ParseUint(a, 10, 32)
		y := x
		var err2 error
		if rng {
			y, err2 = strconv.ParseUint(b, 10, 32)
		}
		if err1 != nil || err2 != nil || y < x {
			t.Fatalf("bad set %q", s)
		}
		for v := x; v <= y; v++ {
			out = append(out, uint32(v))
		}
	}
	return out
}

// apply folds the untagged lines into the model; it returns the number
// of updates for the model's tag.
func (m *sortModel) apply(lines []string) int {
	n := 0
	for _, l := range lines {
		if e := expungeRE.FindStringSubmatch(l); e != nil && !m.uid {
			s, _ := strconv.Atoi(e[1])
			for i, v := range m.list {
				if v == uint32(s) {
					m.t.Fatalf("EXPUNGE %d of a message still in the context %v", s, m.list)
				}
				if v > uint32(s) {
					m.list[i]--
				}
			}
			continue
		}
		g := esearchUpdateRE.FindStringSubmatch(l)
		if g == nil || g[1] != m.tag {
			if strings.HasPrefix(l, "* ESEARCH") && strings.Contains(l, `"`+m.tag+`"`) {
				m.t.Fatalf("malformed update %q", l)
			}
			continue
		}
		if (g[2] != "") != m.uid {
			m.t.Fatalf("UID form changed: %q", l)
		}
		n++
		for _, it := range updateItemRE.FindAllStringSubmatch(g[3], -1) {
			f := strings.Fields(it[2])
			if len(f)%2 != 0 {
				m.t.Fatalf("odd pairs in %q", l)
			}
			for i := 0; i < len(f); i += 2 {
				pos, _ := strconv.Atoi(f[i])
				set := parseOrderedSet(m.t, f[i+1])
				if it[1] == "REMOVEFROM" {
					for _, v := range set {
						at := slices.Index(m.list, v)
						if at < 0 || at != pos-1 {
							m.t.Fatalf("REMOVEFROM (%d %d): at %d in %v (%q)", pos, v, at+1, m.list, l)
						}
						m.list = slices.Delete(m.list, at, at+1)
					}
					continue
				}
				if pos < 1 || pos-1 > len(m.list) {
					m.t.Fatalf("ADDTO at %d of %d (%q)", pos, len(m.list), l)
				}
				m.list = slices.Insert(m.list, pos-1, set...)
			}
		}
	}
	return n
}

func sortNumbers(t *testing.T, line string) []uint32 {
	f := strings.Fields(strings.TrimPrefix(line, "* SORT"))
	out := make([]uint32, len(f))
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			t.Fatalf("SORT line %q", line)
		}
		out[i] = uint32(v)
	}
	return out
}

// TestContextSort keeps sorted contexts (UID and sequence-number forms,
// over ALL and over a search) while a second session appends and
// expunges; after every change the client's copy, updated only from
// ADDTO/REMOVEFROM and EXPUNGE, equals a fresh SORT. Dovecot 2.3 has no
// CONTEXT=SORT, so this checks RFC 5267's rules, not Dovecot.
func TestContextSort(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	rnd := rand.New(rand.NewPCG(3, 4))
	next := 0
	appendN := randomAppender(b, rnd, &next)
	appendN(20)
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	if caps := strings.Join(a.ok("CAPABILITY"), " "); !strings.Contains(caps, " CONTEXT=SORT") {
		t.Fatalf("CONTEXT=SORT not advertised: %s", caps)
	}
	type ctx struct {
		m     *sortModel
		fresh string
	}
	var ctxs []ctx
	for _, spec := range []struct{ pre, prog, keys string }{
		{"UID ", "(DATE)", "ALL"},
		{"", "(REVERSE DATE)", "ALL"},
		{"UID ", "(FROM REVERSE SIZE)", "SUBJECT re"},
		{"", "(SUBJECT)", "NOT FROM u1"},
	} {
		got := a.ok(spec.pre + "SORT RETURN (ALL UPDATE) " + spec.prog + " UTF-8 " + spec.keys)
		tag := "t" + strconv.Itoa(a.n)
		m := &sortModel{t: t, tag: tag, uid: spec.pre != ""}
		if len(got) != 1 {
			t.Fatalf("%s: %q", spec.prog, got)
		}
		if _, all, ok := strings.Cut(got[0], " ALL "); ok {
			m.list = parseOrderedSet(t, all)
		}
		ctxs = append(ctxs, ctx{m, spec.pre + "SORT " + spec.prog + " UTF-8 " + spec.keys})
	}
	check := func(round int, lines []string) {
		for _, c := range ctxs {
			c.m.apply(lines)
		}
		for _, c := range ctxs {
			lines, st := a.cmd(c.fresh)
			if !strings.HasPrefix(st, "OK") || len(lines) != 1 {
				t.Fatalf("%s: %s %q", c.fresh, st, lines)
			}
			if want := sortNumbers(t, lines[0]); !slices.Equal(c.m.list, want) {
				t.Fatalf("round %d, %s: context %v, fresh %v", round, c.fresh, c.m.list, want)
			}
		}
	}
	updates := 0
	for round := 1; round <= 15; round++ {
		appendN(rnd.IntN(4))
		if rnd.IntN(2) == 0 {
			for i := 0; i < 1+rnd.IntN(3); i++ {
				b.ok(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", 1+rnd.IntN(next)))
			}
			b.ok("EXPUNGE")
		}
		lines := a.ok("NOOP")
		updates += ctxs[0].m.countOnly(lines)
		check(round, lines)
	}
	if updates == 0 {
		t.Fatal("no update was sent")
	}
	// This session's own expunge: REMOVEFROM before the EXPUNGE.
	a.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
	lines := a.ok("EXPUNGE")
	if i, j := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "REMOVEFROM") }), slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, " EXPUNGE") }); i < 0 || j < 0 || i > j {
		t.Fatalf("own EXPUNGE: %q", lines)
	}
	check(99, lines)
	// CANCELUPDATE ends a context.
	a.ok(`CANCELUPDATE "` + ctxs[0].m.tag + `"`)
	appendN(2)
	for _, l := range noopUntil(a) {
		if strings.Contains(l, `"`+ctxs[0].m.tag+`"`) {
			t.Fatalf("update after CANCELUPDATE: %q", l)
		}
	}
}

// countOnly counts the updates for the model's tag in lines.
func (m *sortModel) countOnly(lines []string) int {
	n := 0
	for _, l := range lines {
		if g := esearchUpdateRE.FindStringSubmatch(l); g != nil && g[1] == m.tag {
			n++
		}
	}
	return n
}

// At most maxSortContexts sorted contexts per selection: the next gets
// NOUPDATE.
func TestContextSortLimit(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: a\r\n\r\nx\r\n")
	a.ok("SELECT INBOX")
	for i := 0; i < maxSortContexts; i++ {
		if got := a.ok("SORT RETURN (UPDATE) (DATE) UTF-8 ALL"); len(got) != 1 {
			t.Fatalf("context %d: %q", i, got)
		}
	}
	got := a.ok("SORT RETURN (UPDATE) (DATE) UTF-8 ALL")
	if len(got) != 2 || !strings.HasPrefix(got[1], `* NO [NOUPDATE "t`) {
		t.Fatalf("over the limit: %q", got)
	}
}
