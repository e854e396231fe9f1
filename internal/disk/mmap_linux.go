package disk

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps the size bytes of f, a regular file, copy-on-write: a
// write to the memory changes this mapping's pages alone, never the file.
// The mapping outlives f.
func mapFile(f regularFile, size int64) ([]byte, error) {
	rf, ok := f.(*rawFile)
	if !ok || size <= 0 {
		return nil, errNoMap
	}
	p, err := unix.MmapPtr(rf.fd, 0, nil, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// Unmap removes a mapping MapEntry made, which nothing may use after.
func Unmap(b []byte) {
	if len(b) > 0 {
		unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)))
	}
}

var errNoMap = errors.New("the file cannot be mapped")
