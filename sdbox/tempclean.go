package sdbox

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempMaxAge is the age after which a .temp file in dbox-Mails is taken
// for the leftover of a crash and removed: Dovecot's limit
// (DBOX_TMP_DELETE_SECS, 36 hours), so that a
// file another process is still writing is left alone.
const tempMaxAge = 36 * time.Hour

// cleanTemps removes, once per hub, the .temp files older than
// tempMaxAge (left by a crash of yubin or Dovecot while writing a
// message) and yubin-meta's temporary files as old, in the background:
// the directory may be big.
func (h *hub) cleanTemps() {
	h.tempOnce.Do(func() {
		go func() {
			d, err := os.Open(h.dir)
			if err != nil {
				return
			}
			defer d.Close()
			cutoff := time.Now().Add(-tempMaxAge)
			for {
				names, err := d.Readdirnames(1024)
				for _, n := range names {
					if !strings.HasPrefix(n, ".temp.") && !(strings.HasPrefix(n, metaCacheName+".") && strings.HasSuffix(n, ".tmp")) {
						continue
					}
					p := filepath.Join(h.dir, n)
					if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
						if os.Remove(p) == nil {
							h.s.opts.logger().Info("sdbox: removed a temporary file left by a crash", "file", p)
						}
					}
				}
				if err != nil {
					return
				}
			}
		}()
	})
}
