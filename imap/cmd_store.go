package imap

import (
	"strings"

	"github.com/yubinmail/yubin/store"
)

// STORE and UID STORE (RFC 9051 6.4.6) with UNCHANGEDSINCE (RFC 7162
// 3.1.3). No EXPUNGE is sent while it runs.
func (c *conn) cmdStore(tag string, uid bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	set, err := c.setArg(uid)
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	var unchangedSince uint64
	if b, err := c.r.peek(); err != nil {
		return err
	} else if b == '(' {
		err := c.r.list(func() error {
			a, err := c.r.atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(a, "UNCHANGEDSINCE") {
				return badf("Unknown STORE modifier.")
			}
			if err := c.r.sp(); err != nil {
				return err
			}
			unchangedSince, err = c.r.number64()
			if err == nil && unchangedSince == 0 {
				// RFC 7162: 0 means every message fails.
				unchangedSince = 0
			}
			return err
		})
		if err == nil {
			err = c.r.sp()
		}
		if err != nil {
			return err
		}
		c.enableCondstore()
	}
	item, err := c.r.atom()
	if err != nil {
		return err
	}
	item = strings.ToUpper(item)
	var op store.FlagOp
	switch strings.TrimSuffix(item, ".SILENT") {
	case "FLAGS":
		op = store.FlagsReplace
	case "+FLAGS":
		op = store.FlagsAdd
	case "-FLAGS":
		op = store.FlagsRemove
	default:
		return badf("Invalid STORE data item.")
	}
	silent := strings.HasSuffix(item, ".SILENT")
	if err := c.r.sp(); err != nil {
		return err
	}
	names, err := c.r.flagList(true)
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	flags, err := parseFlags(names)
	if err != nil {
		return err
	}
	if c.sel.readOnly {
		return no("", "Mailbox is read-only.")
	}
	if set.Empty() {
		return nil
	}
	toDelete := c.countUndeleted(set, op, flags)
	updated, failed, err := c.setFlags(set, op, flags, unchangedSince)
	if err != nil {
		return err
	}
	c.lo.counts.deleted += toDelete - c.countUndeleted(failed, op, flags)
	// New keywords are announced even with .SILENT, as Dovecot does:
	// the client's FLAGS list must name every keyword, those it set and
	// those another session set on the messages reported now, before
	// the FETCHes that carry them (RFC 3501 7.2.6).
	var kws [][]string
	if op != store.FlagsRemove {
		kws = append(kws, flags.Keywords)
	}
	for i := range updated {
		kws = append(kws, updated[i].Flags.Keywords)
	}
	c.announceKeywords(kws...)
	for i := range updated {
		u := &updated[i]
		seq := c.sel.view.seqOf(u.UID)
		if seq == 0 || (silent && unchangedSince == 0 && !c.condstore) {
			continue
		}
		m := store.MessageInfo{UID: u.UID, Flags: u.Flags, ModSeq: u.ModSeq, Recent: c.sel.notes.isRecent(u.UID)}
		if silent {
			// RFC 7162 3.1.3: with CONDSTORE on, .SILENT still
			// reports the new MODSEQ (as Dovecot does).
			c.w.str("* ")
			c.w.num(seq)
			c.w.str(" FETCH (")
			if uid {
				c.w.str("UID ")
				c.w.num(u.UID)
				c.w.byte(' ')
			}
			c.w.str("MODSEQ (" + itoa64(u.ModSeq) + "))\r\n")
			continue
		}
		c.writeFlagsFetch(seq, &m, uid)
	}
	if len(failed) > 0 {
		if uid {
			c.okCode = "MODIFIED " + failed.String()
		} else {
			c.okCode = "MODIFIED " + c.seqSetOf(failed).String()
		}
		c.okText = "Conditional STORE failed."
	}
	return c.w.err
}
