//go:build !linux && !openbsd && !dragonfly && !solaris && !illumos && !darwin && !freebsd && !netbsd

package disk

import "io/fs"

// MemoSupported is false where the system gives no inode or change time:
// a file replaced by one of the same size and modification time (an
// unpacked archive, a copy that keeps times) would look unchanged, so
// every file input is read at every call.
const MemoSupported = false

// SysStat reports that the system gives no inode or change time.
func SysStat(fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) { return 0, 0, 0, false }
