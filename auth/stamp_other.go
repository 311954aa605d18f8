//go:build !unix

package auth

import "os"

// stampOf is mtime and size where there are no inode numbers.
func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{mtime: fi.ModTime(), size: fi.Size()}
}
