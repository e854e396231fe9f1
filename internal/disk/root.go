package disk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/cachegen/cachegen/internal/cachedir"
)

// Store keeps one file per entry under dir/xx/, where xx is the first
// two hex digits of the key: xx/KEY.entry, with the shard's usage record
// xx/.usage, its lock file xx/.locks on Linux (elsewhere xx/KEY.lock while
// a process computes KEY; see Lock) and xx/KEY.lease (a lease, when
// the directory is a shared tier) beside it.
//
// Nothing in the directory is trusted, because others may write to it
// (a shared tier) or an accident may put anything there:
//
//   - Every operation goes through an os.Root of the directory, so no
//     name, and no symlink planted in place of a shard or an entry, or
//     swapped in while a walk runs, leads outside it.
//   - A file is read only if it is a regular file, checked by lstat before
//     it is opened and by fstat after, and it is opened non-blocking: a
//     FIFO, a device or a symlink is a miss, never a hang.
//   - An entry's header is read and checked against the file's size before
//     anything else, so a reader never allocates more than the entry the
//     header claims to be, and junk costs one small read.
//
// A Store is safe for concurrent use.
type Store struct {
	dir string
	fs  fileSystem // where files are made, renamed and removed: osFS, but in this package's tests of failures
	// private refuses, in the directory, what another user owns or others
	// can write to (see checkOwn); a shared directory accepts it.
	private bool
	// signKey, when set, is checked against a large entry's MAC before the
	// entry is read into memory.
	signKey []byte

	mu   sync.Mutex
	root *os.Root // nil until first used, or after the directory vanished
	fds  dirFDs   // open directories for reads, where the system has openat
}

// The layout of a cache directory.
const (
	EntrySuffix = ".entry"
	LockSuffix  = ".lock"
	TempPrefix  = ".tmp-"
	DirPerm     = 0o700
	FilePerm    = 0o600
)

// Private reports whether the store refuses, in its directory, what
// another user owns or others can write to.
func (s *Store) Private() bool { return s.private }

// New returns the store of dir, private or shared, checking large
// entries' MACs with signKey when it is set.
func New(dir string, private bool, signKey []byte) *Store {
	return &Store{dir: dir, fs: osFS{}, private: private, signKey: signKey}
}

// fileSystem is what the store writes through, relative to its root: the
// operating system, or in this package's tests one that fails, or kills
// its process, at a chosen step.
type fileSystem interface {
	MkdirAll(r *os.Root, name string) error
	CreateTemp(r *os.Root, dir, prefix string) (tempFile, error)
	Rename(r *os.Root, oldname, newname string) error
	Remove(r *os.Root, name string) error
}

// tempFile is a temporary file being written; Name is relative to the root.
type tempFile interface {
	io.Writer
	Close() error
	Name() string
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) MkdirAll(r *os.Root, name string) error { return r.MkdirAll(name, DirPerm) }

func (osFS) CreateTemp(r *os.Root, dir, prefix string) (tempFile, error) {
	for range 10 {
		name := path.Join(dir, prefix+rand.Text()[:12])
		f, err := r.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FilePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return rootFile{f, name}, nil
	}
	return nil, fmt.Errorf("creating a temporary file in %s: %w", dir, fs.ErrExist)
}

func (osFS) Rename(r *os.Root, oldname, newname string) error { return r.Rename(oldname, newname) }
func (osFS) Remove(r *os.Root, name string) error             { return r.Remove(name) }

// rootFile is a file opened in a root, named relative to it.
type rootFile struct {
	*os.File
	name string
}

func (f rootFile) Name() string { return f.name }

// OpenRoot returns the root of the store's directory, opening it on first
// use; with create, it makes the directory (mode 0700) if it is missing.
func (s *Store) OpenRoot(create bool) (*os.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		return s.root, nil
	}
	if create {
		if err := os.MkdirAll(s.dir, DirPerm); err != nil {
			return nil, err
		}
	}
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	// The directory may have been made anew since Open checked it, by
	// anyone who could.
	if fi, err := r.Stat("."); err != nil || s.checkOwn(s.dir, fi) != nil {
		r.Close()
		if err == nil {
			err = s.checkOwn(s.dir, fi)
		}
		return nil, err
	}
	s.root = r
	return r, nil
}

// checkOwn refuses, in a private directory, a file that another user owns
// or a directory others can write to: someone else put it there, or can
// put anything in it.
func (s *Store) checkOwn(name string, fi fs.FileInfo) error {
	if !s.private {
		return nil
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to another user (uid %d)", ErrNotPrivate, name, uid)
	}
	if fi.IsDir() && fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by other users (mode %v)", ErrNotPrivate, name, fi.Mode())
	}
	return nil
}

// forget drops r, a root whose directory was removed, so that the next
// write makes the directory again.
func (s *Store) forget(r *os.Root) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == r {
		s.root = nil
		r.Close()
		s.fds.reset()
	}
}

// WriteReadme writes the README that marks the directory as a cache, if it
// has none; best effort, since it only explains the directory to a person.
func (s *Store) WriteReadme() {
	r, err := s.OpenRoot(true)
	if err != nil {
		return
	}
	f, err := r.OpenFile(cachedir.ReadmeName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FilePerm)
	if err != nil {
		return
	}
	f.WriteString(cachedir.ReadmeContent)
	f.Close()
}

// ErrNotPrivate is wrapped by CheckPrivate's refusals.
var ErrNotPrivate = errors.New("cache directory refused")

// CheckPrivate refuses a cache directory in which someone else could plant
// results: one that belongs to another user, or that others can write to,
// after resolving symlinks. A directory that does not exist yet holds
// nothing to serve. With shared, every directory is accepted.
func CheckPrivate(dir string, shared bool, howToShare string) error {
	if shared {
		return nil
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	fix := howToShare
	uid, known := ownerOf(fi)
	mine := known && uid == os.Getuid()
	if known && !mine {
		return fmt.Errorf("%w: %s belongs to another user (uid %d), who could plant results in it: %s", ErrNotPrivate, dir, uid, fix)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		if mine && fi.Mode()&fs.ModeSticky == 0 {
			// A directory of one's own that others can write to; never
			// a shared system directory such as /tmp.
			fix = "run chmod go-w " + dir + ", or " + fix
		}
		return fmt.Errorf("%w: %s is writable by other users (mode %v), who could plant results in it: %s", ErrNotPrivate, dir, fi.Mode(), fix)
	}
	return nil
}

// OwnedByMe reports whether this process's user owns the file fi
// describes; where the system does not say who owns a file, whether the
// directory is this user's own (private).
func (s *Store) OwnedByMe(fi fs.FileInfo) bool {
	if uid, known := ownerOf(fi); known {
		return uid == os.Getuid()
	}
	return s.private
}
