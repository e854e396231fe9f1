//go:build darwin || freebsd || netbsd

package disk

import (
	"io/fs"
	"syscall"
)

// MemoSupported: a file's device, inode and change time are at hand.
const MemoSupported = true

// SysStat returns a file's device, inode and change time.
func SysStat(fi fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return uint64(s.Dev), uint64(s.Ino), s.Ctimespec.Nano(), true
}
