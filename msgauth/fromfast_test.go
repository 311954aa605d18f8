package msgauth

import "testing"

// FuzzSimpleFromDomain: where the fast path answers, the full parse
// (net/mail, then the bare-angle fallback) gives the same one domain.
func FuzzSimpleFromDomain(f *testing.F) {
	for _, s := range []string{"Alice <alice@example.test>", "alice@example.test", "<a@b.c>", "A B <a.b@c.d.>", `"q" <a@b>`, "a@b, c@d",
		"Ünï <a@b.c>", "a..b@c.d", "a@[1.2.3.4]", "<a@b.c> x", "a b@c.d", ".a@b.c", "a@.b.c", "A\t<a@EXAMPLE.test>", "a@b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		fast := simpleFromDomain(v)
		if fast == "" {
			return
		}
		doms, ok := parseFromDomains(v)
		if !ok || len(doms) != 1 || doms[0] != fast {
			t.Fatalf("%q: fast path %q, full parse %q (%v)", v, fast, doms, ok)
		}
	})
}
