package sdbox

import "github.com/yubinmail/yubin/internal/dovecotroot"

// newUIDValidity allocates a UIDVALIDITY for a new or rebuilt folder
// through the root's dovecot-uidvalidity file, as Dovecot does
// (dovecotroot.NewUIDValidity), always above old.
func (s *Store) newUIDValidity(old uint32) uint32 {
	return dovecotroot.NewUIDValidity(s.root, old, s.chown, func(path string, data []byte) error {
		return s.writeFileAtomic(path, data, false)
	})
}
