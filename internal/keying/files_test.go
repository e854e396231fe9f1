package keying

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
)

// File and Dir stand for runtime.File and runtime.Dir, which keying knows
// by their package and name (see inputType).
type (
	File string
	Dir  string
)

func init() { inputPkg = "github.com/cachegen/cachegen/internal/keying" } // this package's File and Dir, above

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tempDir is t.TempDir with its symbolic links resolved, as inputs name
// their paths.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// newDigester returns a digester whose files count as hashed a minute from
// now: their memos are trusted at once, as they are once a file has been
// left alone for RacyWindow.
func newDigester(memo *disk.Store, readOnly bool) *Digester {
	d := NewDigester(memo, readOnly)
	d.Now = func() time.Time { return time.Now().Add(time.Minute) }
	return d
}

// spellIn spells v as the parameter "in" with d.
func spellIn(t *testing.T, d *Digester, v any) Spelling {
	t.Helper()
	sp, err := Spell(map[string]any{"in": v}, d)
	if err != nil {
		t.Fatalf("Spell(%v): %v", v, err)
	}
	return sp
}

// textOf is the spelling of v as the parameter "in".
func textOf(t *testing.T, d *Digester, v any) string {
	t.Helper()
	return string(spellIn(t, d, v).Text)
}

// fileText is the spelling of a regular file holding content.
func fileText(content string) string {
	return `{"in": {"__type__": "file", "sha256": "` + hexSHA256([]byte(content)) + `", "size": ` + fmt.Sprint(len(content)) + `}}`
}

// dirText is the spelling of a directory holding files, by their relative
// names, as docs/keys.md and Listing describe it, computed here apart.
func dirText(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names) // by the bytes of the slash-separated names
	h := sha256.New()
	total := 0
	for _, n := range names {
		var b []byte
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = binary.AppendUvarint(b, uint64(len(files[n])))
		s := sha256.Sum256([]byte(files[n]))
		h.Write(append(b, s[:]...))
		total += len(files[n])
	}
	return fmt.Sprintf(`{"in": {"__type__": "dir", "count": %d, "sha256": "%s", "size": %d}}`, len(files), hex.EncodeToString(h.Sum(nil)), total)
}

// A file input is spelled by its content, size and SHA-256, never its
// path; the spelling lists the input and the stat of the file read.
func TestFileIsKeyedByContent(t *testing.T) {
	d := newDigester(nil, false)
	root := tempDir(t)
	a, b := filepath.Join(root, "here", "table.dat"), filepath.Join(root, "elsewhere", "copy.dat")
	writeFile(t, a, "absorption lines")
	writeFile(t, b, "absorption lines")
	sp := spellIn(t, d, File(a))
	if got, want := string(sp.Text), fileText("absorption lines"); got != want {
		t.Fatalf("spelled %s, want %s", got, want)
	}
	sum := sha256.Sum256([]byte("absorption lines"))
	if len(sp.Inputs) != 1 || sp.Inputs[0].Path != a || sp.Inputs[0].Size != 16 || string(sp.Inputs[0].Sum) != string(sum[:]) || sp.Inputs[0].Dir {
		t.Errorf("inputs %+v, want %s of 16 bytes", sp.Inputs, a)
	}
	if len(sp.Seen) != 1 || sp.Seen[0].Size != 16 || sp.Seen[0].Ino == 0 {
		t.Errorf("seen %+v, want the stat of the one file read", sp.Seen)
	}
	if textOf(t, d, File(b)) != string(sp.Text) {
		t.Error("the same content at another path keys apart")
	}
	if textOf(t, d, a) == string(sp.Text) {
		t.Error("a path as a string keys like the file's content")
	}
	writeFile(t, a, "other lines")
	if got := textOf(t, d, File(a)); got != fileText("other lines") {
		t.Errorf("after a change: %s, want %s", got, fileText("other lines"))
	}
	// A slice of files keys each by content.
	sp = spellIn(t, d, []File{File(a), File(b)})
	if len(sp.Inputs) != 2 || len(sp.Seen) != 2 || !strings.Contains(string(sp.Text), hexSHA256([]byte("other lines"))) {
		t.Errorf("two files: %s, %+v", sp.Text, sp.Inputs)
	}
	// A relative path is the working directory's.
	t.Chdir(filepath.Join(root, "elsewhere"))
	if textOf(t, d, File("copy.dat")) != fileText("absorption lines") {
		t.Error("a relative path keys unlike its file")
	}
}

// What cannot be read is an InputError: the function reads the file
// itself, and reports it better.
func TestFileInputsThatCannotBeRead(t *testing.T) {
	d := newDigester(nil, false)
	missing := filepath.Join(t.TempDir(), "missing.txt")
	if _, err := Spell(map[string]any{"in": File(missing)}, d); !errors.As(err, new(*InputError)) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "parameter in") {
		t.Errorf("a missing file: %v, want an InputError naming the parameter", err)
	}
	if _, err := Spell(map[string]any{"in": File("")}, d); !errors.Is(err, ErrNoInput) || !errors.As(err, new(*InputError)) {
		t.Errorf("an empty path: %v, want ErrNoInput", err)
	}
	for _, v := range []any{map[File]float64{File(missing): 1}, map[Dir]int{}} {
		if _, err := Spell(map[string]any{"in": v}, d); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "cannot be a map key") {
			t.Errorf("%T: %v, want it refused as a map key", v, err)
		}
	}
}

// An unchanged file is hashed once: its digest is remembered with its
// stat, and a changed stat, or a changed file, is hashed again.
func TestFileMemo(t *testing.T) {
	d := newDigester(nil, false)
	path := filepath.Join(tempDir(t), "scene.bin")
	writeFile(t, path, strings.Repeat("x", 1<<16))
	for range 3 {
		textOf(t, d, File(path))
	}
	if h := d.Hashed.Load(); h != 1 {
		t.Fatalf("three spellings of an unchanged file hashed it %d times, want 1", h)
	}
	// Touched: its content is as it was, but only a read can tell.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	want := fileText(strings.Repeat("x", 1<<16))
	for range 2 {
		if got := textOf(t, d, File(path)); got != want {
			t.Fatalf("after a touch: %s", got)
		}
	}
	if h := d.Hashed.Load(); h != 2 {
		t.Fatalf("after a touch: hashed %d times, want 2", h)
	}
	// Rewritten, same size, its modification time put back: the change
	// time tells.
	writeFile(t, path, strings.Repeat("y", 1<<16))
	os.Chtimes(path, old, old)
	if got := textOf(t, d, File(path)); got != fileText(strings.Repeat("y", 1<<16)) {
		t.Errorf("a same-size rewrite with its old time was served from the memo: %.60s", got)
	}
}

// On a file system whose clock did not tick between two writes, a file
// written again with the same size looks unchanged: a memo taken within
// RacyWindow of the file's modification or change is not trusted.
func TestFileMemoIsNotTrustedInTheRacyWindow(t *testing.T) {
	tick := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name         string
		mtime, ctime time.Time
	}{
		{"modified in the tick", tick, tick},
		{"changed in the tick", tick.Add(-time.Hour), tick},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDigester(nil, false)
			d.StatOf = func(fi fs.FileInfo) FileStat {
				st := StatOf(fi)
				st.Mtime, st.Ctime = c.mtime.UnixNano(), c.ctime.UnixNano() // a clock that has not moved
				return st
			}
			d.Now = func() time.Time { return tick.Add(RacyWindow / 4) }
			path := filepath.Join(t.TempDir(), "table.dat")
			writeFile(t, path, "version A")
			textOf(t, d, File(path))
			writeFile(t, path, "version B") // same size, same times
			if got := textOf(t, d, File(path)); got != fileText("version B") {
				t.Fatalf("an edit in the tick the file was hashed in was not seen: %s", got)
			}
			// Hashed well after its last change, its memo is trusted.
			d.Now = func() time.Time { return tick.Add(RacyWindow + time.Second) }
			textOf(t, d, File(path))
			hashed := d.Hashed.Load()
			if got := textOf(t, d, File(path)); got != fileText("version B") || d.Hashed.Load() != hashed {
				t.Errorf("outside the racy window: %s after %d more hashes, want the memo", got, d.Hashed.Load()-hashed)
			}
		})
	}
}

// The time a file was hashed at is taken before it is opened: a slow read
// does not make the memo of a file modified just before it trusted.
func TestFileHashTimeIsTakenBeforeTheRead(t *testing.T) {
	tick := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := tick.Add(RacyWindow / 4)
	d := NewDigester(nil, false)
	d.Now = func() time.Time { return clock }
	d.StatOf = func(fi fs.FileInfo) FileStat {
		st := StatOf(fi)
		st.Mtime, st.Ctime = tick.UnixNano(), tick.UnixNano()
		return st
	}
	d.AfterRead = func(string) { clock = tick.Add(10 * time.Second) } // a slow read
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	textOf(t, d, File(path))
	d.AfterRead = nil
	textOf(t, d, File(path))
	if h := d.Hashed.Load(); h != 2 {
		t.Errorf("hashed %d times, want 2: a memo was trusted from the time its read ended", h)
	}
}

// A file that changes while it is read is read again; one that changes
// at every read is refused.
func TestFileChangedWhileReadIsReadAgain(t *testing.T) {
	d := NewDigester(nil, false)
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	d.AfterRead = func(string) {
		d.AfterRead = nil
		writeFile(t, path, "version BB") // a writer, mid-read
	}
	if got := textOf(t, d, File(path)); got != fileText("version BB") || d.Hashed.Load() != 2 {
		t.Errorf("spelled %s after %d reads, want the new content after 2", got, d.Hashed.Load())
	}
	n := 0
	d.AfterRead = func(string) {
		n++
		writeFile(t, path, strings.Repeat("v", n)) // a writer that never stops
	}
	_, err := Spell(map[string]any{"in": File(path)}, d)
	if !errors.As(err, new(*InputError)) || !strings.Contains(err.Error(), "changed each time it was read") {
		t.Errorf("a file that never stops changing: %v", err)
	}
}

// A digester with a store keeps its memo there, for other processes: an
// unchanged file is not hashed again by a new digester. A read-only one
// reads the memo and never writes it, and a damaged memo is ignored.
func TestFileMemoOnDisk(t *testing.T) {
	if !disk.MemoSupported {
		t.Skip("no inode or change time here: every spelling hashes")
	}
	path := filepath.Join(tempDir(t), "table.dat")
	writeFile(t, path, "the real table")
	want := fileText("the real table")

	ro := t.TempDir()
	if textOf(t, newDigester(disk.New(ro, true, nil), true), File(path)) != want {
		t.Fatal("read-only digester spelled otherwise")
	}
	if _, err := os.Stat(filepath.Join(ro, disk.MemoDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a read-only digester wrote a memo: %v", err)
	}

	dir := t.TempDir()
	store := disk.New(dir, true, nil)
	textOf(t, newDigester(store, false), File(path))
	memo := filepath.Join(dir, filepath.FromSlash(MemoName(path)))
	good, err := os.ReadFile(memo)
	if err != nil {
		t.Fatalf("no memo was written: %v", err)
	}
	for name, d := range map[string]*Digester{"a new digester": newDigester(disk.New(dir, true, nil), false), "a read-only one": newDigester(disk.New(dir, true, nil), true)} {
		if got := textOf(t, d, File(path)); got != want || d.Hashed.Load() != 0 {
			t.Errorf("%s: %s after %d hashes, want the memo's digest and none", name, got, d.Hashed.Load())
		}
	}

	rec, ok := DecodeMemo(good, path)
	if !ok {
		t.Fatal("the memo written does not decode")
	}
	lie := rec
	lie.Sum = [32]byte{1, 2, 3}
	forged := EncodeMemo(lie, path)
	other := path[:len(path)-1] + "X" // of the same length: only the path check tells
	wrongMagic := append([]byte("cgmemo99"), forged[8:len(forged)-4]...)
	wrongMagic = binary.LittleEndian.AppendUint32(wrongMagic, entry.Checksum(wrongMagic))
	for name, bad := range map[string][]byte{
		"flipped digest":       append(append([]byte{}, good[:60]...), append([]byte{good[60] ^ 0xff}, good[61:]...)...),
		"truncated":            good[:len(good)-5],
		"a lie for other path": EncodeMemo(lie, other),
		"empty":                {},
		"a lie, bad crc":       append(forged[:len(forged)-4:len(forged)-4], 0, 0, 0, 0),
		"a lie, wrong magic":   wrongMagic,
		"longer than any":      make([]byte, MemoMax+1),
	} {
		if _, ok := DecodeMemo(bad, path); ok {
			t.Errorf("%s: decoded", name)
		}
		if err := os.WriteFile(memo, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		d := newDigester(disk.New(dir, true, nil), false)
		if got := textOf(t, d, File(path)); got != want || d.Hashed.Load() != 1 {
			t.Errorf("%s: %s after %d hashes, want the file's digest, hashed once", name, got, d.Hashed.Load())
		}
		// Hashing it again replaced the damaged memo.
		b, _ := os.ReadFile(memo)
		if rec, ok := DecodeMemo(b, path); !ok || rec.Sum != sha256.Sum256([]byte("the real table")) {
			t.Errorf("%s: the memo was not rewritten", name)
		}
	}
	// A well-formed memo of the same stat is believed: that is what makes
	// it a memo (only a private directory keeps one).
	os.WriteFile(memo, forged, 0o600)
	if got := textOf(t, newDigester(disk.New(dir, true, nil), false), File(path)); !strings.Contains(got, hex.EncodeToString(lie.Sum[:])) {
		t.Errorf("a memo of the file's stat was not used: %s", got)
	}
}

func TestMemoRecordRoundTrip(t *testing.T) {
	rec := MemoRecord{Stat: FileStat{Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 5}, HashedAt: 6, Sum: [32]byte{7}}
	b := EncodeMemo(rec, "/a/b")
	if got, ok := DecodeMemo(b, "/a/b"); !ok || got != rec {
		t.Errorf("DecodeMemo = %+v, %v; want %+v", got, ok, rec)
	}
	if _, ok := DecodeMemo(b, "/a/c"); ok {
		t.Error("a memo decoded for another path")
	}
	if !strings.HasPrefix(MemoName("/a/b"), disk.MemoDir+"/") || !strings.HasSuffix(MemoName("/a/b"), disk.MemoSuffix) || MemoName("/a/b") == MemoName("/a/c") {
		t.Errorf("MemoName = %s", MemoName("/a/b"))
	}
}

// A directory is keyed by every regular file under it: its name relative
// to the directory, its size and its digest. Adding, removing, renaming
// or changing a file changes the key; an empty directory, or a cache
// directory inside it, counts for nothing.
func TestDirInputs(t *testing.T) {
	d := newDigester(nil, false)
	data := filepath.Join(tempDir(t), "scenes")
	files := map[string]string{"a.nc": "scene a", "sub/b.nc": "scene b"}
	for n, c := range files {
		writeFile(t, filepath.Join(data, n), c)
	}
	sp := spellIn(t, d, File(data))
	if got, want := string(sp.Text), dirText(files); got != want {
		t.Fatalf("spelled %s, want %s", got, want)
	}
	if in := sp.Inputs; len(in) != 1 || !in[0].Dir || in[0].Count != 2 || in[0].Size != 14 || in[0].Path != data || len(sp.Seen) != 2 {
		t.Errorf("inputs %+v, seen %d", in, len(sp.Seen))
	}
	steps := []struct {
		name string
		edit func()
		same bool
	}{
		{"unchanged", func() {}, true},
		{"an empty directory added", func() { os.Mkdir(filepath.Join(data, "empty"), 0o755) }, true},
		{"a cache directory added", func() {
			s := disk.New(filepath.Join(data, "cache"), true, nil)
			s.WriteReadme()
			writeFile(t, filepath.Join(data, "cache", "ab", "0123456789abcdef.entry"), "an entry")
		}, true},
		{"a file added", func() { writeFile(t, filepath.Join(data, "c.nc"), "scene c") }, false},
		{"a file changed", func() { writeFile(t, filepath.Join(data, "sub", "b.nc"), "scene B") }, false},
		{"a file renamed", func() { os.Rename(filepath.Join(data, "c.nc"), filepath.Join(data, "d.nc")) }, false},
		{"a file moved to a subdirectory", func() { os.Rename(filepath.Join(data, "d.nc"), filepath.Join(data, "sub", "d.nc")) }, false},
		{"a file removed", func() { os.Remove(filepath.Join(data, "sub", "d.nc")) }, false},
	}
	before := string(sp.Text)
	for _, s := range steps {
		s.edit()
		after := textOf(t, d, File(data))
		if same := after == before; same != s.same {
			t.Errorf("%s: key kept = %v, want %v", s.name, same, s.same)
		}
		before = after
	}
	// The same files under another directory, as a File or a Dir, key alike.
	other := filepath.Join(tempDir(t), "copy")
	writeFile(t, filepath.Join(other, "a.nc"), "scene a")
	writeFile(t, filepath.Join(other, "sub", "b.nc"), "scene B")
	if textOf(t, d, Dir(other)) != before {
		t.Error("a copy of the directory keys differently")
	}
	// An empty directory has no files.
	if got := textOf(t, d, Dir(t.TempDir())); got != dirText(nil) {
		t.Errorf("an empty directory: %s", got)
	}
}

// A Dir may be a pattern: keyed by the files it matches, named relative
// to the directory before its first wildcard.
func TestDirPatterns(t *testing.T) {
	d := newDigester(nil, false)
	data := filepath.Join(tempDir(t), "tables")
	writeFile(t, filepath.Join(data, "h2o.par"), "water")
	writeFile(t, filepath.Join(data, "co2.par"), "carbon")
	pattern := Dir(filepath.Join(data, "*.par"))
	sp := spellIn(t, d, pattern)
	if got, want := string(sp.Text), dirText(map[string]string{"h2o.par": "water", "co2.par": "carbon"}); got != want {
		t.Fatalf("spelled %s, want %s", got, want)
	}
	if sp.Inputs[0].Path != string(pattern) {
		t.Errorf("input path %s, want the pattern", sp.Inputs[0].Path)
	}
	writeFile(t, filepath.Join(data, "notes.txt"), "not a table")
	if textOf(t, d, pattern) != string(sp.Text) {
		t.Error("a file the pattern does not match changed the key")
	}
	writeFile(t, filepath.Join(data, "o3.par"), "ozone")
	if textOf(t, d, pattern) == string(sp.Text) {
		t.Error("a file the pattern matches, added, kept the key")
	}
	// A directory the pattern matches counts with its files.
	writeFile(t, filepath.Join(data, "more.par", "x"), "x")
	if got, want := textOf(t, d, Dir(filepath.Join(data, "m*"))), dirText(map[string]string{"more.par/x": "x"}); got != want {
		t.Errorf("a matched directory: %s, want %s", got, want)
	}
	// A pattern matching nothing keys no files.
	if got := textOf(t, d, Dir(filepath.Join(data, "*.nc"))); got != dirText(nil) {
		t.Errorf("a pattern matching nothing: %s", got)
	}
	// Without wildcards, a Dir is a File; a name that exists is a path,
	// whatever characters it holds.
	if textOf(t, d, Dir(data)) != textOf(t, d, File(data)) {
		t.Error("a Dir without wildcards keys unlike a File")
	}
	lit := filepath.Join(tempDir(t), "run [v2]")
	writeFile(t, filepath.Join(lit, "a.dat"), "one")
	if got, want := textOf(t, d, Dir(lit)), dirText(map[string]string{"a.dat": "one"}); got != want {
		t.Errorf("a directory named with brackets: %s, want %s", got, want)
	}
	// A relative pattern is the working directory's.
	t.Chdir(data)
	if textOf(t, d, Dir("*.par")) != textOf(t, d, pattern) {
		t.Error("a relative pattern keys unlike the absolute one")
	}
	// Patterns that cannot be read are input errors.
	for name, p := range map[string]string{
		"a missing directory":           filepath.Join(data, "missing", "*.par"),
		"a base that is no directory":   filepath.Join(data, "h2o.par", "*"),
		"a .. after the first wildcard": filepath.Join(data, "*") + "/../x",
		"a malformed pattern":           filepath.Join(data, "[*"),
	} {
		if _, err := Spell(map[string]any{"in": Dir(p)}, d); !errors.As(err, new(*InputError)) {
			t.Errorf("%s: %v, want an input error", name, err)
		}
	}
}

// Symbolic links are followed as the system follows them, but a link to
// a directory inside a directory input is refused.
func TestFileSymlinks(t *testing.T) {
	d := newDigester(nil, false)
	root := tempDir(t)
	target := filepath.Join(root, "target.dat")
	writeFile(t, target, "one")
	link := filepath.Join(root, "link.dat")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if sp := spellIn(t, d, File(link)); string(sp.Text) != fileText("one") || sp.Inputs[0].Path != target {
		t.Errorf("a link to a file: %s %+v, want its target", sp.Text, sp.Inputs)
	}
	data := filepath.Join(root, "data")
	writeFile(t, filepath.Join(data, "real.dat"), "real")
	if err := os.Symlink(target, filepath.Join(data, "linked.dat")); err != nil {
		t.Fatal(err)
	}
	if got, want := textOf(t, d, File(data)), dirText(map[string]string{"real.dat": "real", "linked.dat": "one"}); got != want {
		t.Errorf("a link to a file in a directory: %s, want %s", got, want)
	}
	// A ".." after a link leads out of the link's target.
	writeFile(t, filepath.Join(root, "x", "y", "keep"), "")
	writeFile(t, filepath.Join(root, "x", "f.dat"), "what the system reads")
	writeFile(t, filepath.Join(root, "f.dat"), "what the text suggests")
	if err := os.Symlink(filepath.Join(root, "x", "y"), filepath.Join(root, "ylink")); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, d, File(filepath.Join(root, "ylink")+"/../f.dat")); got != fileText("what the system reads") {
		t.Errorf("link/../f.dat: %s", got)
	}
	// A link to a directory inside a directory input is refused.
	if err := os.Symlink(root, filepath.Join(data, "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := Spell(map[string]any{"in": File(data)}, d); !errors.As(err, new(*InputError)) || !strings.Contains(err.Error(), "symbolic link to a directory") {
		t.Errorf("a link to a directory inside a directory input: %v", err)
	}
}

// FIFOs, devices and sockets are refused, and a FIFO is never waited on.
func TestIrregularFilesAreRefused(t *testing.T) {
	d := newDigester(nil, false)
	data := filepath.Join(tempDir(t), "data")
	writeFile(t, filepath.Join(data, "a.dat"), "a")
	fifo := filepath.Join(data, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	refused := func(what string, v any) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := Spell(map[string]any{"in": v}, d)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.As(err, new(*InputError)) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v, want it refused as not a regular file", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: keying waits for a writer", what)
		}
	}
	refused("a FIFO", File(fifo))
	refused("a FIFO in a directory", File(data))
	refused("a FIFO a pattern matches", Dir(filepath.Join(data, "*")))
	refused("a FIFO in a slice", []File{File(fifo)})
	refused("a device", File("/dev/null"))
	os.Remove(fifo)
	if err := os.Symlink("/dev/null", filepath.Join(data, "null")); err != nil {
		t.Fatal(err)
	}
	refused("a link to a device in a directory", File(data))
	os.Remove(filepath.Join(data, "null"))
	l, err := net.Listen("unix", filepath.Join(data, "s"))
	if err != nil {
		t.Skip("unix socket:", err)
	}
	defer l.Close()
	refused("a socket in a directory", File(data))
}

// The listing of a directory does not depend on the order its files
// were found in.
func TestListingIsInNameOrder(t *testing.T) {
	a := []TreeFile{{Rel: "b", Size: 1}, {Rel: "a/z", Size: 2}, {Rel: "a.txt", Size: 3}}
	b := []TreeFile{a[2], a[0], a[1]}
	x, y := Listing("x", a), Listing("x", b)
	if string(x.Sum) != string(y.Sum) || x.Count != 3 || x.Size != 6 || !x.Dir {
		t.Errorf("listings %+v and %+v", x, y)
	}
	if z := Listing("x", []TreeFile{{Rel: "b", Size: 1}, {Rel: "a/z", Size: 2}}); string(z.Sum) == string(x.Sum) {
		t.Error("a listing without a file keys like one with it")
	}
}

// File inputs are checked after a call by their stat (Seen), not by
// Changed: a file that changed is not a changed argument.
func TestChangedLeavesFileInputsAlone(t *testing.T) {
	d := NewDigester(nil, false)
	path := filepath.Join(t.TempDir(), "data")
	writeFile(t, path, "a")
	params := map[string]any{"in": []File{File(path)}, "arr": [1]File{File(path)}, "xs": []int{1}}
	sp, err := Spell(params, d)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "b")
	params["xs"].([]int)[0] = 2
	if got := Changed(params, d, sp); len(got) != 1 || got[0] != "xs" {
		t.Errorf("Changed = %v, want only xs", got)
	}
}
