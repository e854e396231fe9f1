package keying

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

// InputError is a file input that cannot be read: not a key error, since
// the function itself reads the file and should report the problem.
type InputError struct{ err error }

func (e *InputError) Error() string { return e.err.Error() }
func (e *InputError) Unwrap() error { return e.err }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// RacyWindow is how long after its last modification a file must have
// been hashed for its memo to be trusted: filesystems keep times in ticks
// as coarse as two seconds, and an edit in the tick the file was hashed
// in would leave its times as they were.
const RacyWindow = 2 * time.Second

// FileStat is what a memo compares: when all of it is unchanged, so is
// the file.
type FileStat struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// StatOf returns what a memo compares of a file's metadata: where the
// system gives no inode or change time, the size and modification time.
func StatOf(fi fs.FileInfo) FileStat {
	st := FileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	var ok bool
	if st.Dev, st.Ino, st.Ctime, ok = disk.SysStat(fi); !ok {
		st.Ctime = st.Mtime
	}
	return st
}

// MemoRecord is a file's digest and the stat it was taken under.
type MemoRecord struct {
	Stat     FileStat
	HashedAt int64 // nanoseconds since the epoch, taken before the file was opened
	Sum      [32]byte
}

// trusted reports whether rec still gives the digest of a file whose stat
// is now cur.
func (rec MemoRecord) trusted(cur FileStat) bool {
	limit := rec.HashedAt - int64(RacyWindow)
	return rec.Stat == cur && rec.Stat.Mtime < limit && rec.Stat.Ctime < limit
}

// Digester keys file inputs: it hashes files and remembers their digests,
// in memory and, for a private cache directory, in the directory's memo,
// so that an unchanged file is not hashed again.
type Digester struct {
	memo     *disk.Store // nil: no memo on disk
	readOnly bool        // read the memo on disk, never write it

	mu  sync.Mutex
	mem map[string]MemoRecord // by real path

	// Seams for tests: the clock, the stat a memo compares, and a hook
	// that runs after a file is read and before it is checked again.
	Now       func() time.Time
	StatOf    func(fs.FileInfo) FileStat
	AfterRead func(path string)

	Hashed atomic.Int64 // files hashed, for tests and benchmarks
}

// memMax bounds the digests a Digester keeps in memory.
const memMax = 1 << 16

func NewDigester(memo *disk.Store, readOnly bool) *Digester {
	return &Digester{memo: memo, readOnly: readOnly, mem: map[string]MemoRecord{}, Now: time.Now, StatOf: StatOf}
}

// inputPkg is the package of the types whose values are keyed by what
// their paths hold: runtime.File and runtime.Dir, known by their package
// and name, so that nothing has to register them.
var inputPkg = "github.com/cachegen/cachegen/runtime"

// inputType reports whether t is runtime.File (isInput) or runtime.Dir
// (isInput and dir).
func inputType(t reflect.Type) (isInput, dir bool) {
	if t.Kind() != reflect.String || t.PkgPath() != inputPkg {
		return false, false
	}
	switch t.Name() {
	case "File":
		return true, false
	case "Dir":
		return true, true
	}
	return false, false
}

// MemDigester keys file inputs where no cache is at hand (Call.Key).
var MemDigester = NewDigester(nil, false)

// Seen is what keying a call's inputs saw of each file it read, in
// order: the same inputs, unchanged, give the same list.
type Seen []FileStat

// input returns the digest of the file or directory at p, or, when glob
// is set and p is a pattern, of the files and directories it matches.
// It appends the stat of each file it keys to seen.
func (d *Digester) input(p string, glob bool, seen *Seen) (entry.Input, error) {
	if p == "" {
		return entry.Input{}, &InputError{ErrNoInput}
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
		var files []TreeFile
		if err := d.tree(real, "", &files, seen); err != nil {
			return entry.Input{}, err
		}
		return Listing(real, files), nil
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
func (d *Digester) globInput(pattern string, seen *Seen) (entry.Input, error) {
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
	var files []TreeFile
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
		files = append(files, TreeFile{rel, size, sum})
	}
	return Listing(real+sep+strings.Join(rest, sep), files), nil
}

// TreeFile is a regular file found under a directory input.
type TreeFile struct {
	Rel  string // slash-separated, relative to the input
	Size int64
	Sum  [32]byte
}

// tree appends the regular files under the directory dir, named prefix +
// their path relative to dir. A cache directory inside it is left out: it
// changes with every call stored.
func (d *Digester) tree(dir, prefix string, out *[]TreeFile, seen *Seen) error {
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
		*out = append(*out, TreeFile{rel, size, sum})
	}
	return nil
}

// Listing is the Input of a directory or pattern holding files.
func Listing(path string, files []TreeFile) entry.Input {
	slices.SortFunc(files, func(a, b TreeFile) int { return strings.Compare(a.Rel, b.Rel) })
	h := sha256.New()
	var buf []byte
	var total int64
	for _, f := range files {
		buf = binary.AppendUvarint(buf[:0], uint64(len(f.Rel)))
		buf = append(buf, f.Rel...)
		buf = binary.AppendUvarint(buf, uint64(f.Size))
		buf = append(buf, f.Sum[:]...)
		h.Write(buf)
		total += f.Size
	}
	return entry.Input{Path: path, Dir: true, Count: len(files), Size: total, Sum: h.Sum(nil)}
}

// file returns the digest and size of the regular file at path: from a
// memo that the stat of the open file still matches, or by reading it. It
// opens the file first, without blocking, so that what it stats is what a
// reader opens (a network filesystem revalidates its cached times on open)
// and a FIFO is refused rather than waited on. A file that changes while
// it is read is read again, a few times, and then refused.
func (d *Digester) file(path string, seen *Seen) ([32]byte, int64, error) {
	for range 3 {
		start := d.Now().UnixNano() // before the open: see MemoRecord.trusted
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
			*seen = append(*seen, rec.Stat)
			return rec.Sum, rec.Stat.Size, nil
		}
	}
	return [32]byte{}, 0, inputErrorf("input %s changed each time it was read: key it once it is written", path)
}

// fileOnce is one attempt of file on the open file f: it reports false if
// f changed while it was read.
func (d *Digester) fileOnce(f *os.File, path string, start int64) (MemoRecord, bool, error) {
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file or a directory (%v)", path, fi.Mode().Type())
	}
	if err != nil {
		return MemoRecord{}, false, inputErrorf("input %w", err)
	}
	cur := d.StatOf(fi)
	if rec, ok := d.recall(path, cur); ok {
		return rec, true, nil
	}
	d.Hashed.Add(1)
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return MemoRecord{}, false, inputErrorf("input file: %w", err)
	}
	if d.AfterRead != nil {
		d.AfterRead(path)
	}
	after, err := f.Stat()
	if err != nil {
		return MemoRecord{}, false, inputErrorf("input file: %w", err)
	}
	if n != cur.Size || d.StatOf(after) != cur {
		return MemoRecord{}, false, nil
	}
	rec := MemoRecord{Stat: cur, HashedAt: start}
	h.Sum(rec.Sum[:0])
	d.remember(path, rec)
	d.writeMemo(path, rec)
	return rec, true, nil
}

// recall returns the memo of path if it is trusted for the stat cur: from
// memory, or else from the memo on disk.
func (d *Digester) recall(path string, cur FileStat) (MemoRecord, bool) {
	if !disk.MemoSupported {
		return MemoRecord{}, false
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
	return MemoRecord{}, false
}

func (d *Digester) remember(path string, rec MemoRecord) {
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
//	little-endian), SHA-256 (32), path length (2), path, CRC-32 (4)
//
// A record that is short, fails its checksum or names another path is
// ignored, and replaced once the file is hashed.
const (
	memoMagic = "cgmemo01"
	memoFixed = len(memoMagic) + 6*8 + 32 + 2
	MemoMax   = memoFixed + 1<<16 + 4
)

func MemoName(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return disk.MemoDir + "/" + hex.EncodeToString(sum[:8]) + disk.MemoSuffix
}

func (d *Digester) readMemo(abs string) (MemoRecord, bool) {
	if d.memo == nil {
		return MemoRecord{}, false
	}
	b, err := d.memo.ReadSmall(MemoName(abs), int64(MemoMax))
	if err != nil {
		return MemoRecord{}, false
	}
	return DecodeMemo(b, abs)
}

func (d *Digester) writeMemo(abs string, rec MemoRecord) {
	if d.memo == nil || d.readOnly || len(abs) > 1<<16-1 {
		return
	}
	name := MemoName(abs)
	_ = d.memo.Replace(name, strings.TrimSuffix(filepath.Base(name), disk.MemoSuffix), EncodeMemo(rec, abs))
}

// MemoMaxAge is how long a memo record is kept after its file was last
// hashed: Prune, and trimming to a size limit, remove older ones, so that
// records of files long gone do not pile up. A file still in use is
// hashed again once.
const MemoMaxAge = 30 * 24 * time.Hour

func EncodeMemo(rec MemoRecord, abs string) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, memoFixed+len(abs)+4)
	b = append(b, memoMagic...)
	for _, v := range []uint64{rec.Stat.Dev, rec.Stat.Ino, uint64(rec.Stat.Size), uint64(rec.Stat.Mtime), uint64(rec.Stat.Ctime), uint64(rec.HashedAt)} {
		b = le.AppendUint64(b, v)
	}
	b = append(b, rec.Sum[:]...)
	b = le.AppendUint16(b, uint16(len(abs)))
	b = append(b, abs...)
	return le.AppendUint32(b, entry.Checksum(b))
}

func DecodeMemo(b []byte, abs string) (MemoRecord, bool) {
	le := binary.LittleEndian
	if len(b) != memoFixed+len(abs)+4 || string(b[:len(memoMagic)]) != memoMagic {
		return MemoRecord{}, false
	}
	body, crc := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if entry.Checksum(body) != crc {
		return MemoRecord{}, false
	}
	var v [6]uint64
	for i := range v {
		v[i] = le.Uint64(b[len(memoMagic)+8*i:])
	}
	var rec MemoRecord
	rec.Stat = FileStat{Dev: v[0], Ino: v[1], Size: int64(v[2]), Mtime: int64(v[3]), Ctime: int64(v[4])}
	rec.HashedAt = int64(v[5])
	off := len(memoMagic) + 48
	copy(rec.Sum[:], b[off:off+32])
	off += 32
	if int(le.Uint16(b[off:])) != len(abs) || string(b[off+2:off+2+len(abs)]) != abs {
		return MemoRecord{}, false
	}
	return rec, true
}

// AppendInput appends the spelling of a file input to a key's text.
func AppendInput(b []byte, in entry.Input) []byte {
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

// ErrNoInput refuses an empty path, which would otherwise name the
// working directory.
var ErrNoInput = errors.New("input file: the path is empty")
