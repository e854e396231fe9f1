package disk

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
)

// errNotRegular rejects a name that is not a regular file: it is never
// read.
func errNotRegular(name string, m fs.FileMode) error {
	return fmt.Errorf("%w: %s is not a regular file (%v)", entry.ErrCorrupt, name, m.Type())
}

// regularFile is a regular file open for reading.
type regularFile interface {
	io.Reader
	io.ReaderAt
	io.Closer
}

// openRegularRoot opens name for reading, through the store's root, if,
// and only if, it is a regular file, without blocking on anything else.
func (s *Store) openRegularRoot(name string) (regularFile, fs.FileInfo, error) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return nil, nil, err
	}
	return s.openRegularIn(r, name)
}

func (s *Store) openRegularIn(r *os.Root, name string) (*os.File, fs.FileInfo, error) {
	if fi, err := r.Lstat(name); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, errNotRegular(name, fi.Mode())
	} else if err := s.checkOwn(name, fi); err != nil {
		return nil, nil, err
	}
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular(name, fi.Mode()) // swapped since the lstat
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadSmall reads the regular file name whole if it holds at most max
// bytes, and otherwise fails without reading it.
func (s *Store) ReadSmall(name string, max int64) ([]byte, error) {
	f, fi, err := s.OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", entry.ErrCorrupt, name, fi.Size(), max)
	}
	b := make([]byte, fi.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}

// Stat returns name's metadata, without following a symlink.
func (s *Store) Stat(name string) (fs.FileInfo, error) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return nil, err
	}
	return r.Lstat(name)
}

// pipelineMin is the size from which ReadEntry checksums the payload on
// another goroutine while it reads the rest, in chunks of pipelineChunk.
const (
	pipelineMin   = 4 << 20
	pipelineChunk = 2 << 20
)

// smallEntry is the size up to which ReadEntry reads a file in one read
// before it checks the header: as much as a junk file can cost.
const smallEntry = 64 << 10

// ReadEntry reads the entry file name: its header first, which must agree
// with the file's size, then the rest, in one allocation of that size (a
// file of at most smallEntry bytes in one read). It returns the file's
// modification time and, for a large file, the CRC-32 of its payload,
// computed on another core while the file is read, so that checking a big
// entry costs little beyond reading it.
func (s *Store) ReadEntry(name string) ([]byte, time.Time, *uint32, error) {
	data, mtime, payCRC, _, err := s.ReadOrMapEntry(name, 0)
	return data, mtime, payCRC, err
}

// ReadOrMapEntry is ReadEntry, but an entry of mapFrom bytes or more (0:
// none) is mapped copy-on-write instead of read, on systems that can
// (Linux), and mapped says so: its bytes are the file's, read by the
// kernel as they are touched, and a write to them changes the mapping's
// pages alone. A mapping is never removed but by Unmap: what uses its
// bytes must keep the file's content valid for as long as it lives, and
// the file must not be cut short meanwhile (entries are never changed in
// place: they are replaced by rename, which leaves the mapped file
// whole). The checksum of a mapped entry's payload is left to the caller
// (payCRC is nil). A mapping that fails falls back to a read.
func (s *Store) ReadOrMapEntry(name string, mapFrom int64) (data []byte, mtime time.Time, payCRC *uint32, mapped bool, err error) {
	data, mtime, payCRC, mapped, err = s.readEntry(name, mapFrom)
	return
}

func (s *Store) readEntry(name string, mapFrom int64) ([]byte, time.Time, *uint32, bool, error) {
	f, fi, err := s.OpenRegular(name)
	if err != nil {
		return nil, time.Time{}, nil, false, err
	}
	defer f.Close()
	size := fi.Size()
	if size < entry.HeaderSize+entry.TrailerSize {
		return nil, time.Time{}, nil, false, fmt.Errorf("%w: %d bytes is too short", entry.ErrCorrupt, size)
	}
	if size <= smallEntry {
		data := make([]byte, int(size))
		if _, err := io.ReadFull(f, data); err != nil {
			return nil, time.Time{}, nil, false, err
		}
		if _, err := entry.ParseHeader(data, size); err != nil {
			return nil, time.Time{}, nil, false, err
		}
		return data, fi.ModTime(), nil, false, nil
	}
	head := make([]byte, entry.HeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, time.Time{}, nil, false, err
	}
	h, err := entry.ParseHeader(head, size)
	if err != nil {
		return nil, time.Time{}, nil, false, err
	}
	if mapFrom > 0 && size >= mapFrom {
		if m, err := mapFile(f, size); err == nil {
			return m, fi.ModTime(), nil, true, nil
		}
	}
	if s.signKey != nil && size > entry.BigSigned {
		// Whoever can write here but lacks the key cannot make this
		// reader hold what they planted in memory.
		err := entry.CheckMACReading(s.signKey, h, size, func(p []byte, off int64) error {
			_, err := f.ReadAt(p, off)
			return err
		})
		if err != nil {
			return nil, time.Time{}, nil, false, err
		}
	}
	// Not make and copy in one statement pair: the compiler makes that a
	// runtime.makeslicecopy, which clears the rest of a large buffer in
	// one call no goroutine can preempt, and a collection starting then
	// spins on it for as long as it runs (hundreds of milliseconds for a
	// 64 MiB entry in a new process). A plain make clears only memory
	// that needs it, in preemptible chunks.
	data := make([]byte, int(size))
	_ = data[entry.HeaderSize-1]
	copy(data, head)
	if size < pipelineMin {
		if _, err := io.ReadFull(f, data[entry.HeaderSize:]); err != nil {
			return nil, time.Time{}, nil, false, err
		}
		return data, fi.ModTime(), nil, false, nil
	}
	start := entry.HeaderSize + int(h.MetaLen)
	end := start + int(h.PayloadLen)
	progress := make(chan int, int(size)/pipelineChunk+1)
	done := make(chan uint32)
	go func() {
		var crc uint32
		pos := start
		for readTo := range progress {
			if readTo = min(readTo, end); readTo > pos {
				crc = entry.UpdateCRC(crc, data[pos:readTo])
				pos = readTo
			}
		}
		done <- crc
	}()
	for off := entry.HeaderSize; off < int(size) && err == nil; off += pipelineChunk {
		next := min(off+pipelineChunk, int(size))
		if _, err = io.ReadFull(f, data[off:next]); err == nil {
			progress <- next
		}
	}
	close(progress)
	crc := <-done
	if err != nil {
		return nil, time.Time{}, nil, false, err
	}
	return data, fi.ModTime(), &crc, false, nil
}

// ReadMeta reads and checks the header and metadata of the entry file
// name without reading its payload.
func (s *Store) ReadMeta(name string) (entry.Header, entry.Meta, fs.FileInfo, error) {
	f, fi, err := s.OpenRegular(name)
	if err != nil {
		return entry.Header{}, entry.Meta{}, fi, err
	}
	defer f.Close()
	h, m, err := entry.ReadHead(f, fi.Size())
	return h, m, fi, err
}
