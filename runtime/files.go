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
// Symbolic links are followed where the path itself, or a file inside a
// directory, is one; a symbolic link to a directory inside a directory is
// refused, as is anything that is not a regular file or a directory (a
// FIFO, a device, a socket). A path that cannot be read (missing,
// unreadable, refused) cannot be keyed: Do then computes the call without
// the cache, so that the function reports the problem itself, and logs why
// once per function.
//
// Keying an unchanged file costs one stat: a Cache keeps, in its
// directory, a memo of each file's digest with the device, inode, size,
// modification and change times it had when it was hashed, and hashes a
// file again only when one of them changed or when the file was modified
// within two seconds before it was hashed (a later edit in the same clock
// tick would not change its times).
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
// no files. A Dir without wildcards is keyed as a File.
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
	if st.dev, st.ino, st.ctime, ok = sysStat(fi); !ok {
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
	memo     *diskStore // nil: no memo on disk
	readOnly bool       // read the memo on disk, never write it

	mu  sync.Mutex
	mem map[string]memoRecord // by absolute path

	// Seams for tests: the clock, and the stat a memo compares.
	now    func() time.Time
	statOf func(fs.FileInfo) fileStat

	hashed atomic.Int64 // files hashed, for tests and benchmarks
}

func newDigester(memo *diskStore, readOnly bool) *digester {
	return &digester{memo: memo, readOnly: readOnly, mem: map[string]memoRecord{}, now: time.Now, statOf: statOf}
}

// memDigester keys file inputs where no cache is at hand (Call.Key).
var memDigester = newDigester(nil, false)

// input returns the digest of the file or directory at p, or, when glob
// is set and p has wildcards, of what the pattern p names.
func (d *digester) input(p string, glob bool) (entry.Input, error) {
	if p == "" {
		return entry.Input{}, &inputError{errNoInput}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", p, err)
	}
	if glob && hasMeta(p) {
		return d.globInput(abs)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return entry.Input{}, inputErrorf("input file: %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		sum, size, err := d.file(abs, fi)
		if err != nil {
			return entry.Input{}, err
		}
		return entry.Input{Path: abs, Size: size, Sum: sum[:]}, nil
	case fi.IsDir():
		var files []treeFile
		if err := d.tree(abs, "", &files); err != nil {
			return entry.Input{}, err
		}
		return listing(abs, files), nil
	}
	return entry.Input{}, inputErrorf("input %s is not a regular file or a directory (%v)", abs, fi.Mode().Type())
}

// hasMeta reports whether a path holds one of filepath.Match's wildcards.
func hasMeta(p string) bool {
	magic := `*?[`
	if filepath.Separator != '\\' {
		magic = `*?[\`
	}
	return strings.ContainsAny(p, magic)
}

// globInput keys the regular files a pattern names, relative to the
// pattern's base: the directory before its first wildcard.
func (d *digester) globInput(pattern string) (entry.Input, error) {
	base := pattern
	for hasMeta(base) {
		base = filepath.Dir(base)
	}
	if fi, err := os.Stat(base); err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
	} else if !fi.IsDir() {
		return entry.Input{}, inputErrorf("input %s: %s is not a directory", pattern, base)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
	}
	var files []treeFile
	for _, m := range matches {
		rel, err := filepath.Rel(base, m)
		if err != nil {
			return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(m)
		if err != nil {
			return entry.Input{}, inputErrorf("input %s: %w", pattern, err)
		}
		switch {
		case fi.Mode().IsRegular():
			sum, _, err := d.file(m, fi)
			if err != nil {
				return entry.Input{}, err
			}
			files = append(files, treeFile{rel, fi.Size(), sum})
		case fi.IsDir():
			if err := d.tree(m, rel+"/", &files); err != nil {
				return entry.Input{}, err
			}
		default:
			return entry.Input{}, inputErrorf("input %s is not a regular file or a directory (%v)", m, fi.Mode().Type())
		}
	}
	return listing(pattern, files), nil
}

// treeFile is a regular file found under a directory input.
type treeFile struct {
	rel  string // slash-separated, relative to the input
	size int64
	sum  [32]byte
}

// tree appends the regular files under the directory dir, named prefix +
// their path relative to dir.
func (d *digester) tree(dir, prefix string, out *[]treeFile) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return inputErrorf("input directory: %w", err)
	}
	for _, de := range ents {
		p := filepath.Join(dir, de.Name())
		rel := prefix + de.Name()
		switch t := de.Type(); {
		case t.IsDir():
			if err := d.tree(p, rel+"/", out); err != nil {
				return err
			}
			continue
		case t.IsRegular(), t&fs.ModeSymlink != 0:
		default:
			return inputErrorf("input %s is not a regular file or a directory (%v)", p, t)
		}
		fi, err := os.Stat(p) // follows a symbolic link
		if err != nil {
			return inputErrorf("input file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			what := fi.Mode().Type().String()
			if fi.IsDir() {
				what = "a symbolic link to a directory, which is not followed inside a directory input: name the directory it links to as an input of its own"
			}
			return inputErrorf("input %s is %s", p, what)
		}
		sum, size, err := d.file(p, fi)
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

// file returns the digest and size of the regular file at abs, whose stat
// was fi: from a memo the stat still matches, or by hashing it.
func (d *digester) file(abs string, fi fs.FileInfo) ([32]byte, int64, error) {
	cur := d.statOf(fi)
	d.mu.Lock()
	rec, ok := d.mem[abs]
	d.mu.Unlock()
	if ok && rec.trusted(cur) {
		return rec.sum, cur.size, nil
	}
	if rec, ok := d.readMemo(abs); ok && rec.trusted(cur) {
		d.remember(abs, rec)
		return rec.sum, cur.size, nil
	}
	rec, err := d.hash(abs)
	if err != nil {
		return [32]byte{}, 0, err
	}
	d.remember(abs, rec)
	d.writeMemo(abs, rec)
	return rec.sum, rec.stat.size, nil
}

func (d *digester) remember(abs string, rec memoRecord) {
	d.mu.Lock()
	d.mem[abs] = rec
	d.mu.Unlock()
}

// hash reads the regular file at abs whole. A file that changes while it
// is read is read again, a few times, and then refused.
func (d *digester) hash(abs string) (memoRecord, error) {
	for range 3 {
		rec, same, err := d.hashOnce(abs)
		if err != nil || same {
			return rec, err
		}
	}
	return memoRecord{}, inputErrorf("input %s changed each time it was read: key it once it is written", abs)
}

func (d *digester) hashOnce(abs string) (rec memoRecord, same bool, err error) {
	rec.hashedAt = d.now().UnixNano()
	// Non-blocking, so that a FIFO swapped in since the stat is refused
	// rather than waited on.
	f, err := os.OpenFile(abs, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return rec, false, inputErrorf("input file: %w", err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err == nil && !before.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%v)", abs, before.Mode().Type())
	}
	if err != nil {
		return rec, false, inputErrorf("input file: %w", err)
	}
	d.hashed.Add(1)
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return rec, false, inputErrorf("input file: %w", err)
	}
	after, err := f.Stat()
	if err != nil {
		return rec, false, inputErrorf("input file: %w", err)
	}
	rec.stat = d.statOf(before)
	h.Sum(rec.sum[:0])
	return rec, n == before.Size() && d.statOf(after) == rec.stat, nil
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
	memoDir    = "memo"
	memoSuffix = ".memo"
	memoMagic  = "cgmemo01"
	memoFixed  = len(memoMagic) + 6*8 + 32 + 2
	memoMax    = memoFixed + 1<<16 + 4
)

func memoName(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return memoDir + "/" + hex.EncodeToString(sum[:8]) + memoSuffix
}

func (d *digester) readMemo(abs string) (memoRecord, bool) {
	if d.memo == nil {
		return memoRecord{}, false
	}
	b, err := d.memo.readSmall(memoName(abs), int64(memoMax))
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
	_ = d.memo.replace(name, strings.TrimSuffix(filepath.Base(name), memoSuffix), encodeMemo(rec, abs))
}

// clearMemo removes the memo of file digests from the store.
func (s *diskStore) clearMemo() error {
	r, err := s.openRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ents, err := readDir(r, memoDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), memoSuffix) || strings.HasPrefix(e.Name(), tempPrefix) {
			if err := s.fs.Remove(r, memoDir+"/"+e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	_ = r.Remove(memoDir) // unless something else is in it
	return nil
}

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
