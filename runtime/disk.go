package runtime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/lease"
	"github.com/cachegen/cachegen/remote"
)

// diskStore keeps one file per entry under dir/xx/, where xx is the first
// two hex digits of the key: xx/KEY.entry, with the shard's usage record
// xx/.usage, its lock file xx/.locks on Linux (elsewhere xx/KEY.lock while
// a process computes KEY; see lockKey) and xx/KEY.lease (a lease, when
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
// A diskStore is safe for concurrent use.
type diskStore struct {
	dir string
	fs  fileSystem
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
	entrySuffix = ".entry"
	lockSuffix  = ".lock"
	tempPrefix  = ".tmp-"
	dirPerm     = 0o700
	filePerm    = 0o600
)

// newDiskStore returns the store of dir, private or shared, checking large
// entries' MACs with signKey when it is set.
func newDiskStore(dir string, private bool, signKey []byte) *diskStore {
	return &diskStore{dir: dir, fs: osFS{}, private: private, signKey: signKey}
}

// fileSystem is what the store writes through, relative to its root: the
// operating system, or in tests one that fails at a chosen step.
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

type osFS struct{}

func (osFS) MkdirAll(r *os.Root, name string) error { return r.MkdirAll(name, dirPerm) }

func (osFS) CreateTemp(r *os.Root, dir, prefix string) (tempFile, error) {
	for range 10 {
		name := path.Join(dir, prefix+rand.Text()[:12])
		f, err := r.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
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

// openRoot returns the root of the store's directory, opening it on first
// use; with create, it makes the directory (mode 0700) if it is missing.
func (s *diskStore) openRoot(create bool) (*os.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		return s.root, nil
	}
	if create {
		if err := os.MkdirAll(s.dir, dirPerm); err != nil {
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
func (s *diskStore) checkOwn(name string, fi fs.FileInfo) error {
	if !s.private {
		return nil
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to another user (uid %d)", errNotPrivate, name, uid)
	}
	if fi.IsDir() && fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by other users (mode %v)", errNotPrivate, name, fi.Mode())
	}
	return nil
}

// forget drops r, a root whose directory was removed, so that the next
// write makes the directory again.
func (s *diskStore) forget(r *os.Root) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == r {
		s.root = nil
		r.Close()
		s.fds.reset()
	}
}

func shard(key string) string               { return key[:2] }
func entryName(key string) string           { return path.Join(shard(key), key+entrySuffix) }
func lockName(key string) string            { return path.Join(shard(key), key+lockSuffix) }
func leaseName(key string) string           { return path.Join(shard(key), key+leaseSuffix) }
func (s *diskStore) abs(name string) string { return filepath.Join(s.dir, filepath.FromSlash(name)) }

// path returns the entry file of key, for messages and tests.
func (s *diskStore) path(key string) string { return s.abs(entryName(key)) }

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
func (s *diskStore) openRegularRoot(name string) (regularFile, fs.FileInfo, error) {
	r, err := s.openRoot(false)
	if err != nil {
		return nil, nil, err
	}
	return s.openRegularIn(r, name)
}

func (s *diskStore) openRegularIn(r *os.Root, name string) (*os.File, fs.FileInfo, error) {
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

// readSmall reads the regular file name whole if it holds at most max
// bytes, and otherwise fails without reading it.
func (s *diskStore) readSmall(name string, max int64) ([]byte, error) {
	f, fi, err := s.openRegular(name)
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

// write stores the parts of an entry file as the entry of key atomically:
// it becomes visible whole, by rename, or not at all, and no temporary
// file is left behind. It does not sync: an entry a crash or power loss
// damages fails its checksums and is a miss.
func (s *diskStore) write(key string, parts ...[]byte) error {
	_, _, err := s.writeEntry(key, writeParts(parts))
	return err
}

// writeParts writes parts in order.
func writeParts(parts [][]byte) func(io.Writer) error {
	return func(w io.Writer) error {
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeEntry writes key's entry with write, and adds it to its shard's
// usage, renaming it into place under the usage record's lock so that a
// shard's clean counts it exactly once; it returns the shard's usage
// after it (counted false if the record could not be updated).
func (s *diskStore) writeEntry(key string, write func(io.Writer) error) (u Usage, counted bool, err error) {
	name := entryName(key)
	err = s.replaceWith(name, key, write, func(rename func() error) error {
		u, counted, err = s.withUsage(shard(key), func() (Usage, error) {
			old, oerr := s.stat(name)
			if err := rename(); err != nil {
				return Usage{}, err
			}
			fi, err := s.stat(name)
			if err != nil {
				return Usage{}, nil // removed at once
			}
			if oerr == nil && old.Mode().IsRegular() {
				return Usage{allocated(fi) - allocated(old), 0}, nil // replaced
			}
			return Usage{allocated(fi), 1}, nil
		})
		return err
	})
	return u, counted, err
}

// removeEntry removes the entry file name and takes it from its shard's
// usage.
func (s *diskStore) removeEntry(name string) error {
	_, _, err := s.withUsage(path.Dir(name), func() (Usage, error) {
		fi, err := s.stat(name)
		if err != nil {
			return Usage{}, err
		}
		if err := s.remove(name); err != nil {
			return Usage{}, err
		}
		if !fi.Mode().IsRegular() {
			return Usage{}, nil
		}
		return Usage{-allocated(fi), -1}, nil
	})
	return err
}

// replace writes parts to a temporary file beside name and renames it into
// place. If the directory itself was removed, it is made again once.
func (s *diskStore) replace(name, key string, parts ...[]byte) error {
	return s.replaceWith(name, key, writeParts(parts), nil)
}

// replaceWith is replace, with write writing the file, and commit, when
// set, running the rename.
func (s *diskStore) replaceWith(name, key string, write func(io.Writer) error, commit func(rename func() error) error) error {
	if _, ok := s.fs.(osFS); ok {
		if done, err := s.replaceAt(name, key, write, commit); done {
			return err
		}
	}
	var err error
	for range 2 {
		var r *os.Root
		if r, err = s.openRoot(true); err != nil {
			return err
		}
		if err = s.fs.MkdirAll(r, path.Dir(name)); errors.Is(err, fs.ErrNotExist) {
			s.forget(r) // the directory was removed under us
			continue
		}
		if err != nil {
			return err
		}
		if s.private {
			// A shard someone else made would take what is written into
			// it for their own.
			fi, err := r.Lstat(path.Dir(name))
			if err == nil {
				err = s.checkOwn(path.Dir(name), fi)
			}
			if err != nil {
				return err
			}
		}
		var f tempFile
		if f, err = s.fs.CreateTemp(r, path.Dir(name), tempPrefix+key+"-"); err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			rename := func() error { return s.fs.Rename(r, f.Name(), name) }
			if commit != nil {
				err = commit(rename)
			} else {
				err = rename()
			}
		}
		if err != nil {
			s.fs.Remove(r, f.Name())
		}
		return err
	}
	return err
}

// remove removes name from the store.
func (s *diskStore) remove(name string) error {
	r, err := s.openRoot(false)
	if err != nil {
		return err
	}
	return s.fs.Remove(r, name)
}

// touch sets name's modification time, recording a use, unless name is
// not a regular file of one name: touching a hard link would change the
// time of the file elsewhere.
func (s *diskStore) touch(name string, t time.Time) {
	r, err := s.openRoot(false)
	if err != nil {
		return
	}
	// The times are set through the file opened and checked, not by name:
	// a name swapped for a link meanwhile changes nothing elsewhere.
	f, fi, err := s.openRegularIn(r, name)
	if err != nil {
		return
	}
	defer f.Close()
	if links(fi) == 1 {
		_ = touchOpen(f, t)
	}
}

// stat returns name's metadata, without following a symlink.
func (s *diskStore) stat(name string) (fs.FileInfo, error) {
	r, err := s.openRoot(false)
	if err != nil {
		return nil, err
	}
	return r.Lstat(name)
}

// pipelineMin is the size from which readEntry checksums the payload on
// another goroutine while it reads the rest, in chunks of pipelineChunk.
const (
	pipelineMin   = 4 << 20
	pipelineChunk = 2 << 20
)

// smallEntry is the size up to which readEntry reads a file in one read
// before it checks the header: as much as a junk file can cost.
const smallEntry = 64 << 10

// readEntry reads the entry file name: its header first, which must agree
// with the file's size, then the rest, in one allocation of that size (a
// file of at most smallEntry bytes in one read). It returns the file's
// modification time and, for a large file, the CRC-32C of its payload,
// computed on another core while the file is read, so that checking a big
// entry costs little beyond reading it.
func (s *diskStore) readEntry(name string) ([]byte, time.Time, *uint32, error) {
	f, fi, err := s.openRegular(name)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	defer f.Close()
	size := fi.Size()
	if size < entry.HeaderSize+entry.TrailerSize {
		return nil, time.Time{}, nil, fmt.Errorf("%w: %d bytes is too short", entry.ErrCorrupt, size)
	}
	if size <= smallEntry {
		data := make([]byte, int(size))
		if _, err := io.ReadFull(f, data); err != nil {
			return nil, time.Time{}, nil, err
		}
		if _, err := entry.ParseHeader(data, size); err != nil {
			return nil, time.Time{}, nil, err
		}
		return data, fi.ModTime(), nil, nil
	}
	head := make([]byte, entry.HeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, time.Time{}, nil, err
	}
	h, err := entry.ParseHeader(head, size)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	if s.signKey != nil && size > entry.BigSigned {
		// Whoever can write here but lacks the key cannot make this
		// reader hold what they planted in memory.
		err := entry.CheckMACReading(s.signKey, h, size, func(p []byte, off int64) error {
			_, err := f.ReadAt(p, off)
			return err
		})
		if err != nil {
			return nil, time.Time{}, nil, err
		}
	}
	data := make([]byte, int(size))
	copy(data, head)
	if size < pipelineMin {
		if _, err := io.ReadFull(f, data[entry.HeaderSize:]); err != nil {
			return nil, time.Time{}, nil, err
		}
		return data, fi.ModTime(), nil, nil
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
		return nil, time.Time{}, nil, err
	}
	return data, fi.ModTime(), &crc, nil
}

// readMeta reads and checks the header and metadata of the entry file
// name without reading its payload.
func (s *diskStore) readMeta(name string) (entry.Header, entry.Meta, fs.FileInfo, error) {
	f, fi, err := s.openRegular(name)
	if err != nil {
		return entry.Header{}, entry.Meta{}, fi, err
	}
	defer f.Close()
	h, m, err := entry.ReadHead(f, fi.Size())
	return h, m, fi, err
}

// What walk finds.
type fileKind int

const (
	kindEntry fileKind = iota
	kindTemp           // a temporary file: a write in progress, or left by a killed writer
	kindLock           // a per-key lock or lease file
	kindOdd            // not a regular file, named like one of the above, or a shard that is no directory
)

// walkHook, when set by a test, runs after walk has listed a shard and
// before it visits the shard's files.
var walkHook func(shard string)

// walk calls fn, with names relative to the store's directory, for every
// entry, temporary and lock file in the store, and for whatever is named
// like one (or like a shard) but is not a regular file (or a directory)
// as kindOdd; files it does not recognise are left alone. Shards that are
// not directories (a symlink, say) are not entered.
func (s *diskStore) walk(ctx context.Context, fn func(name string, kind fileKind) error) error {
	r, err := s.openRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := readDir(r, ".")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(sub.Name()) != 2 || !isHex(sub.Name()) {
			continue
		}
		if !sub.IsDir() {
			if err := fn(sub.Name(), kindOdd); err != nil {
				return err
			}
			continue
		}
		files, err := readDir(r, sub.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if walkHook != nil {
			walkHook(sub.Name())
		}
		for _, f := range files {
			kind := kindOf(f.Name())
			if kind < 0 {
				continue
			}
			if !f.Type().IsRegular() {
				kind = kindOdd
			}
			if err := fn(path.Join(sub.Name(), f.Name()), kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDir lists a directory of the root, without following a symlink in
// its place.
func readDir(r *os.Root, name string) ([]fs.DirEntry, error) {
	if fi, err := r.Lstat(name); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: %w", name, fs.ErrNotExist)
	}
	d, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// kindOf tells an entry, temporary or lock file by its name, or returns
// -1.
func kindOf(name string) fileKind {
	switch {
	case strings.HasPrefix(name, tempPrefix):
		return kindTemp
	case strings.HasSuffix(name, entrySuffix) && entry.ValidKey(strings.TrimSuffix(name, entrySuffix)):
		return kindEntry
	case strings.HasSuffix(name, lockSuffix) && entry.ValidKey(strings.TrimSuffix(name, lockSuffix)),
		strings.HasSuffix(name, leaseSuffix) && entry.ValidKey(strings.TrimSuffix(name, leaseSuffix)):
		return kindLock
	}
	return -1
}

// writeReadme writes the README that marks the directory as a cache, if it
// has none; best effort, since it only explains the directory to a person.
func (s *diskStore) writeReadme() {
	r, err := s.openRoot(true)
	if err != nil {
		return
	}
	f, err := r.OpenFile(cachedir.ReadmeName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return
	}
	f.WriteString(cachedir.ReadmeContent)
	f.Close()
}

// errNotPrivate is wrapped by checkPrivate's refusals.
var errNotPrivate = errors.New("cache directory refused")

// checkPrivate refuses a cache directory in which someone else could plant
// results: one that belongs to another user, or that others can write to,
// after resolving symlinks. A directory that does not exist yet holds
// nothing to serve. With shared, every directory is accepted.
func checkPrivate(dir string, shared bool) error {
	if shared {
		return nil
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cachegen: cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cachegen: cache directory %s is not a directory", dir)
	}
	fix := "set " + envDir + " to a directory of your own, or, if others are meant to share results there, set " + envSharedDir + "=1 (WithSharedDir)"
	uid, known := ownerOf(fi)
	mine := known && uid == os.Getuid()
	if known && !mine {
		return fmt.Errorf("cachegen: %w: %s belongs to another user (uid %d), who could plant results in it: %s", errNotPrivate, dir, uid, fix)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		if mine && fi.Mode()&fs.ModeSticky == 0 {
			// A directory of one's own that others can write to; never
			// a shared system directory such as /tmp.
			fix = "run chmod go-w " + dir + ", or " + fix
		}
		return fmt.Errorf("cachegen: %w: %s is writable by other users (mode %v), who could plant results in it: %s", errNotPrivate, dir, fi.Mode(), fix)
	}
	return nil
}

// keyOfName returns the key an entry, lock or lease file is named by, or "".
func keyOfName(name string) string {
	base := path.Base(name)
	for _, suffix := range []string{entrySuffix, lockSuffix, leaseSuffix} {
		if k, ok := strings.CutSuffix(base, suffix); ok && entry.ValidKey(k) {
			return k
		}
	}
	return ""
}

// The disk store is a Store too: the local tier of every Cache, and,
// through DirStore or a file:// URL, a remote tier in a directory that
// many machines share (over NFS, say).

func init() {
	remote.Register("file", func(_ context.Context, u *url.URL) (remote.Store, error) {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %s names host %q: want file:///absolute/path", u.Redacted(), u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("file URL %s has no path: want file:///absolute/path", u.Redacted())
		}
		return dirStore(u.Path)
	})
}

// dirStore returns a Store, and Leaser, that keeps its entries in dir,
// laid out as a Cache's directory (made if missing, mode 0700, with the
// README that marks it as a cache): entries become visible whole by
// rename, and leases are files created exclusively. Like a Cache's
// directory, it never reads or removes anything outside dir, nor reads
// anything but a regular file.
func dirStore(dir string) (remote.Store, error) {
	s := newDiskStore(dir, false, nil)
	if _, err := s.openRoot(true); err != nil {
		return nil, fmt.Errorf("cachegen: store directory: %w", err)
	}
	s.writeReadme()
	return s, nil
}

const leaseSuffix = ".lease"

// checkKey keeps a Store's callers from naming paths outside the store.
func checkKey(key string) error {
	if !entry.ValidKey(key) {
		return fmt.Errorf("%w: %s", ErrBadKey, quoteCut(key))
	}
	return nil
}

// Get reads the file of key whole; the tiers read entries header first
// with GetRange.
func (s *diskStore) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return s.readSmall(entryName(key), math.MaxInt64)
}

func (s *diskStore) GetRange(_ context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, fi, err := s.openRegular(entryName(key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, max(0, min(n, fi.Size()-off)))
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (s *diskStore) Put(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.write(key, data)
}

func (s *diskStore) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.removeEntry(entryName(key))
}

func (s *diskStore) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	return s.walk(ctx, func(name string, kind fileKind) error {
		if kind != kindEntry {
			return nil
		}
		fi, err := s.stat(name)
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(remote.StoreEntry{Key: strings.TrimSuffix(path.Base(name), entrySuffix), Size: fi.Size(), LastUsed: fi.ModTime()})
	})
}

func (s *diskStore) Close() error { return nil }

// Lease, Renew and Release keep each lease in the file xx/KEY.lease.
func (s *diskStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return lease.New(dirLeases{s}).Lease(ctx, key, token, ttl)
}

func (s *diskStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return lease.New(dirLeases{s}).Renew(ctx, key, token, ttl)
}

func (s *diskStore) Release(ctx context.Context, key, token string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return lease.New(dirLeases{s}).Release(ctx, key, token)
}

// dirLeases are the lease files of a disk store, named by key.
type dirLeases struct{ s *diskStore }

func (d dirLeases) CreateObject(_ context.Context, key string, body []byte) (bool, error) {
	r, err := d.s.openRoot(true)
	if err != nil {
		return false, err
	}
	if err := d.s.fs.MkdirAll(r, shard(key)); err != nil {
		return false, err
	}
	f, err := r.OpenFile(leaseName(key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

// ReadObject reads a lease file; one that is not a regular file, or is too
// large to be a lease, reads as no valid lease.
func (d dirLeases) ReadObject(_ context.Context, key string) ([]byte, error) {
	b, err := d.s.readSmall(leaseName(key), lease.MaxBody)
	if errors.Is(err, entry.ErrCorrupt) {
		return nil, nil
	}
	return b, err
}

// ReplaceObject writes by rename, so that a reader never sees half a lease.
func (d dirLeases) ReplaceObject(_ context.Context, key string, body []byte) error {
	return d.s.replace(leaseName(key), key, body)
}

func (d dirLeases) RemoveObject(_ context.Context, key string) error {
	if err := d.s.remove(leaseName(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
