package runtime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
)

// File is a path to a data file or directory that a call reads: as a
// parameter, it is keyed by what the path holds, not by its text.
//
// A regular file is keyed by its size and the SHA-256 of its content:
//
//	{"__type__": "file", "sha256": "<64 hex>", "size": N}
//
// so the same content under another path, or on another machine, is the
// same key, and a changed file is a new one. A directory is keyed by every
// regular file under it, at any depth, as Dir describes.
//
// The path is resolved as the system resolves it (symbolic links
// followed, a ".." after a link leading out of its target). Inside a
// directory, a symbolic link to a file is followed and one to a directory
// is refused, as is anything that is not a regular file or a directory (a
// FIFO, a device, a socket); a cache directory inside it is left out. A
// path that cannot be read (missing, unreadable, refused) cannot be keyed:
// Do then computes the call without the cache, so that the function
// reports the problem itself, and logs why once per function. A result
// computed while an input file changed is returned and not stored.
//
// Keying an unchanged file costs an open and an fstat: a Cache keeps, in
// its directory, a memo of each file's digest with the device, inode,
// size, modification and change times it had when it was hashed, and
// hashes a file again only when one of them changed or when the file was
// modified within two seconds before it was hashed (a later edit in the
// same clock tick would not change its times). Where the system gives no
// inode or change time, every file is hashed at every call.
type File string

// Dir is a directory, or a glob pattern (filepath.Match syntax) naming
// files and directories, that a call reads: as a parameter, it is keyed by
// the regular files it names, at any depth:
//
//	{"__type__": "dir", "count": N, "sha256": "<64 hex>", "size": BYTES}
//
// where the digest covers each file's name relative to the directory (for
// a pattern, to the part of the pattern before its first wildcard), its
// size and the SHA-256 of its content, in name order. Adding, removing,
// renaming or changing a file changes the key; empty directories do not.
// A pattern that matches nothing, in a directory that exists, is keyed as
// no files. A Dir without wildcards, or naming a file or directory that
// exists, is keyed as a File.
type Dir string

// Files converts a list of paths to Files, so that each is keyed by its
// content. Generated wrappers use it for a []string parameter named in
// files=.
func Files[S ~string](paths []S) []File {
	if paths == nil {
		return nil
	}
	out := make([]File, len(paths))
	for i, p := range paths {
		out[i] = File(p)
	}
	return out
}

var (
	fileType = reflect.TypeFor[File]()
	dirType  = reflect.TypeFor[Dir]()
)

// inputError is a file input that cannot be read: not a key error, since
// the function itself reads the file and should report the problem.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

func inputErrorf(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// racyWindow is how long after its last modification a file must have
// been hashed for its memo to be trusted: filesystems keep times in ticks
// as coarse as two seconds, and an edit in the tick the file was hashed
// in would leave its times as they were.
const racyWindow = 2 * time.Second

// fileStat is what a memo compares: when all of it is unchanged, so is
// the file.
type fileStat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// statOf returns what a memo compares of a file's metadata: where the
// system gives no inode or change time, the size and modification time.
func statOf(fi fs.FileInfo) fileStat {
	st := fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	var ok bool
	if st.dev, st.ino, st.ctime, ok = disk.SysStat(fi); !ok {
		st.ctime = st.mtime
	}
	return st
}

// memoRecord is a file's digest and the stat it was taken under.
type memoRecord struct {
	stat     fileStat
	hashedAt int64 // nanoseconds since the epoch, taken before the file was opened
	sum      [32]byte
}

// trusted reports whether rec still gives the digest of a file whose stat
// is now cur.
func (rec memoRecord) trusted(cur fileStat) bool {
	limit := rec.hashedAt - int64(racyWindow)
	return rec.stat == cur && rec.stat.mtime < limit && rec.stat.ctime < limit
}

// digester keys file inputs: it hashes files and remembers their digests,
// in memory and, for a private cache directory, in the directory's memo,
// so that an unchanged file is not hashed again.
type digester struct {
	memo     *disk.Store // nil: no memo on disk
	readOnly bool        // read the memo on disk, never write it

	mu  sync.Mutex
	mem map[string]memoRecord // by real path

	// Seams for tests: the clock, the stat a memo compares, and a hook
	// that runs after a file is read and before it is checked again.
	now       func() time.Time
	statOf    func(fs.FileInfo) fileStat
	afterRead func(path string)

	hashed atomic.Int64 // files hashed, for tests and benchmarks
}

// memMax bounds the digests a digester keeps in memory.
const memMax = 1 << 16

func newDigester(memo *disk.Store, readOnly bool) *digester {
	return &digester{memo: memo, readOnly: readOnly, mem: map[string]memoRecord{}, now: time.Now, statOf: statOf}
}

// memDigester keys file inputs where no cache is at hand (Call.Key).
var memDigester = newDigester(nil, false)

// keyed is what keying a call's inputs saw of each file it read, in
// order: the same inputs, unchanged, give the same list.
type keyed []fileStat

// input returns the digest of the file or directory at p, or, when glob
// is set and p is a pattern, of the files and directories it matches.
// It appends the stat of each file it keys to seen.
func (d *digester) input(p string, glob bool, seen *keyed) (entry.Input, error) {
	if p == "" {
		return entry.Input{}, &inputError{errNoInput}
	}
	if glob && hasMeta(p) {
		if _, err := os.Lstat(p); err != nil { // a name that exists is a path, not a pattern
			return d.globInput(p, seen)
		}
	}
	real, err := realPath(p)
	if err != nil {
		return entry.Input{}, inputErrorf("input file: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return entry.Input{}, inputErrorf("input file: %w", err)
	}
	if fi.IsDir() {
		var files []treeFile
		if err := d.tree(real, "", &files, seen); err != nil {
			return entry.Input{}, err
		}
		return listing(real, files), nil
	}
	sum, size, err := d.file(real, seen)
	if err != nil {
		return entry.Input{}, err
	}
	return entry.Input{Path: real, Size: size, Sum: sum[:]}, nil
}

// realPath returns p, absolute, with every symbolic link resolved as the
// system resolves it: a ".." after a link leads out of the link's target,
// not back out of the link.
func realPath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		cwd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		if cwd, err = filepath.EvalSymlinks(cwd); err != nil {
			return "", err
		}
		p = cwd + string(filepath.Separator) + p
	}
	return filepath.EvalSymlinks(p)
}

// hasMeta reports whether a path holds one of filepath.Match's wildcards
// outside its volume name.
func hasMeta(p string) bool {
	magic := `*?[`
	if filepath.Separator != '\\' {
		magic = `*?[\`
	}
	return strings.ContainsAny(p[len(filepath.VolumeName(p)):], magic)
}

// globInput keys the regular files a pattern names, relative to the
// pattern's base: the directory before its first wildcard.
func (d *digester) globInput(pattern string, seen *keyed) (entry.Input, error) {
	sep := string(filepath.Separator)
	vol := filepath.VolumeName(pattern)
	parts := strings.Split(filepath.ToSlash(pattern[len(vol):]), "/")
	i := max(slices.IndexFunc(parts, hasMeta), 0)
	base, rest := vol+strings.Join(parts[:i], sep), parts[i:]
	if base == vol && i > 0 {
		base += sep // the pattern starts at the root
	}
	if slices.Contains(rest, "..") || slices.Contains(rest, ".") {
		return entry.Input{}, inputErrorf("input %s: a pattern may not hold . or .. after its first wildcard", pattern)
	}
	if base == "" {
		base = "."
	}
	real, err := realPath(base)
	if err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
	}
	if fi, err := os.Stat(real); err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
	} else if !fi.IsDir() {
		return entry.Input{}, inputErrorf("input %s: %s is not a directory", pattern, base)
	}
	matches, err := filepath.Glob(real + sep + strings.Join(rest, sep))
	if err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
	}
	var files []treeFile
	for _, m := range matches {
		rel, err := filepath.Rel(real, m)
		if err != nil {
			return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(m)
		switch {
		case err != nil:
			return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
		case fi.IsDir():
			if err := d.tree(m, rel+"/", &files, seen); err != nil {
				return entry.Input{}, err
			}
			continue
		}
		sum, size, err := d.file(m, seen)
		if err != nil {
			return entry.Input{}, err
		}
		files = append(files, treeFile{rel, size, sum})
	}
	return listing(real+sep+strings.Join(rest, sep), files), nil
}

// treeFile is a regular file found under a directory input.
type treeFile struct {
	rel  string // slash-separated, relative to the input
	size int64
	sum  [32]byte
}

// tree appends the regular files under the directory dir, named prefix +
// their path relative to dir. A cache directory inside it is left out: it
// changes with every call stored.
func (d *digester) tree(dir, prefix string, out *[]treeFile, seen *keyed) error {
	if prefix != "" && cachedir.Check(dir) == nil {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return inputErrorf("input directory: %w", err)
	}
	for _, de := range ents {
		p := filepath.Join(dir, de.Name())
		rel := prefix + de.Name()
		switch t := de.Type(); {
		case t.IsDir():
			if err := d.tree(p, rel+"/", out, seen); err != nil {
				return err
			}
			continue
		case t.IsRegular():
		case t&fs.ModeSymlink != 0:
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				return inputErrorf("input %s is a symbolic link to a directory, which is not followed inside a directory input: name the directory it links to as an input of its own", p)
			}
		default:
			return inputErrorf("input %s is not a regular file or a directory (%v)", p, t)
		}
		sum, size, err := d.file(p, seen)
		if err != nil {
			return err
		}
		*out = append(*out, treeFile{rel, size, sum})
	}
	return nil
}

// listing is the Input of a directory or pattern holding files.
func listing(path string, files []treeFile) entry.Input {
	slices.SortFunc(files, func(a, b treeFile) int { return strings.Compare(a.rel, b.rel) })
	h := sha256.New()
	var buf []byte
	var total int64
	for _, f := range files {
		buf = binary.AppendUvarint(buf[:0], uint64(len(f.rel)))
		buf = append(buf, f.rel...)
		buf = binary.AppendUvarint(buf, uint64(f.size))
		buf = append(buf, f.sum[:]...)
		h.Write(buf)
		total += f.size
	}
	return entry.Input{Path: path, Dir: true, Count: len(files), Size: total, Sum: h.Sum(nil)}
}

// file returns the digest and size of the regular file at path: from a
// memo that the stat of the open file still matches, or by reading it. It
// opens the file first, without blocking, so that what it stats is what a
// reader opens (a network filesystem revalidates its cached times on open)
// and a FIFO is refused rather than waited on. A file that changes while
// it is read is read again, a few times, and then refused.
func (d *digester) file(path string, seen *keyed) ([32]byte, int64, error) {
	for range 3 {
		start := d.now().UnixNano() // before the open: see memoRecord.trusted
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return [32]byte{}, 0, inputErrorf("input file: %w", err)
		}
		rec, ok, err := d.fileOnce(f, path, start)
		f.Close()
		if err != nil {
			return [32]byte{}, 0, err
		}
		if ok {
			*seen = append(*seen, rec.stat)
			return rec.sum, rec.stat.size, nil
		}
	}
	return [32]byte{}, 0, inputErrorf("input %s changed each time it was read: key it once it is written", path)
}

// fileOnce is one attempt of file on the open file f: it reports false if
// f changed while it was read.
func (d *digester) fileOnce(f *os.File, path string, start int64) (memoRecord, bool, error) {
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file or a directory (%v)", path, fi.Mode().Type())
	}
	if err != nil {
		return memoRecord{}, false, inputErrorf("input %w", err)
	}
	cur := d.statOf(fi)
	if rec, ok := d.recall(path, cur); ok {
		return rec, true, nil
	}
	d.hashed.Add(1)
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return memoRecord{}, false, inputErrorf("input file: %w", err)
	}
	if d.afterRead != nil {
		d.afterRead(path)
	}
	after, err := f.Stat()
	if err != nil {
		return memoRecord{}, false, inputErrorf("input file: %w", err)
	}
	if n != cur.size || d.statOf(after) != cur {
		return memoRecord{}, false, nil
	}
	rec := memoRecord{stat: cur, hashedAt: start}
	h.Sum(rec.sum[:0])
	d.remember(path, rec)
	d.writeMemo(path, rec)
	return rec, true, nil
}

// recall returns the memo of path if it is trusted for the stat cur: from
// memory, or else from the memo on disk.
func (d *digester) recall(path string, cur fileStat) (memoRecord, bool) {
	if !disk.MemoSupported {
		return memoRecord{}, false
	}
	d.mu.Lock()
	rec, ok := d.mem[path]
	d.mu.Unlock()
	if ok && rec.trusted(cur) {
		return rec, true
	}
	if rec, ok := d.readMemo(path); ok && rec.trusted(cur) {
		d.remember(path, rec)
		return rec, true
	}
	return memoRecord{}, false
}

func (d *digester) remember(path string, rec memoRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.mem) >= memMax {
		clear(d.mem)
	}
	d.mem[path] = rec
}

// The memo on disk: one small file per input path, memo/<hex>.memo, in the
// cache directory:
//
//	"cgmemo01", dev, ino, size, mtime, ctime, hashedAt (8 bytes each,
//	little-endian), SHA-256 (32), path length (2), path, CRC-32C (4)
//
// A record that is short, fails its checksum or names another path is
// ignored, and replaced once the file is hashed.
const (
	memoMagic = "cgmemo01"
	memoFixed = len(memoMagic) + 6*8 + 32 + 2
	memoMax   = memoFixed + 1<<16 + 4
)

func memoName(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return disk.MemoDir + "/" + hex.EncodeToString(sum[:8]) + disk.MemoSuffix
}

func (d *digester) readMemo(abs string) (memoRecord, bool) {
	if d.memo == nil {
		return memoRecord{}, false
	}
	b, err := d.memo.ReadSmall(memoName(abs), int64(memoMax))
	if err != nil {
		return memoRecord{}, false
	}
	return decodeMemo(b, abs)
}

func (d *digester) writeMemo(abs string, rec memoRecord) {
	if d.memo == nil || d.readOnly || len(abs) > 1<<16-1 {
		return
	}
	name := memoName(abs)
	_ = d.memo.Replace(name, strings.TrimSuffix(filepath.Base(name), disk.MemoSuffix), encodeMemo(rec, abs))
}

// memoMaxAge is how long a memo record is kept after its file was last
// hashed: Prune, and trimming to a size limit, remove older ones, so that
// records of files long gone do not pile up. A file still in use is
// hashed again once.
const memoMaxAge = 30 * 24 * time.Hour

func encodeMemo(rec memoRecord, abs string) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, memoFixed+len(abs)+4)
	b = append(b, memoMagic...)
	for _, v := range []uint64{rec.stat.dev, rec.stat.ino, uint64(rec.stat.size), uint64(rec.stat.mtime), uint64(rec.stat.ctime), uint64(rec.hashedAt)} {
		b = le.AppendUint64(b, v)
	}
	b = append(b, rec.sum[:]...)
	b = le.AppendUint16(b, uint16(len(abs)))
	b = append(b, abs...)
	return le.AppendUint32(b, entry.CRC32C(b))
}

func decodeMemo(b []byte, abs string) (memoRecord, bool) {
	le := binary.LittleEndian
	if len(b) != memoFixed+len(abs)+4 || string(b[:len(memoMagic)]) != memoMagic {
		return memoRecord{}, false
	}
	body, crc := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if entry.CRC32C(body) != crc {
		return memoRecord{}, false
	}
	var v [6]uint64
	for i := range v {
		v[i] = le.Uint64(b[len(memoMagic)+8*i:])
	}
	var rec memoRecord
	rec.stat = fileStat{dev: v[0], ino: v[1], size: int64(v[2]), mtime: int64(v[3]), ctime: int64(v[4])}
	rec.hashedAt = int64(v[5])
	off := len(memoMagic) + 48
	copy(rec.sum[:], b[off:off+32])
	off += 32
	if int(le.Uint16(b[off:])) != len(abs) || string(b[off+2:off+2+len(abs)]) != abs {
		return memoRecord{}, false
	}
	return rec, true
}

// appendInput appends the spelling of a file input to a key's text.
func appendInput(b []byte, in entry.Input) []byte {
	if in.Dir {
		b = append(b, `{"__type__": "dir", "count": `...)
		b = strconv.AppendInt(b, int64(in.Count), 10)
		b = append(b, `, "sha256": "`...)
	} else {
		b = append(b, `{"__type__": "file", "sha256": "`...)
	}
	b = hex.AppendEncode(b, in.Sum)
	b = append(b, `", "size": `...)
	b = strconv.AppendInt(b, in.Size, 10)
	return append(b, '}')
}

// errNoInput refuses an empty path, which would otherwise name the
// working directory.
var errNoInput = errors.New("input file: the path is empty")
