//go:build linux || openbsd || dragonfly || solaris || illumos

package runtime

import (
	"io/fs"
	"syscall"
)

// memoSupported: a file's device, inode and change time are at hand.
const memoSupported = true

// sysStat returns a file's device, inode and change time.
func sysStat(fi fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return uint64(s.Dev), uint64(s.Ino), s.Ctim.Nano(), true
}
