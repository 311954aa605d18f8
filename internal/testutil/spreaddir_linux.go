package testutil

import "golang.org/x/sys/unix"

// fsTopdirFL is ext4's "top of directory hierarchy" inode flag (chattr
// +T, FS_TOPDIR_FL).
const fsTopdirFL = 0x00020000

// setTopdir sets the flag on dir, where the file system has it.
func setTopdir(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS); err == nil {
		unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags|fsTopdirFL)
	}
}

// hasTopdir reports whether dir has the flag.
func hasTopdir(dir string) bool {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	return err == nil && flags&fsTopdirFL != 0
}
