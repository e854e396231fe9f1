//go:build linux

package disk

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"golang.org/x/sys/unix"
)

// Reads, the hit path, open files relative to the directories of the
// cache and its shards, held open between calls, with O_NOFOLLOW and
// O_NONBLOCK: neither a symlink nor a FIFO is ever followed or waited on,
// no path is resolved through a name that could have been swapped, and a
// hit costs the system calls of reading one file.

// dirFDs holds the cache directory and its shards open.
type dirFDs struct {
	mu     sync.Mutex
	dir    *os.File
	shards map[string]*os.File
}

// reset forgets the directories held. They are not closed here: another
// goroutine may be reading or writing through one; each is closed by the
// garbage collector once no goroutine uses it.
func (d *dirFDs) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dir, d.shards = nil, nil
}

// shardDir returns the open directory of shard; fresh drops the one held,
// in case the shard was removed and made again since.
func (s *Store) shardDir(shard string, fresh bool) (*os.File, error) {
	if err := checkLocal(shard); err != nil {
		return nil, err
	}
	d := &s.fds
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.shards[shard]; ok && !fresh {
		return f, nil
	}
	if d.dir == nil {
		dir, err := os.Open(s.dir)
		if err != nil {
			return nil, err
		}
		// The directory may have been made anew since Open checked it,
		// by anyone who could: checked as OpenRoot checks it.
		if fi, err := dir.Stat(); err != nil || !fi.IsDir() || s.checkOwn(s.dir, fi) != nil {
			dir.Close()
			if err == nil {
				err = cmp.Or(s.checkOwn(s.dir, fi), error(&fs.PathError{Op: "open", Path: s.dir, Err: syscall.ENOTDIR}))
			}
			return nil, err
		}
		d.dir, d.shards = dir, map[string]*os.File{}
	}
	f, err := openat(d.dir, shard, syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || s.checkOwn(shard, fi) != nil {
		f.Close()
		if err == nil {
			err = s.checkOwn(shard, fi)
		}
		return nil, err
	}
	d.shards[shard] = f // the one it replaces is closed once unused (see reset)
	return f, nil
}

// openat opens name in the directory dir, never following a symlink.
func openat(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := openatFD(dir, name, flags)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openatFD is openat's system call: a symlink in name's place is refused
// as a file that is not regular.
func openatFD(dir *os.File, name string, flags int) (int, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if cerr := rc.Control(func(dfd uintptr) {
		for {
			fd, err = syscall.Openat(int(dfd), name, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
			if err != syscall.EINTR {
				return
			}
		}
	}); cerr != nil {
		return -1, cerr
	}
	switch {
	case err == syscall.ELOOP || err == syscall.EMLINK:
		return -1, errNotRegular(name, fs.ModeSymlink)
	case err != nil:
		return -1, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	return fd, nil
}

// OpenRegular opens name, "xx/file", for reading if, and only if, it is a
// regular file.
func (s *Store) OpenRegular(name string) (regularFile, fs.FileInfo, error) {
	dir, base := path.Split(name)
	if dir == "" {
		return s.openRegularRoot(name) // the README
	}
	for fresh := false; ; fresh = true {
		d, err := s.shardDir(path.Clean(dir), fresh)
		if err != nil {
			return nil, nil, err
		}
		f, err := openRaw(d, base)
		if errors.Is(err, fs.ErrNotExist) && !fresh {
			continue // or the shard was made anew since it was opened
		}
		if err != nil {
			return nil, nil, err
		}
		fi := rawInfo{name: base, stat: &f.stat}
		if err := s.checkOwn(name, fi); err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, fi, nil
	}
}

// rawFile is a file read with bare system calls: a FIFO opened
// non-blocking is never registered for polling, and reads of a regular
// file never wait for a writer.
type rawFile struct {
	fd   int
	stat syscall.Stat_t
}

func openRaw(dir *os.File, name string) (*rawFile, error) {
	fd, err := openatFD(dir, name, syscall.O_RDONLY|syscall.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	f := &rawFile{fd: fd}
	if err := syscall.Fstat(fd, &f.stat); err != nil {
		f.Close()
		return nil, err
	}
	if f.stat.Mode&syscall.S_IFMT != syscall.S_IFREG {
		f.Close()
		return nil, errNotRegular(name, fs.ModeIrregular)
	}
	if f.stat.Size > smallEntry {
		// cachegen writes every byte of an entry: a file with holes, such
		// as a sparse file of any claimed size, is something else, and is
		// not read.
		if hole, err := syscall.Seek(fd, 0, seekHole); err == nil && hole < f.stat.Size {
			f.Close()
			return nil, fmt.Errorf("%w: %s has holes: it was not written by cachegen", entry.ErrCorrupt, name)
		}
		if _, err := syscall.Seek(fd, 0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// seekHole is lseek's SEEK_HOLE: the offset of the first hole at or after
// the given one, or the size where there is none.
const seekHole = 4

func (f *rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Pread(f.fd, p[done:], off+int64(done))
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return done, err
		case n == 0:
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f *rawFile) Close() error { return syscall.Close(f.fd) }

// rawInfo describes a regular file opened as a rawFile.
type rawInfo struct {
	name string
	stat *syscall.Stat_t
}

func (i rawInfo) Name() string       { return i.name }
func (i rawInfo) Size() int64        { return i.stat.Size }
func (i rawInfo) Mode() fs.FileMode  { return fs.FileMode(i.stat.Mode & 0o777) }
func (i rawInfo) ModTime() time.Time { return time.Unix(i.stat.Mtim.Unix()) }
func (i rawInfo) IsDir() bool        { return false }
func (i rawInfo) Sys() any           { return i.stat }

// replaceAt is replaceWith's path for a file in a shard, on the operating
// system's file system: the temporary file is created, and renamed into
// place, relative to the shard's directory held open (see shardDir),
// without resolving a path each time. It reports false, having done
// nothing, where the slow path must run (the shard does not exist yet).
func (s *Store) replaceAt(name, key string, write func(io.Writer) error, commit func(rename func() error) error) (bool, error) {
	dir, base := path.Split(name)
	if dir == "" {
		return false, nil
	}
	dir = path.Clean(dir)
	for fresh := false; ; fresh = true {
		d, err := s.shardDir(dir, fresh)
		if err != nil {
			return false, nil
		}
		tmp, f, err := createTempAt(d, TempPrefix+key+"-")
		if errors.Is(err, fs.ErrNotExist) && !fresh {
			continue // the shard was removed, and maybe made anew, since it was opened
		}
		if err != nil {
			return false, nil
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			rename := func() error { return renameAt(d, tmp, base) }
			if commit != nil {
				err = commit(rename)
			} else {
				err = rename()
			}
		}
		if err != nil {
			unlinkAt(d, tmp)
		}
		return true, err
	}
}

// createTempAt creates a new file, named prefix and random letters, in the
// directory dir, for writing, and returns its name.
func createTempAt(dir *os.File, prefix string) (string, *os.File, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return "", nil, err
	}
	for range 10 {
		name := prefix + rand.Text()[:12]
		fd := -1
		if cerr := rc.Control(func(dfd uintptr) {
			for {
				fd, err = syscall.Openat(int(dfd), name, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, FilePerm)
				if err != syscall.EINTR {
					return
				}
			}
		}); cerr != nil {
			return "", nil, cerr
		}
		if err == syscall.EEXIST {
			continue
		}
		if err != nil {
			return "", nil, &fs.PathError{Op: "openat", Path: name, Err: err}
		}
		return name, os.NewFile(uintptr(fd), name), nil
	}
	return "", nil, fmt.Errorf("creating a temporary file in %s: %w", dir.Name(), fs.ErrExist)
}

// renameAt renames oldname to newname, both in the directory dir.
func renameAt(dir *os.File, oldname, newname string) error {
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	if cerr := rc.Control(func(dfd uintptr) {
		for {
			if err = syscall.Renameat(int(dfd), oldname, int(dfd), newname); err != syscall.EINTR {
				return
			}
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return &os.LinkError{Op: "renameat", Old: oldname, New: newname, Err: err}
	}
	return nil
}

// unlinkAt removes name from the directory dir.
func unlinkAt(dir *os.File, name string) {
	if rc, err := dir.SyscallConn(); err == nil {
		rc.Control(func(dfd uintptr) { syscall.Unlinkat(int(dfd), name) })
	}
}

// OpenLockIn is openLockFile for name, "dir/file" one level below the
// store's directory, made if missing, with O_CREATE and flag: through the
// directory held open, it costs an fstatat, an openat and an fstat, where
// a path through the root costs several opens and closes of the
// directories on the way. A missing directory is made.
func (s *Store) OpenLockIn(name string, flag int) (*os.File, error) {
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	for fresh := false; ; fresh = true {
		d, err := s.shardDir(dir, fresh)
		if errors.Is(err, fs.ErrNotExist) {
			d, err = s.makeDir(dir)
		}
		if err != nil {
			return nil, err
		}
		f, err := s.openLockAt(d, name, base, flag)
		if errors.Is(err, fs.ErrNotExist) && !fresh {
			continue // the directory held was removed since it was opened (a Clear): open it anew
		}
		return f, err
	}
}

// makeDir makes the directory dir, one level below the store's, and
// returns it open.
func (s *Store) makeDir(dir string) (*os.File, error) {
	if err := checkLocal(dir); err != nil {
		return nil, err
	}
	r, err := s.OpenRoot(true)
	if err != nil {
		return nil, err
	}
	if err := s.fs.MkdirAll(r, dir); err != nil {
		return nil, err
	}
	return s.shardDir(dir, true)
}

// openLockAt opens base in the directory dir as openLockFile opens name.
func (s *Store) openLockAt(dir *os.File, name, base string, flag int) (*os.File, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	fd := -1
	var serr, oerr error
	if cerr := rc.Control(func(dfd uintptr) {
		serr = unix.Fstatat(int(dfd), base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if serr == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
			return // not opened: a FIFO or a device is never opened
		}
		for {
			fd, oerr = unix.Openat(int(dfd), base, flag|os.O_CREATE|os.O_RDWR|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, FilePerm)
			if oerr != unix.EINTR {
				return
			}
		}
	}); cerr != nil {
		return nil, cerr
	}
	if serr == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errNotRegular(name, os.ModeIrregular)
	}
	switch {
	case oerr == unix.ELOOP:
		return nil, errNotRegular(name, fs.ModeSymlink)
	case oerr != nil:
		return nil, &fs.PathError{Op: "openat", Path: name, Err: oerr}
	}
	f := os.NewFile(uintptr(fd), name)
	linked, err := s.checkRecord(f, name)
	switch {
	case err != nil:
		return nil, err
	case linked && flag&os.O_EXCL != 0:
		return nil, errLinked(name)
	case linked:
		// Another name of a file elsewhere, which writing in place would
		// change there: the name goes, and the file is made anew.
		unlinkAt(dir, base)
		return s.openLockAt(dir, name, base, flag|os.O_EXCL)
	}
	return f, nil
}

// errOutside is the error of a name that leads out of the store.
var errOutside = errors.New("name leads outside the cache directory")

// checkLocal refuses a directory name that is not one name in the
// store's directory (absolute, climbing out with "..", or two levels, the
// first of which openat would follow were it a symlink): names opened
// relative to the store's directory are confined as its os.Root confines
// the others.
func checkLocal(dir string) error {
	if strings.Contains(dir, "/") || !filepath.IsLocal(filepath.FromSlash(dir)) {
		return fmt.Errorf("%s: %w", dir, errOutside)
	}
	return nil
}
