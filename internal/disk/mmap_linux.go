package disk

import (
	"errors"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mappings are never removed (see ReadOrMapEntry), so a process maps at
// most maxMappings entries and maxMappedBytes of them, and half of its
// address-space limit where it has one; past that, an entry is read. A
// process that hits many mapped results (a sweep over thousands of
// points) then runs out of neither address space nor the system's
// mappings.
var (
	maxMappings          = 1024
	maxMappedBytes int64 = 1 << 40
)

var mappedSoFar struct {
	sync.Mutex
	n     int
	bytes int64
}

// mapBudget is how many bytes this process may map in all.
var mapBudget = sync.OnceValue(func() int64 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &lim); err == nil && lim.Cur != unix.RLIM_INFINITY {
		return min(maxMappedBytes, int64(lim.Cur/2))
	}
	return maxMappedBytes
})

// Local reports whether the file system that holds path is one whose
// files a hit may map (see localFS).
func Local(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && localFS[uint32(st.Type)]
}

// localFS are the file systems whose files stay whole under a mapping
// while another process renames over or removes them: the local ones. On
// a network file system another machine's removal can make a page that
// was evicted unreadable, and touching it would kill the process.
var localFS = map[uint32]bool{
	0xEF53:     true, // ext2, ext3, ext4
	0x58465342: true, // xfs
	0x9123683E: true, // btrfs
	0x01021994: true, // tmpfs
	0x2FC12FC1: true, // zfs
	0xF2F52010: true, // f2fs
	0x794C7630: true, // overlayfs
}

// mapFile maps the size bytes of f, a regular file, copy-on-write: a
// write to the memory changes this mapping's pages alone, never the file.
// The mapping outlives f. It refuses files on other than local file
// systems, and mappings past the process's budget.
func mapFile(f regularFile, size int64) ([]byte, error) {
	rf, ok := f.(*rawFile)
	if !ok || size <= 0 {
		return nil, errNoMap
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(rf.fd, &st); err != nil || !localFS[uint32(st.Type)] {
		return nil, errNoMap
	}
	return mapBudgeted(rf.fd, size)
}

// mapBudgeted maps fd within the process's budget.
func mapBudgeted(fd int, size int64) ([]byte, error) {
	mappedSoFar.Lock()
	defer mappedSoFar.Unlock()
	if mappedSoFar.n >= maxMappings || mappedSoFar.bytes+size > mapBudget() {
		return nil, errNoMap
	}
	p, err := unix.MmapPtr(fd, 0, nil, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	mappedSoFar.n++
	mappedSoFar.bytes += size
	return unsafe.Slice((*byte)(p), size), nil
}

// Unmap removes a mapping MapEntry made, which nothing may use after.
func Unmap(b []byte) {
	if len(b) > 0 && unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))) == nil {
		mappedSoFar.Lock()
		mappedSoFar.n--
		mappedSoFar.bytes -= int64(len(b))
		mappedSoFar.Unlock()
	}
}

var errNoMap = errors.New("the file cannot be mapped")
