package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/yubinmail/yubin/config"
)

// loaded is a configuration as read, with what check reports besides
// errors.
type loaded struct {
	cfg         *config.Config         // nil when there are errors
	file        string                 // the main.cf read, or "(embedded defaults)"
	dovecot     string                 // the dovecot.conf read, or ""
	dovecotRoot *config.DovecotSection // its contents
	warns       []*config.Error
}

// loadAll reads main.cf and the dovecot.conf beside it (or the one
// dovecot_config_file names): dovecot.conf's settings first, main.cf's
// over them. Every error of both files is returned at once; the result
// is never nil.
func loadAll(o *options) (*loaded, error) {
	schema := newSchema()
	cfg, file, err := loadMain(o, schema, nil)
	ld := &loaded{cfg: cfg, file: file}
	path, explicit := dovecotPath(cfg, file, o)
	if path == "" || (!explicit && !fileExists(path)) {
		if err == nil {
			ld.cfg, err = withMailname(o, schema, nil, cfg, &ld.warns)
		}
		return ld, err
	}
	ld.dovecot = path
	d := readDovecotConf(path, schema)
	ld.warns, ld.dovecotRoot = d.warns, d.root
	cfg2, _, err2 := loadMain(o, schema, d.settings)
	var errs config.ErrorList
	errs = append(errs, d.errs...)
	var el config.ErrorList
	if errors.As(err2, &el) {
		errs = append(errs, el...)
	} else if err2 != nil {
		errs = append(errs, &config.Error{Msg: err2.Error()})
	}
	if len(errs) > 0 {
		ld.cfg = nil
		return ld, dedupeErrors(errs)
	}
	if ld.cfg, err = withMailname(o, schema, d.settings, cfg2, &ld.warns); err != nil {
		return ld, err
	}
	ld.warns = append(ld.warns, overridden(cfg2, d.settings)...)
	return ld, nil
}

// dovecotPath is the dovecot.conf to read: dovecot_config_file, else
// dovecot.conf beside main.cf (beside the data directory's place for it
// when there is no main.cf). explicit says the file must exist.
func dovecotPath(cfg *config.Config, file string, o *options) (path string, explicit bool) {
	if cfg != nil && cfg.Get("dovecot_config_file") != "" {
		return cfg.Get("dovecot_config_file"), true
	}
	if file == "(embedded defaults)" {
		data := o.data
		if data == "" {
			data = "./yubin-data"
		}
		return filepath.Join(data, "dovecot.conf"), false
	}
	return filepath.Join(filepath.Dir(file), "dovecot.conf"), false
}

// overridden warns about dovecot.conf settings that main.cf overrides.
func overridden(cfg *config.Config, from []config.Setting) []*config.Error {
	var out []*config.Error
	own := map[config.Pos]bool{}
	for _, st := range from {
		own[st.Pos] = true
	}
	for _, st := range from {
		v := cfg
		if st.Service != "" {
			v = cfg.Service(st.Service)
		}
		if p := v.Pos(st.Name); p != st.Pos && p.File != "" && !own[p] {
			out = append(out, &config.Error{Pos: st.Pos, Msg: fmt.Sprintf("%s: overridden by %s", st.Key(), p)})
		}
	}
	return out
}

// dedupeErrors sorts errors by place and drops repeats (a dovecot.conf
// value reported by both reads).
func dedupeErrors(errs config.ErrorList) config.ErrorList {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Pos, errs[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	seen := map[string]bool{}
	var out config.ErrorList
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// printWarnings writes the warnings of reading the files, as check
// prints them, and returns how many.
func (ld *loaded) printWarnings(w io.Writer) int {
	for _, e := range ld.warns {
		io.WriteString(w, "fullserver: warning: "+e.Error()+"\n")
	}
	return len(ld.warns)
}
