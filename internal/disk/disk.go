package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
)

// Store keeps one file per entry under dir/xx/, where xx is the first
// two hex digits of the key: xx/KEY.entry, with the shard's usage record
// xx/.usage, its lock file xx/.locks on Linux (elsewhere xx/KEY.lock while
// a process computes KEY; see KeyLock) and xx/KEY.lease (a lease, when
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

// PendingDir holds a record for each entry that a cache with a remote tier
// stored while the remote was unreachable: an empty file named by its key.
const PendingDir = "pending"

// PendingName is the name of key's pending record.
func PendingName(key string) string { return path.Join(PendingDir, key) }

// PendingKeys returns the keys of the pending records whose entries the
// store holds, and removes the records of entries removed since (pruned,
// trimmed).
func (s *Store) PendingKeys() []string {
	r, err := s.OpenRoot(false)
	if err != nil {
		return nil
	}
	names, _ := fs.ReadDir(r.FS(), PendingDir)
	var keys []string
	for _, n := range names {
		if !entry.ValidKey(n.Name()) || !n.Type().IsRegular() {
			continue
		}
		if _, err := s.Stat(EntryName(n.Name())); errors.Is(err, fs.ErrNotExist) {
			s.Remove(PendingName(n.Name()))
			continue
		}
		keys = append(keys, n.Name())
	}
	return keys
}

func ShardOf(key string) string         { return key[:2] }
func EntryName(key string) string       { return path.Join(ShardOf(key), key+EntrySuffix) }
func LockName(key string) string        { return path.Join(ShardOf(key), key+LockSuffix) }
func LeaseName(key string) string       { return path.Join(ShardOf(key), key+LeaseSuffix) }
func (s *Store) Abs(name string) string { return filepath.Join(s.dir, filepath.FromSlash(name)) }

// Path returns the entry file of key, for messages and tests.
func (s *Store) Path(key string) string { return s.Abs(EntryName(key)) }

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

// WriteParts writes parts in order.
func WriteParts(parts [][]byte) func(io.Writer) error {
	return func(w io.Writer) error {
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// WriteEntry writes key's entry with write, and adds it to its shard's
// usage, renaming it into place under the usage record's lock so that a
// shard's clean counts it exactly once; it returns the shard's usage
// after it (counted false if the record could not be updated).
func (s *Store) WriteEntry(key string, write func(io.Writer) error) (u Usage, counted bool, err error) {
	name := EntryName(key)
	err = s.replaceWith(name, key, write, func(rename func() error) error {
		u, counted, err = s.withUsage(ShardOf(key), func() (Usage, error) {
			old, oerr := s.Stat(name)
			if err := rename(); err != nil {
				return Usage{}, err
			}
			fi, err := s.Stat(name)
			if err != nil {
				return Usage{}, nil // removed at once
			}
			if oerr == nil && old.Mode().IsRegular() {
				return Usage{Allocated(fi) - Allocated(old), 0}, nil // replaced
			}
			return Usage{Allocated(fi), 1}, nil
		})
		return err
	})
	return u, counted, err
}

// RemoveEntry removes the entry file name and takes it from its shard's
// usage.
func (s *Store) RemoveEntry(name string) error {
	_, _, err := s.withUsage(path.Dir(name), func() (Usage, error) {
		fi, err := s.Stat(name)
		if err != nil {
			return Usage{}, err
		}
		if err := s.Remove(name); err != nil {
			return Usage{}, err
		}
		if !fi.Mode().IsRegular() {
			return Usage{}, nil
		}
		return Usage{-Allocated(fi), -1}, nil
	})
	return err
}

// Replace writes parts to a temporary file beside name and renames it into
// place. If the directory itself was removed, it is made again once.
func (s *Store) Replace(name, key string, parts ...[]byte) error {
	return s.replaceWith(name, key, WriteParts(parts), nil)
}

// replaceWith is replace, with write writing the file, and commit, when
// set, running the rename.
func (s *Store) replaceWith(name, key string, write func(io.Writer) error, commit func(rename func() error) error) error {
	if _, ok := s.fs.(osFS); ok {
		if done, err := s.replaceAt(name, key, write, commit); done {
			return err
		}
	}
	var err error
	for range 2 {
		var r *os.Root
		if r, err = s.OpenRoot(true); err != nil {
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
		if f, err = s.fs.CreateTemp(r, path.Dir(name), TempPrefix+key+"-"); err != nil {
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

// Remove removes name from the store.
func (s *Store) Remove(name string) error {
	r, err := s.OpenRoot(false)
	if err != nil {
		return err
	}
	return s.fs.Remove(r, name)
}

// Touch sets name's modification time, recording a use, unless name is
// not a regular file of one name: touching a hard link would change the
// time of the file elsewhere.
func (s *Store) Touch(name string, t time.Time) {
	r, err := s.OpenRoot(false)
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

// What walk finds.
type FileKind int

const (
	KindEntry FileKind = iota
	KindTemp           // a temporary file: a write in progress, or left by a killed writer
	KindLock           // a per-key lock or lease file
	KindOdd            // not a regular file, named like one of the above, or a shard that is no directory
)

// walkHook, when set by a test, runs after Walk has listed a shard and
// before it visits the shard's files.
var walkHook func(shard string)

// Walk calls fn, with names relative to the store's directory, for every
// entry, temporary and lock file in the store, and for whatever is named
// like one (or like a shard) but is not a regular file (or a directory)
// as KindOdd; files it does not recognise are left alone. Shards that are
// not directories (a symlink, say) are not entered.
func (s *Store) Walk(ctx context.Context, fn func(name string, kind FileKind) error) error {
	r, err := s.OpenRoot(false)
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
		if _, err := hex.DecodeString(sub.Name()); len(sub.Name()) != 2 || err != nil || strings.ToLower(sub.Name()) != sub.Name() {
			continue
		}
		if !sub.IsDir() {
			if err := fn(sub.Name(), KindOdd); err != nil {
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
			kind := KindOf(f.Name())
			if kind < 0 {
				continue
			}
			if !f.Type().IsRegular() {
				kind = KindOdd
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

// KindOf tells an entry, temporary or lock file by its name, or returns
// -1.
func KindOf(name string) FileKind {
	switch {
	case strings.HasPrefix(name, TempPrefix):
		return KindTemp
	case strings.HasSuffix(name, EntrySuffix) && entry.ValidKey(strings.TrimSuffix(name, EntrySuffix)):
		return KindEntry
	case strings.HasSuffix(name, LockSuffix) && entry.ValidKey(strings.TrimSuffix(name, LockSuffix)),
		strings.HasSuffix(name, LeaseSuffix) && entry.ValidKey(strings.TrimSuffix(name, LeaseSuffix)):
		return KindLock
	}
	return -1
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

// KeyOfName returns the key an entry, lock or lease file is named by, or "".
func KeyOfName(name string) string {
	base := path.Base(name)
	for _, suffix := range []string{EntrySuffix, LockSuffix, LeaseSuffix} {
		if k, ok := strings.CutSuffix(base, suffix); ok && entry.ValidKey(k) {
			return k
		}
	}
	return ""
}

const LeaseSuffix = ".lease"

// errEntryExists stops CreateEntry's rename.
var errEntryExists = errors.New("entry exists")

// CreateEntry writes key's entry with write unless there is one, under
// the shard's usage lock, which every writer of the store's entries
// takes, so that of writers racing one creates it.
func (s *Store) CreateEntry(key string, write func(io.Writer) error) (bool, error) {
	name := EntryName(key)
	err := s.replaceWith(name, key, write, func(rename func() error) error {
		_, _, err := s.withUsage(ShardOf(key), func() (Usage, error) {
			if _, err := s.Stat(name); err == nil {
				return Usage{}, errEntryExists
			}
			if err := rename(); err != nil {
				return Usage{}, err
			}
			fi, err := s.Stat(name)
			if err != nil {
				return Usage{}, nil // removed at once
			}
			return Usage{Allocated(fi), 1}, nil
		})
		return err
	})
	if errors.Is(err, errEntryExists) {
		return false, nil
	}
	return err == nil, err
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
