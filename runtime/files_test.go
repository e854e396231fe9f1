package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/remote"
)

// spectrumCall is the call of a function that reads the table at path.
func spectrumCall(path any) Call {
	return Call{Func: "example.com/rt.LoadSpectrum", Version: 1, Params: map[string]any{"path": path}}
}

// readLen is a compute function that reads the file at path, as the
// functions File keys do, and returns its length.
func readLen(path string, runs *int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		*runs++
		b, err := os.ReadFile(path)
		return len(b), err
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hashedLater makes c's keying.Digester record files as hashed a minute from now,
// well after any time a test gives its files: their memos are trusted at
// once, as they are once a file has been left alone for two seconds.
func hashedLater(c *Cache) {
	c.files.Now = func() time.Time { return time.Now().Add(time.Minute) }
}

func TestFileContentChangeIsAMiss(t *testing.T) {
	c, _ := open(t)
	path := filepath.Join(t.TempDir(), "spectrum.txt")
	writeFile(t, path, "2000 lines")
	runs := 0
	if n := do(t, c, spectrumCall(File(path)), readLen(path, &runs)); n != 10 {
		t.Fatalf("first call: %d", n)
	}
	writeFile(t, path, "2")
	if n := do(t, c, spectrumCall(File(path)), readLen(path, &runs)); n != 1 || runs != 2 {
		t.Fatalf("after the file changed: got %d after %d runs, want 1 after 2: a stale result was served", n, runs)
	}
	writeFile(t, path, "2000 lines")
	if n := do(t, c, spectrumCall(File(path)), readLen(path, &runs)); n != 10 || runs != 2 {
		t.Fatalf("with the first content back: got %d after %d runs, want the first entry's 10 after 2 runs", n, runs)
	}
}

func TestFileSameContentAtAnotherPathIsAHit(t *testing.T) {
	c, _ := open(t)
	a := filepath.Join(t.TempDir(), "here", "table.dat")
	b := filepath.Join(t.TempDir(), "elsewhere", "copy.dat")
	writeFile(t, a, "absorption lines")
	writeFile(t, b, "absorption lines")
	runs := 0
	do(t, c, spectrumCall(File(a)), readLen(a, &runs))
	do(t, c, spectrumCall(File(b)), readLen(b, &runs))
	if runs != 1 {
		t.Fatalf("the same content at another path ran %d times, want once", runs)
	}
	if ka, kb := keyOf(t, spectrumCall(File(a))), keyOf(t, spectrumCall(File(b))); ka != kb {
		t.Fatalf("keys differ: %s, %s", ka, kb)
	}
	// The key is the content's, not the path's text.
	if ks, kf := keyOf(t, spectrumCall(a)), keyOf(t, spectrumCall(File(a))); ks == kf {
		t.Fatalf("a File keys like its path's text")
	}
}

func TestFileUnchangedIsNotHashedAgain(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	hashedLater(c)
	path := filepath.Join(t.TempDir(), "scene.bin")
	writeFile(t, path, strings.Repeat("x", 1<<16))
	runs := 0
	for range 3 {
		do(t, c, spectrumCall(File(path)), readLen(path, &runs))
	}
	if h := c.files.Hashed.Load(); h != 1 || runs != 1 {
		t.Fatalf("three calls on an unchanged file hashed it %d times and ran %d times, want 1 and 1", h, runs)
	}

	// Another process finds the digest in the memo on disk.
	c2, _ := openDir(t, dir)
	do(t, c2, spectrumCall(File(path)), readLen(path, &runs))
	if h := c2.files.Hashed.Load(); h != 0 || runs != 1 {
		t.Fatalf("a new cache on the same directory hashed the file %d times, ran %d times: want 0 and 1", h, runs)
	}
}

// A touch leaves the content as it was, but only reading the file can
// tell: it is hashed once, is a hit, and is not hashed after that.
func TestFileTouchedWithoutChangeIsAHitHashedOnce(t *testing.T) {
	c, _ := open(t)
	hashedLater(c)
	path := filepath.Join(t.TempDir(), "scene.bin")
	writeFile(t, path, "radiances")
	runs := 0
	do(t, c, spectrumCall(File(path)), readLen(path, &runs))
	later := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	do(t, c, spectrumCall(File(path)), readLen(path, &runs))
	do(t, c, spectrumCall(File(path)), readLen(path, &runs))
	if h := c.files.Hashed.Load(); runs != 1 || h != 2 {
		t.Fatalf("after a touch: %d runs and %d hashes, want 1 run (a hit) and 2 hashes (once more for the touch)", runs, h)
	}
}

// On a filesystem whose times did not move between two writes (a coarse
// clock tick), a file written again with the same size looks unchanged: the
// memo of a file hashed in the tick it was modified in is not trusted.
func TestFileEditWithinTheTimestampGranularityIsCaught(t *testing.T) {
	c, _ := open(t)
	tick := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c.files.StatOf = func(fi fs.FileInfo) keying.FileStat {
		st := keying.StatOf(fi)
		st.Mtime, st.Ctime = tick.UnixNano(), tick.UnixNano() // a clock that has not moved
		return st
	}
	c.files.Now = func() time.Time { return tick.Add(500 * time.Millisecond) }
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	runs := 0
	got := func() string {
		t.Helper()
		v := do(t, c, spectrumCall(File(path)), func(context.Context) (string, error) {
			runs++
			b, err := os.ReadFile(path)
			return string(b), err
		})
		return v
	}
	if v := got(); v != "version A" {
		t.Fatal(v)
	}
	writeFile(t, path, "version B") // same size, same times
	if v := got(); v != "version B" || runs != 2 {
		t.Fatalf("an edit in the tick the file was hashed in: got %q after %d runs, want version B after 2", v, runs)
	}

	// Hashed well after its last modification, the file's memo is trusted.
	c.files.Now = func() time.Time { return tick.Add(5 * time.Second) }
	got() // hashes once more, now outside the racy window
	hashed := c.files.Hashed.Load()
	if v := got(); v != "version B" || runs != 2 || c.files.Hashed.Load() != hashed {
		t.Fatalf("an unchanged file hashed outside the racy window: got %q after %d runs and %d more hashes, want a hit with no hash",
			v, runs, c.files.Hashed.Load()-hashed)
	}
}

func TestFileCorruptMemoIsIgnored(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	hashedLater(c)
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "the real table")
	want := keyOf(t, spectrumCall(File(path)))
	runs := 0
	do(t, c, spectrumCall(File(path)), readLen(path, &runs))
	memo := filepath.Join(dir, filepath.FromSlash(keying.MemoName(path)))
	good, err := os.ReadFile(memo)
	if err != nil {
		t.Fatalf("no memo was written: %v", err)
	}
	lie := keying.MemoRecord{Sum: [32]byte{1, 2, 3}}
	if ok := func() bool { _, ok := keying.DecodeMemo(good, path); return ok }(); !ok {
		t.Fatal("the memo written does not decode")
	}
	rec, _ := keying.DecodeMemo(good, path)
	lie.Stat, lie.HashedAt = rec.Stat, rec.HashedAt
	forged := keying.EncodeMemo(lie, path)
	// A path of the same length, so that only the path check tells.
	other := path[:len(path)-1] + "X"
	wrongMagic := append([]byte("cgmemo99"), forged[8:len(forged)-4]...)
	wrongMagic = binary.LittleEndian.AppendUint32(wrongMagic, entry.Checksum(wrongMagic))
	for name, bad := range map[string][]byte{
		"flipped digest":       append(append([]byte{}, good[:60]...), append([]byte{good[60] ^ 0xff}, good[61:]...)...),
		"truncated":            good[:len(good)-5],
		"a lie for other path": keying.EncodeMemo(lie, other),
		"empty":                {},
		"a lie, bad crc":       append(forged[:len(forged)-4:len(forged)-4], 0, 0, 0, 0),
		"a lie, wrong magic":   wrongMagic,
		"longer than any":      make([]byte, keying.MemoMax+1),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(memo, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			fresh, _ := openDir(t, dir)
			hashedLater(fresh)
			id, err := spectrumCall(File(path)).identity(fresh.files)
			if err != nil {
				t.Fatal(err)
			}
			if id.key != want {
				t.Fatalf("key %s after a corrupt memo, want %s", id.key, want)
			}
			if h := fresh.files.Hashed.Load(); h != 1 {
				t.Fatalf("the file was hashed %d times, want 1: the corrupt memo was trusted", h)
			}
		})
	}
}

func TestDirInputChanges(t *testing.T) {
	c, _ := open(t)
	hashedLater(c)
	data := filepath.Join(t.TempDir(), "scenes")
	writeFile(t, filepath.Join(data, "a.nc"), "scene a")
	writeFile(t, filepath.Join(data, "sub", "b.nc"), "scene b")
	runs := 0
	count := func(context.Context) (int, error) {
		runs++
		return runs, nil
	}
	call := spectrumCall(File(data))
	do(t, c, call, count)
	steps := []struct {
		name string
		edit func()
		miss bool
	}{
		{"unchanged", func() {}, false},
		{"an empty directory added", func() { os.Mkdir(filepath.Join(data, "empty"), 0o755) }, false},
		{"a file added", func() { writeFile(t, filepath.Join(data, "c.nc"), "scene c") }, true},
		{"a file changed", func() { writeFile(t, filepath.Join(data, "sub", "b.nc"), "scene B") }, true},
		{"a file renamed", func() { os.Rename(filepath.Join(data, "c.nc"), filepath.Join(data, "d.nc")) }, true},
		{"a file moved to a subdirectory", func() { os.Rename(filepath.Join(data, "d.nc"), filepath.Join(data, "sub", "d.nc")) }, true},
		{"a file removed", func() { os.Remove(filepath.Join(data, "sub", "d.nc")) }, true},
	}
	for _, s := range steps {
		before := runs
		s.edit()
		do(t, c, call, count)
		if miss := runs > before; miss != s.miss {
			t.Errorf("%s: miss = %v, want %v", s.name, miss, s.miss)
		}
	}
	// The same files under another directory are the same key.
	other := filepath.Join(t.TempDir(), "copy")
	writeFile(t, filepath.Join(other, "a.nc"), "scene a")
	writeFile(t, filepath.Join(other, "sub", "b.nc"), "scene B")
	if keyOf(t, call) != keyOf(t, spectrumCall(File(other))) {
		t.Error("a copy of the directory keys differently")
	}
}

func TestDirGlobKeysWhatItMatches(t *testing.T) {
	c, _ := open(t)
	hashedLater(c)
	data := filepath.Join(t.TempDir(), "tables")
	writeFile(t, filepath.Join(data, "h2o.par"), "water")
	writeFile(t, filepath.Join(data, "co2.par"), "carbon")
	call := spectrumCall(Dir(filepath.Join(data, "*.par")))
	runs := 0
	count := func(context.Context) (int, error) { runs++; return runs, nil }
	do(t, c, call, count)
	writeFile(t, filepath.Join(data, "notes.txt"), "not a table")
	do(t, c, call, count)
	if runs != 1 {
		t.Fatalf("a file the pattern does not match made a miss")
	}
	writeFile(t, filepath.Join(data, "o3.par"), "ozone")
	do(t, c, call, count)
	if runs != 2 {
		t.Fatalf("a file the pattern matches, added, was a hit")
	}
	// Without wildcards, a Dir is a File.
	if keyOf(t, spectrumCall(Dir(data))) != keyOf(t, spectrumCall(File(data))) {
		t.Error("Dir without wildcards keys unlike File")
	}
	// A pattern in a missing directory is an input that cannot be read.
	if _, err := spectrumCall(Dir(filepath.Join(data, "missing", "*.par"))).Key(); !errors.As(err, new(*keying.InputError)) {
		t.Errorf("a pattern in a missing directory: %v, want an input error", err)
	}
}

func TestFileMissingGivesTheFunctionsOwnError(t *testing.T) {
	c, log := open(t)
	path := filepath.Join(t.TempDir(), "missing.txt")
	runs := 0
	for range 2 {
		_, err := Do(context.Background(), c, spectrumCall(File(path)), readLen(path, &runs))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "open "+path) {
			t.Fatalf("got %v, want the function's own error opening %s", err, path)
		}
	}
	if s := c.Stats(); runs != 2 || s.KeyErrors != 2 || s.Misses != 0 {
		t.Errorf("%d runs, stats %+v: want 2 runs computed without the cache", runs, s)
	}
	if n := strings.Count(log.String(), "an input file cannot be read"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, log)
	}
	if es, err := tierOf(c).List(context.Background()); err != nil || len(es) != 0 {
		t.Errorf("entries %v (%v): want none", es, err)
	}
	if _, err := spectrumCall(File("")).Key(); !errors.Is(err, keying.ErrNoInput) {
		t.Errorf("an empty path: %v, want keying.ErrNoInput", err)
	}
}

func TestFileSymlinks(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	c, log := open(t)
	hashedLater(c)
	root := t.TempDir()
	target := filepath.Join(root, "target.dat")
	writeFile(t, target, "one")
	link := filepath.Join(root, "link.dat")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	// The named path is followed: it keys as its target's content.
	if keyOf(t, spectrumCall(File(link))) != keyOf(t, spectrumCall(File(target))) {
		t.Error("a symlink to a file keys unlike the file")
	}
	// So is a symlink to a file inside a directory input.
	data := filepath.Join(root, "data")
	writeFile(t, filepath.Join(data, "real.dat"), "real")
	if err := os.Symlink(target, filepath.Join(data, "linked.dat")); err != nil {
		t.Fatal(err)
	}
	k1 := keyOf(t, spectrumCall(File(data)))
	writeFile(t, target, "two")
	if keyOf(t, spectrumCall(File(data))) == k1 {
		t.Error("a change to a linked file's target left the directory's key as it was")
	}
	// A symlink to a directory inside a directory input is refused, and
	// the call is computed without the cache.
	if err := os.Symlink(root, filepath.Join(data, "loop")); err != nil {
		t.Fatal(err)
	}
	runs := 0
	do(t, c, spectrumCall(File(data)), func(context.Context) (int, error) { runs++; return 1, nil })
	if s := c.Stats(); s.KeyErrors != 1 || !strings.Contains(log.String(), "symbolic link to a directory") {
		t.Errorf("stats %+v, log:\n%s\nwant the linked directory refused", s, log)
	}
}

func TestFileFIFOIsRefusedWithoutWaiting(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	root := t.TempDir()
	data := filepath.Join(root, "data")
	fifo := filepath.Join(data, "pipe")
	writeFile(t, filepath.Join(data, "a.dat"), "a")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for _, in := range []any{File(fifo), File(data), Dir(filepath.Join(data, "*")), []File{File(fifo)}} {
		done := make(chan error, 1)
		go func() {
			_, err := spectrumCall(in).Key()
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.As(err, new(*keying.InputError)) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%v: %v, want it refused as not a regular file", in, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: keying a FIFO is waiting for a writer", in)
		}
	}
}

// A socket, or a device reached through a link, inside a directory input
// is refused too.
func TestFileSocketsAndDevicesAreRefused(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("no sockets or devices as files")
	}
	data := t.TempDir()
	writeFile(t, filepath.Join(data, "a.dat"), "a")
	if err := os.Symlink("/dev/null", filepath.Join(data, "null")); err != nil {
		t.Fatal(err)
	}
	if _, err := spectrumCall(File(data)).Key(); !errors.As(err, new(*keying.InputError)) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a device: %v, want it refused", err)
	}
	os.Remove(filepath.Join(data, "null"))
	sock := filepath.Join(data, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skip("unix socket:", err)
	}
	defer l.Close()
	if _, err := spectrumCall(File(data)).Key(); !errors.As(err, new(*keying.InputError)) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a socket: %v, want it refused", err)
	}
}

// Two machines holding the same data at different paths share entries.
func TestFileSharedTierHitAcrossPaths(t *testing.T) {
	s := newMemStore()
	a, _, _ := openTiered(t, s, remote.Options{})
	b, _, _ := openTiered(t, s, remote.Options{})
	pa := filepath.Join(t.TempDir(), "machine-a", "hitran.par")
	pb := filepath.Join(t.TempDir(), "machine-b", "data", "HITRAN2020.par")
	writeFile(t, pa, "line list")
	writeFile(t, pb, "line list")
	runs := 0
	do(t, a, spectrumCall(File(pa)), readLen(pa, &runs))
	do(t, b, spectrumCall(File(pb)), readLen(pb, &runs))
	if s := b.Stats(); runs != 1 || s.RemoteHits != 1 {
		t.Fatalf("%d runs, stats of the second machine %+v: want its call served by the shared tier", runs, s)
	}
}

// The memo is trusted only where no one else can write: a shared directory
// neither reads nor writes one, and a read-only cache reads it and never
// writes it.
func TestFileMemoOnlyInAPrivateDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "table")
	want := keyOf(t, spectrumCall(File(path)))
	key := func(c *Cache) string {
		t.Helper()
		hashedLater(c)
		id, err := spectrumCall(File(path)).identity(c.files)
		if err != nil {
			t.Fatal(err)
		}
		return id.key
	}

	// Nothing written where nothing was.
	for _, opt := range []Option{WithSharedDir(), WithMode(ModeReadOnly)} {
		dir := t.TempDir()
		c, _ := openDir(t, dir, opt)
		key(c)
		if _, err := os.Stat(filepath.Join(dir, disk.MemoDir)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: a memo directory was written (%v)", opt, err)
		}
	}

	// A read-only cache reads the memo a private one wrote.
	dir := t.TempDir()
	private, _ := openDir(t, dir)
	key(private)
	ro, _ := openDir(t, dir, WithMode(ModeReadOnly))
	if k := key(ro); k != want || ro.files.Hashed.Load() != 0 {
		t.Errorf("read-only: key %s after %d hashes, want %s from the memo", k, ro.files.Hashed.Load(), want)
	}

	// A shared one ignores even a well-formed memo that lies.
	memo := filepath.Join(dir, filepath.FromSlash(keying.MemoName(path)))
	b, err := os.ReadFile(memo)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := keying.DecodeMemo(b, path)
	if !ok {
		t.Fatal("the memo does not decode")
	}
	rec.Sum = [32]byte{9, 9, 9}
	if err := os.WriteFile(memo, keying.EncodeMemo(rec, path), 0o600); err != nil {
		t.Fatal(err)
	}
	shared, _ := openDir(t, dir, WithSharedDir())
	if k := key(shared); k != want || shared.files.Hashed.Load() != 1 {
		t.Errorf("shared: key %s after %d hashes, want %s from the file itself", k, shared.files.Hashed.Load(), want)
	}
}

// A result computed while an input changed may be of neither content: it
// is returned, and stored under neither key.
func TestFileChangedWhileComputingIsNotStored(t *testing.T) {
	for _, restore := range []bool{false, true} {
		c, log := open(t)
		hashedLater(c)
		path := filepath.Join(t.TempDir(), "table.dat")
		writeFile(t, path, "version 1")
		v := do(t, c, spectrumCall(File(path)), func(context.Context) (string, error) {
			writeFile(t, path, "version 2") // another writer, mid-computation
			b, _ := os.ReadFile(path)
			if restore {
				writeFile(t, path, "version 1") // and back: same content, new times
			}
			return string(b), nil
		})
		if v != "version 2" {
			t.Fatalf("got %q, want the computed result", v)
		}
		if es, _ := tierOf(c).List(context.Background()); len(es) != 0 {
			t.Errorf("restore=%v: stored %d entries for a result computed while its input changed", restore, len(es))
		}
		if !strings.Contains(log.String(), "an input file changed while the result was computed") {
			t.Errorf("restore=%v: not logged:\n%s", restore, log)
		}
	}
}

// A ".." after a symbolic link leads out of the link's target, as the
// system resolves it, and so does a relative path from a working directory
// reached through a link.
func TestFileDotDotAfterASymlink(t *testing.T) {
	if goruntime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "x", "y", "keep"), "")
	writeFile(t, filepath.Join(root, "x", "f.dat"), "what the system reads")
	writeFile(t, filepath.Join(root, "f.dat"), "what the text suggests")
	link := filepath.Join(root, "link")
	if err := os.Symlink(filepath.Join(root, "x", "y"), link); err != nil {
		t.Fatal(err)
	}
	want := keyOf(t, spectrumCall(File(filepath.Join(root, "x", "f.dat"))))
	if got := keyOf(t, spectrumCall(File(link+"/../f.dat"))); got != want {
		t.Errorf("link/../f.dat keys as %s, want the key of x/f.dat, %s", got, want)
	}
	t.Chdir(link)
	t.Setenv("PWD", link)
	if got := keyOf(t, spectrumCall(File("../f.dat"))); got != want {
		t.Errorf("../f.dat from the linked directory keys as %s, want the key of x/f.dat, %s", got, want)
	}
	if got := keyOf(t, spectrumCall(Dir("../*.dat"))); got != keyOf(t, spectrumCall(Dir(filepath.Join(root, "x", "*.dat")))) {
		t.Errorf("../*.dat from the linked directory does not key x/*.dat")
	}
}

// A directory whose name holds a wildcard character is a path, not a
// pattern.
func TestDirLiteralNameWithWildcards(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run [v2]")
	writeFile(t, filepath.Join(dir, "a.dat"), "one")
	k1 := keyOf(t, spectrumCall(Dir(dir)))
	writeFile(t, filepath.Join(dir, "a.dat"), "two")
	if keyOf(t, spectrumCall(Dir(dir))) == k1 {
		t.Error("an edit inside a directory named with brackets kept its key")
	}
}

func TestFileAsMapKeyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.dat")
	writeFile(t, path, "w")
	for _, v := range []any{map[File]float64{File(path): 1}, map[Dir]int{}} {
		if _, err := spectrumCall(v).Key(); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "cannot be a map key") {
			t.Errorf("%T: %v, want it refused", v, err)
		}
	}
}

// A cache directory inside a directory input changes with every entry
// stored: it is left out of the input.
func TestDirInputHoldingTheCacheHits(t *testing.T) {
	project := t.TempDir()
	writeFile(t, filepath.Join(project, "data", "a.dat"), "a")
	c, _ := openDir(t, filepath.Join(project, "cache"))
	hashedLater(c)
	runs := 0
	for range 3 {
		do(t, c, spectrumCall(File(project)), func(context.Context) (int, error) { runs++; return runs, nil })
	}
	if runs != 1 {
		t.Errorf("a directory input holding the cache ran %d times, want once", runs)
	}
}

// A file rewritten with the same size and its old modification time
// restored still has a new change time.
func TestFileSameSizeRewriteKeepingItsTimeIsCaught(t *testing.T) {
	if !disk.MemoSupported {
		t.Skip("no change time: every call hashes")
	}
	c, _ := open(t)
	hashedLater(c)
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	k1, err := spectrumCall(File(path)).identity(c.files)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past the clock's tick
	writeFile(t, path, "version B")
	os.Chtimes(path, old, old)
	k2, err := spectrumCall(File(path)).identity(c.files)
	if err != nil {
		t.Fatal(err)
	}
	if k1.key == k2.key {
		t.Error("a same-size rewrite with its modification time restored kept its key")
	}
}

// The change time alone, in the tick the file was hashed in, makes the
// memo untrusted too (a chmod, a rename over the file).
func TestFileChangeTimeInTheRacyWindow(t *testing.T) {
	c, _ := open(t)
	tick := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c.files.StatOf = func(fi fs.FileInfo) keying.FileStat {
		st := keying.StatOf(fi)
		st.Mtime, st.Ctime = tick.Add(-time.Hour).UnixNano(), tick.UnixNano()
		return st
	}
	c.files.Now = func() time.Time { return tick.Add(500 * time.Millisecond) }
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	spectrumCall(File(path)).identity(c.files)
	writeFile(t, path, "version B")
	id, _ := spectrumCall(File(path)).identity(c.files)
	if id.key != keyOf(t, spectrumCall(File(path))) || c.files.Hashed.Load() != 2 {
		t.Errorf("a file changed in the tick it was hashed in (by its change time) was not hashed again")
	}
}

// A file that changes while it is read is read again.
func TestFileChangedWhileHashedIsReadAgain(t *testing.T) {
	c, _ := open(t)
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	c.files.AfterRead = func(string) {
		c.files.AfterRead = nil
		writeFile(t, path, "version BB") // a writer, mid-read
	}
	id, err := spectrumCall(File(path)).identity(c.files)
	if err != nil {
		t.Fatal(err)
	}
	if want := keyOf(t, spectrumCall(File(path))); id.key != want || c.files.Hashed.Load() != 2 {
		t.Fatalf("key %s after %d reads, want the new content's %s after 2", id.key, c.files.Hashed.Load(), want)
	}
}

// The time a file was hashed at is taken before it is opened: a slow read
// does not make the memo of a file modified just before it trusted.
func TestFileHashTimeIsTakenBeforeTheRead(t *testing.T) {
	c, _ := open(t)
	tick := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := tick.Add(500 * time.Millisecond)
	c.files.Now = func() time.Time { return clock }
	c.files.StatOf = func(fi fs.FileInfo) keying.FileStat {
		st := keying.StatOf(fi)
		st.Mtime, st.Ctime = tick.UnixNano(), tick.UnixNano()
		return st
	}
	c.files.AfterRead = func(string) { clock = tick.Add(10 * time.Second) } // a slow read
	path := filepath.Join(t.TempDir(), "table.dat")
	writeFile(t, path, "version A")
	spectrumCall(File(path)).identity(c.files)
	c.files.AfterRead = nil
	spectrumCall(File(path)).identity(c.files)
	if c.files.Hashed.Load() != 2 {
		t.Error("a memo was trusted from the time its read ended, not began")
	}
}

func TestListingIsInNameOrder(t *testing.T) {
	a := []keying.TreeFile{{Rel: "b", Size: 1}, {Rel: "a/z", Size: 2}, {Rel: "a.txt", Size: 3}}
	b := []keying.TreeFile{a[2], a[0], a[1]}
	if x, y := keying.Listing("x", a), keying.Listing("x", b); string(x.Sum) != string(y.Sum) {
		t.Error("the listing depends on the order files were found in")
	}
}

func TestDirPatternMatchingNothing(t *testing.T) {
	c, _ := open(t)
	hashedLater(c)
	data := t.TempDir()
	call := spectrumCall(Dir(filepath.Join(data, "*.nc")))
	id, err := call.identity(c.files)
	if err != nil || len(id.Inputs) != 1 || id.Inputs[0].Count != 0 {
		t.Fatalf("a pattern matching nothing: %+v, %v: want no files", id.Inputs, err)
	}
	writeFile(t, filepath.Join(data, "a.nc"), "a")
	if again, _ := call.identity(c.files); again.key == id.key {
		t.Error("a first match kept the key of no files")
	}
}

func TestFilesKeyEachFileByContent(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, "a")
	writeFile(t, b, "b")
	call := func() Call { return spectrumCall(Files([]string{a, b})) }
	k1 := keyOf(t, call())
	writeFile(t, b, "B")
	if keyOf(t, call()) == k1 {
		t.Error("a change to the second of two files kept the key")
	}
	if Files[string](nil) != nil {
		t.Error("Files(nil) is not nil")
	}
}

// keying knows File and Dir by their package and name: a move of either
// (a renamed module, say) must fail here, not key files by their paths.
func TestKeyingKnowsFileAndDir(t *testing.T) {
	for _, v := range []any{File("/no/such/file"), Dir("/no/such/dir")} {
		_, err := Call{Func: "example.com/sim.F", Params: map[string]any{"in": v}}.Key()
		if !errors.As(err, new(*keying.InputError)) {
			t.Errorf("keying %T(%v): %v; want it keyed by content, which a missing path fails", v, v, err)
		}
	}
}
