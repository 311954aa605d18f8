package mbox

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Message GUIDs. An mbox file has no place for one: Dovecot's mbox
// GUID is the MD5 of a few headers (Date, Delivered-To, Message-ID,
// the first Received, X-Delivery-ID: mbox_md5 = apop3d), the same for
// two messages without them, and dsync does not trust it (mbox has no
// save GUIDs: it pairs such mail by a hash of Date and Message-ID).
// yubin's must name one message only, also across a replica pair of
// two mbox stores whose mailboxes were created in the same second (one
// UIDVALIDITY, so the same UIDs for their different first messages).
//
// So a message's GUID is, in this order:
//   - the GUID a replicator gave it (store.Replica, replica.go);
//   - for a message that had its UID before this scheme (older yubin
//     versions, Dovecot), UIDVALIDITY and UID as 16 hex digits, as
//     before: yubin-mbox-guids in the mailbox's index directory records
//     the UIDVALIDITY and the first UID of the new scheme, written at the
//     mailbox's creation or first read;
//   - otherwise UIDVALIDITY, UID and a digest of the message's content
//     as 32 hex digits: two messages share it only if they have the same
//     UIDVALIDITY, UID and content (see contentDigest), which is then the
//     same message.
//
// The digest depends only on what Dovecot and yubin never change in a
// stored message (the visible header and the body), so the GUID stays
// as it is across reads, restarts, flag changes and rewrites of the file
// by yubin or Dovecot.

// guidSchemeFile names the file that dates the scheme in a mailbox's
// index directory: "V1 <uidvalidity> <uid>": messages of that
// UIDVALIDITY below that UID keep GUIDs of UIDVALIDITY and UID alone.
const guidSchemeFile = "yubin-mbox-guids"

// digestPrefix bounds how much of a message the digest reads: with the
// lengths of header and body, the start of a message (its header, in
// real mail with Received, Message-ID and Date) tells messages apart.
const digestPrefix = 2 << 10

// digestHead is the length of what precedes the bytes digested (a mark
// and the two lengths), and digestBuf the size of contentDigest's
// buffer: those, then room to read the parts at once.
const (
	digestHead = 24
	digestBuf  = digestHead + digestPrefix + 3*digestPrefix
)

// contentDigest digests the message at r in ra: the lengths of its
// visible header (the fields Dovecot keeps for itself left out) and of
// its body, and the first digestPrefix bytes of the two. The empty line
// between them is left out, as a rewrite adds it to a message without.
// buf must hold digestBuf bytes.
func contentDigest(ra io.ReaderAt, r *rawMsg, buf []byte) (uint64, error) {
	parts := r.visibleHeader()
	var hdrLen int64
	for _, s := range parts {
		hdrLen += s.n
	}
	parts = append(parts, seg{r.bodyOff, r.bodyEnd - r.bodyOff})
	// What is digested, in out; the file is read in one piece when the
	// parts are near enough (the header short), else part by part.
	out, in := buf[:digestHead], buf[digestHead+digestPrefix:]
	copy(out, "yubinMG1")
	binary.BigEndian.PutUint64(out[8:], uint64(hdrLen))
	binary.BigEndian.PutUint64(out[16:], uint64(r.bodyEnd-r.bodyOff))
	left := int64(digestPrefix)
	var need []seg
	for _, s := range parts {
		if k := min(s.n, left); k > 0 {
			need = append(need, seg{s.off, k})
			left -= k
		}
	}
	if len(need) > 0 {
		from, to := need[0].off, need[len(need)-1].off+need[len(need)-1].n
		if to-from <= int64(len(in)) {
			if err := readFull(ra, in[:to-from], from); err != nil {
				return 0, err
			}
			for _, s := range need {
				out = append(out, in[s.off-from:s.off-from+s.n]...)
			}
		} else {
			for _, s := range need {
				n := len(out)
				if err := readFull(ra, out[n:n+int(s.n)], s.off); err != nil {
					return 0, err
				}
				out = out[:n+int(s.n)]
			}
		}
	}
	sum := sha256.Sum256(out)
	return binary.BigEndian.Uint64(sum[:]), nil
}

// readFull fills p from ra at off.
func readFull(ra io.ReaderAt, p []byte, off int64) error {
	if n, err := ra.ReadAt(p, off); n < len(p) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// legacyGUIDs is where a mailbox's GUIDs of UIDVALIDITY and UID alone
// end: the messages of UIDVALIDITY uv below UID below.
type legacyGUIDs struct {
	uv, below uint32
}

// guidOf is the GUID of message m under UIDVALIDITY uv when no
// replicator gave it one.
func guidOf(m *msg, uv uint32, legacy legacyGUIDs) string {
	if uv == legacy.uv && m.uid < legacy.below {
		return fmt.Sprintf("%08x%08x", uv, m.uid)
	}
	return fmt.Sprintf("%08x%08x%016x", uv, m.uid, m.digest)
}

func (s *Store) guidSchemePath(name string) string {
	return filepath.Join(s.indexDir(name), guidSchemeFile)
}

// readGUIDScheme reads a mailbox's guidSchemeFile.
func (s *Store) readGUIDScheme(name string) (legacyGUIDs, bool) {
	data, err := os.ReadFile(s.guidSchemePath(name))
	if err != nil {
		return legacyGUIDs{}, false
	}
	f := strings.Fields(string(data))
	if len(f) != 3 || f[0] != "V1" {
		return legacyGUIDs{}, false
	}
	uv, e1 := strconv.ParseUint(f[1], 10, 32)
	below, e2 := strconv.ParseUint(f[2], 10, 32)
	if e1 != nil || e2 != nil {
		return legacyGUIDs{}, false
	}
	return legacyGUIDs{uint32(uv), uint32(below)}, true
}

func (s *Store) writeGUIDScheme(name string, l legacyGUIDs) error {
	return s.writeFileAtomic(s.guidSchemePath(name), fmt.Appendf(nil, "V1 %d %d\n", l.uv, l.below))
}

// createGUIDScheme writes a mailbox's guidSchemeFile unless it exists
// (another process reading the mailbox for the first time at once), and
// returns what the file says.
func (s *Store) createGUIDScheme(name string, l legacyGUIDs) (legacyGUIDs, error) {
	path := s.guidSchemePath(name)
	err := s.writeFileVia(path, fmt.Appendf(nil, "V1 %d %d\n", l.uv, l.below), false)
	if errors.Is(err, os.ErrExist) {
		if got, ok := s.readGUIDScheme(name); ok {
			return got, nil
		}
	}
	if err != nil {
		return l, err
	}
	return l, s.syncDir(filepath.Dir(path))
}

// initGUIDScheme sets the box's legacy GUIDs when it is first read: as
// the mailbox's guidSchemeFile says, or, for a mailbox without one
// (made by an older yubin or by another program), every message that
// has a UID now (below next) under the current UIDVALIDITY, recorded.
func (b *box) initGUIDScheme(next uint32) {
	l, ok := b.s.readGUIDScheme(b.name)
	if !ok {
		var err error
		if l, err = b.s.createGUIDScheme(b.name, legacyGUIDs{b.uidValidity, next}); err != nil {
			// The GUIDs of the messages added from here on could change
			// at the next read, which records a later UID.
			b.s.log.Warn("mbox: GUID scheme file", "mailbox", b.name, "err", err)
		}
	}
	b.setLegacy(l)
}

func (b *box) setLegacy(l legacyGUIDs) {
	b.rg.mu.Lock()
	b.rg.legacy = l
	b.rg.mu.Unlock()
}
