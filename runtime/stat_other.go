//go:build !linux && !openbsd && !dragonfly && !darwin && !freebsd && !netbsd

package runtime

import "io/fs"

// sysStat reports that the system gives no inode or change time.
func sysStat(fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) { return 0, 0, 0, false }
