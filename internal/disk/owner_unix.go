//go:build unix

package disk

import (
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ownerOf returns the user id that owns a file.
func ownerOf(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// Allocated returns the bytes a file occupies on disk: its allocated
// blocks, or its length where the file system reports none (data kept in
// the inode).
func Allocated(fi fs.FileInfo) int64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Blocks <= 0 {
		return fi.Size()
	}
	return int64(st.Blocks) * 512
}

// links returns how many names a file has.
func links(fi fs.FileInfo) uint64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 1
	}
	return uint64(st.Nlink)
}

// touchOpen sets the access and modification times of an open file: to
// the nanosecond through /proc where there is one, else to the
// microsecond.
func touchOpen(f *os.File, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNano("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), []unix.Timespec{ts, ts}); err == nil {
		return nil
	}
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv})
}
