package table

import "testing"

func FuzzSQLTableConfig(f *testing.F) {
	f.Add("query = SELECT goto FROM alias WHERE address='%s' AND d = %d\n  AND x = \"%1\"\nresult_format = %u+%D\n", "user@mail.example.com")
	f.Add("select_field = a\ntable = t\nwhere_field = k\n", "'; --")
	f.Fuzz(func(t *testing.T, cf, key string) {
		m, err := ParseConfigFile([]byte(cf), "fuzz")
		if err != nil {
			return
		}
		tb, err := newSQLTable("fuzz", "fuzz", m, func(int) string { return "?" }, Options{})
		if err != nil {
			return
		}
		k := splitKeyParts(key)
		for _, a := range tb.q.args {
			expandPercent(a, k, k)
		}
		tb.result([]string{key, "a@b.c", ""}, k)
	})
}
