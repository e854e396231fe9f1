//go:build !linux && !openbsd && !dragonfly && !solaris && !illumos && !darwin && !freebsd && !netbsd

package runtime

import "io/fs"

// memoSupported is false where the system gives no inode or change time:
// a file replaced by one of the same size and modification time (an
// unpacked archive, a copy that keeps times) would look unchanged, so
// every file input is read at every call.
const memoSupported = false

// sysStat reports that the system gives no inode or change time.
func sysStat(fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) { return 0, 0, 0, false }
