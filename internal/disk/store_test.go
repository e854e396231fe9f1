package disk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/testenv"
)

// keyIn returns a key of shard, told apart by n.
func keyIn(shard string, n int) string { return shard + fmt.Sprintf("%014x", n) }

// encode returns a valid entry file holding payload, signed with signKey
// when it is set.
func encode(t testing.TB, payload []byte, signKey []byte) []byte {
	t.Helper()
	parts, err := entry.Encode(header(payload), entry.Meta{Func: "example.com/f", Version: 1, Params: []byte(`{"x": 1}`)}, [][]byte{payload}, signKey)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Join(parts, nil)
}

func header(payload []byte) entry.Header {
	return entry.Header{ComputedAt: 1, Duration: 2, Sum: sha256.Sum256(payload)}
}

// put stores data as key's entry.
func put(t testing.TB, s *Store, key string, data []byte) Usage {
	t.Helper()
	u, counted, err := s.WriteEntry(key, WriteParts([][]byte{data}))
	if err != nil || !counted {
		t.Fatalf("WriteEntry(%s): counted %v, %v", key, counted, err)
	}
	return u
}

// plant writes a file into the store's directory, behind its back.
func plant(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// finishes runs fn and fails the test if it has not returned in ten
// seconds: a read that waits on a FIFO's writer never returns.
func finishes(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s is still waiting", what)
	}
}

// An entry written is read back whole, with its time, and is a file of
// its own, xx/KEY.entry, with no temporary file left beside it. A large
// entry's payload checksum comes with it.
func TestEntryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	for i, size := range []int{0, 100, smallEntry + 1, pipelineMin + pipelineChunk/2} {
		payload := bytes.Repeat([]byte{byte(i + 1)}, size)
		data := encode(t, payload, nil)
		key := keyIn("ab", i)
		if u := put(t, s, key, data); u.Entries != int64(i+1) {
			t.Errorf("after %d stores the shard counts %d entries", i+1, u.Entries)
		}
		fi, err := os.Lstat(filepath.Join(dir, "ab", key+EntrySuffix))
		if err != nil || fi.Mode() != FilePerm || s.Path(key) != filepath.Join(dir, "ab", key+EntrySuffix) {
			t.Fatalf("entry file: %v, %v", fi, err)
		}
		got, mtime, payCRC, err := s.ReadEntry(EntryName(key))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d bytes, %v", size, len(got), err)
		}
		if !mtime.Equal(fi.ModTime()) {
			t.Errorf("%d bytes: time %v, the file's %v", size, mtime, fi.ModTime())
		}
		if big := len(data) >= pipelineMin; (payCRC != nil) != big {
			t.Errorf("%d bytes: payload checksum %v, want one for an entry of %d MiB or more", size, payCRC, pipelineMin>>20)
		}
		if payCRC != nil && *payCRC != entry.Checksum(payload) {
			t.Errorf("%d bytes: payload checksum %x, want %x", size, *payCRC, entry.Checksum(payload))
		}
		if _, _, _, err := entry.Parse(got, payCRC); err != nil {
			t.Errorf("%d bytes: %v", size, err)
		}
		h, m, fi2, err := s.ReadMeta(EntryName(key))
		if err != nil || h.PayloadLen != uint64(size) || m.Func != "example.com/f" || fi2.Size() != int64(len(data)) {
			t.Errorf("%d bytes: ReadMeta = %+v, %+v, %v", size, h, m, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "ab"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("a temporary file was left: %s", e.Name())
		}
	}
	// A replaced entry reads as the new one.
	data := encode(t, []byte("new"), nil)
	put(t, s, keyIn("ab", 1), data)
	if got, _, _, err := s.ReadEntry(EntryName(keyIn("ab", 1))); err != nil || !bytes.Equal(got, data) {
		t.Errorf("a replaced entry read %q, %v", got, err)
	}
	// A missing entry is fs.ErrNotExist, as is a store whose directory is
	// missing.
	if _, _, _, err := s.ReadEntry(EntryName(keyIn("cd", 1))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing entry: %v", err)
	}
	if _, _, _, err := New(filepath.Join(dir, "none"), true, nil).ReadEntry(EntryName(keyIn("ab", 1))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing store: %v", err)
	}
}

// A file that is not a whole entry is refused as corrupt: by its header,
// checked against the file's size before anything else is read.
func TestCorruptEntriesAreRefused(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	small := encode(t, []byte("payload"), nil)
	large := encode(t, bytes.Repeat([]byte{1}, smallEntry), nil)
	otherFormat := bytes.Clone(small)
	otherFormat[8] = entry.Format + 1
	badFlags := bytes.Clone(large)
	badFlags[10] = 0x80
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, entry.ErrCorrupt},
		{"shorter than a header", small[:entry.HeaderSize-1], entry.ErrCorrupt},
		{"truncated by a byte", small[:len(small)-1], entry.ErrCorrupt},
		{"a byte too many", append(bytes.Clone(small), 0), entry.ErrCorrupt},
		{"not an entry", bytes.Repeat([]byte("junk"), 100), entry.ErrCorrupt},
		{"another format", otherFormat, entry.ErrOtherFormat},
		{"large, truncated", large[:len(large)-1], entry.ErrCorrupt},
		{"large, with unknown flags", badFlags, entry.ErrCorrupt},
		{"large, not an entry", bytes.Repeat([]byte("junk"), smallEntry), entry.ErrCorrupt},
	}
	for i, c := range cases {
		name := EntryName(keyIn("ab", i))
		plant(t, dir, name, c.data)
		if _, _, _, err := s.ReadEntry(name); !errors.Is(err, c.want) {
			t.Errorf("%s: ReadEntry: %v, want %v", c.name, err, c.want)
		}
		if _, _, _, err := s.ReadMeta(name); !errors.Is(err, entry.ErrCorrupt) {
			t.Errorf("%s: ReadMeta: %v, want it refused", c.name, err)
		}
	}

	// Damage within the sections is the checksums' to find: ReadMeta
	// checks the header's, and a large entry's payload checksum is of
	// the bytes read.
	damaged := bytes.Clone(small)
	damaged[entry.HeaderSize+2] ^= 0xff
	plant(t, dir, "cd/meta", damaged)
	if _, _, _, err := s.ReadMeta("cd/meta"); !errors.Is(err, entry.ErrCorrupt) {
		t.Errorf("damaged metadata: ReadMeta: %v", err)
	}
	big := encode(t, bytes.Repeat([]byte{2}, pipelineMin), nil)
	big[len(big)-entry.TrailerSize-1] ^= 0xff
	plant(t, dir, "cd/payload", big)
	data, _, payCRC, err := s.ReadEntry("cd/payload")
	if err != nil || payCRC == nil {
		t.Fatalf("a large entry: %v, %v", payCRC, err)
	}
	if _, _, _, err := entry.Parse(data, payCRC); !errors.Is(err, entry.ErrCorrupt) {
		t.Errorf("a damaged payload passed its checksum: %v", err)
	}

	// ReadSmall reads nothing larger than its bound.
	plant(t, dir, "cd/small", []byte("12345"))
	if b, err := s.ReadSmall("cd/small", 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadSmall = %q, %v", b, err)
	}
	if _, err := s.ReadSmall("cd/small", 4); !errors.Is(err, entry.ErrCorrupt) {
		t.Errorf("ReadSmall past its bound: %v", err)
	}
}

// A large file with holes (a sparse file claiming any size) was not
// written by a store: it is refused before it is read.
func TestSparseEntriesAreRefused(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	data := encode(t, bytes.Repeat([]byte{3}, 4*smallEntry), nil)
	p := plant(t, dir, "ab/sparse", data[:entry.HeaderSize])
	if err := os.Truncate(p, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	hole, err := f.Seek(0, seekHole)
	f.Close()
	if err != nil || hole >= int64(len(data)) {
		t.Skip("this file system does not report holes")
	}
	if _, _, _, err := s.ReadEntry("ab/sparse"); !errors.Is(err, entry.ErrCorrupt) || !strings.Contains(err.Error(), "has holes") {
		t.Errorf("a sparse entry: %v, want it refused", err)
	}
}

// A store with a signing key checks an entry of more than BigSigned
// bytes against its MAC before it reads it into memory: a large entry
// planted by someone without the key is refused at once. A smaller one
// is read, its MAC left to the caller, who checks it with the rest.
func TestLargeEntriesAreCheckedAgainstTheirMAC(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, []byte("the signing key"))
	chunk := make([]byte, 1<<20)
	payload := make([][]byte, entry.BigSigned>>20)
	for i := range payload {
		payload[i] = chunk
	}
	parts, err := entry.Encode(entry.Header{}, entry.Meta{Func: "f"}, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteEntry(keyIn("ab", 0), WriteParts(parts)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.ReadEntry(EntryName(keyIn("ab", 0))); !errors.Is(err, entry.ErrBadSignature) {
		t.Errorf("a large unsigned entry: %v, want it refused by its MAC", err)
	}
	smaller := encode(t, make([]byte, pipelineMin), nil)
	put(t, s, keyIn("cd", 0), smaller)
	if got, _, _, err := s.ReadEntry(EntryName(keyIn("cd", 0))); err != nil || !bytes.Equal(got, smaller) {
		t.Errorf("an entry under BigSigned: %v", err)
	}
}

// Nothing but a regular file is read: a FIFO, a directory, a symlink or a
// device in place of an entry or the README is refused at once, never
// waited on, never followed.
func TestOnlyRegularFilesAreRead(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	good := encode(t, []byte("good"), nil)
	outside := plant(t, t.TempDir(), "ab/x.entry", good)
	if err := os.MkdirAll(filepath.Join(dir, "ab", "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "ab", "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "README"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"ab/link": outside, "ab/null": "/dev/null", "ab/zero": "/dev/zero", "link": outside} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(outside, old, old)
	for _, name := range []string{"ab/dir", "ab/fifo", "ab/link", "ab/null", "ab/zero", "README", "link"} {
		finishes(t, name, func() {
			if _, _, _, err := s.ReadEntry(name); err == nil {
				t.Errorf("ReadEntry(%s) read it", name)
			}
			if _, _, _, err := s.ReadMeta(name); err == nil {
				t.Errorf("ReadMeta(%s) read it", name)
			}
			if _, err := s.ReadSmall(name, 1<<20); !errors.Is(err, entry.ErrCorrupt) {
				t.Errorf("ReadSmall(%s): %v, want it refused as no regular file", name, err)
			}
			s.Touch(name, time.Now())
		})
	}
	if fi, _ := os.Stat(outside); !fi.ModTime().Equal(old) {
		t.Error("Touch through a symlink changed the file outside")
	}
	if b, _ := os.ReadFile(outside); !bytes.Equal(b, good) {
		t.Error("the file outside changed")
	}
}

// A shard that is a symlink to a directory outside the store is not
// entered: its entries are not read, nothing is written through it.
func TestSymlinkedShardIsNotEntered(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	good := encode(t, []byte("planted"), nil)
	elsewhere := t.TempDir()
	plant(t, elsewhere, EntryName(key), good)
	if err := os.Symlink(filepath.Join(elsewhere, "ab"), filepath.Join(dir, "ab")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.ReadEntry(EntryName(key)); err == nil {
		t.Error("an entry was read through a symlinked shard")
	}
	if _, _, err := s.WriteEntry(key, WriteParts([][]byte{encode(t, []byte("new"), nil)})); err == nil {
		t.Error("an entry was written through a symlinked shard")
	}
	if f, err := s.OpenLockIn("ab/.usage", 0); err == nil {
		f.Close()
		t.Error("a record was opened through a symlinked shard")
	}
	ents, _ := os.ReadDir(filepath.Join(elsewhere, "ab"))
	if b, _ := os.ReadFile(filepath.Join(elsewhere, filepath.FromSlash(EntryName(key)))); len(ents) != 1 || !bytes.Equal(b, good) {
		t.Errorf("the directory outside changed: %v", ents)
	}
}

// Names that lead outside the store's directory are refused by the
// operations that go through its root.
func TestNamesOutsideTheRootAreRefused(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "cache")
	s := New(dir, true, nil)
	put(t, s, keyIn("ab", 0), encode(t, []byte("x"), nil))
	secret := plant(t, base, "outside/ab/secret", []byte("secret"))
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(secret, old, old)
	for _, name := range []string{"../outside/ab/secret", secret} {
		if _, err := s.Stat(name); err == nil {
			t.Errorf("Stat(%s) reached outside", name)
		}
		if err := s.Remove(name); err == nil {
			t.Errorf("Remove(%s) removed a file outside", name)
		}
		s.Touch(name, time.Now())
	}
	if fi, err := os.Stat(secret); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("the file outside was removed or touched: %v", err)
	}
}

// Reads, writes and records open their names relative to the directory
// and its shards held open; a name whose directory part leads out of the
// store must be refused there too.
func TestNamesOutsideTheRootAreRefusedRelativeToShards(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "cache")
	s := New(dir, true, nil)
	put(t, s, keyIn("ab", 0), encode(t, []byte("x"), nil))
	secret := plant(t, base, "outside/ab/secret", encode(t, []byte("secret"), nil))
	// A symlink planted in the directory, named as the first of two levels.
	if err := os.Symlink(filepath.Join(base, "outside"), filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../outside/ab/secret", secret, "x/ab/secret"} {
		if _, err := s.ReadSmall(name, 1<<20); err == nil {
			t.Errorf("ReadSmall(%s) read a file outside", name)
		}
		if _, _, _, err := s.ReadEntry(name); err == nil {
			t.Errorf("ReadEntry(%s) read a file outside", name)
		}
	}
	for _, name := range []string{"../outside/ab/secret", secret} {
		if err := s.RemoveEntry(name); err == nil {
			t.Errorf("RemoveEntry(%s) removed a file outside", name)
		}
	}
	if err := s.Replace("../outside/ab/planted", keyIn("ab", 1), []byte("x")); err == nil {
		t.Error("Replace wrote outside")
	}
	if f, err := s.OpenLockIn("../outside/lock", 0); err == nil {
		f.Close()
		t.Error("OpenLockIn made a file outside")
	}
	if ents, _ := os.ReadDir(filepath.Join(base, "outside")); len(ents) != 1 {
		t.Errorf("files were made outside: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(base, "outside", "ab")); len(ents) != 1 {
		t.Errorf("files were made outside: %v", ents)
	}
}

// The store makes its directory and shards as it writes, and again once
// they were removed under it.
func TestWritesAfterTheDirectoryIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	s := New(dir, true, nil)
	data := encode(t, []byte("x"), nil)
	for i := range 3 {
		key := keyIn("ab", i)
		put(t, s, key, data)
		if got, _, _, err := s.ReadEntry(EntryName(key)); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("write %d: read %v", i, err)
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != DirPerm {
			t.Fatalf("write %d: the directory is %v, %v", i, fi, err)
		}
		if i == 0 {
			os.RemoveAll(filepath.Join(dir, "ab")) // a shard removed
		} else {
			os.RemoveAll(dir) // the whole directory
		}
	}
	// A shard removed and made anew by another process is read anew.
	key := keyIn("cd", 0)
	put(t, s, key, data)
	os.RemoveAll(filepath.Join(dir, "cd"))
	plant(t, dir, EntryName(key), data)
	if got, _, _, err := s.ReadEntry(EntryName(key)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("an entry in a shard made anew: %v", err)
	}
}

// Replace writes any file of the store whole, by rename; CreateEntry
// writes an entry only if there is none.
func TestReplaceAndCreateEntry(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	for _, name := range []string{"memo/0123.memo", "ab/file", "README2"} {
		if err := s.Replace(name, "k", []byte("one "), []byte("two")); err != nil {
			t.Fatalf("Replace(%s): %v", name, err)
		}
		if b, err := os.ReadFile(s.Abs(name)); err != nil || string(b) != "one two" {
			t.Errorf("Replace(%s) wrote %q, %v", name, b, err)
		}
	}
	key := keyIn("ef", 0)
	first, second := encode(t, []byte("first"), nil), encode(t, []byte("second"), nil)
	if ok, err := s.CreateEntry(key, WriteParts([][]byte{first})); !ok || err != nil {
		t.Fatalf("CreateEntry = %v, %v", ok, err)
	}
	if ok, err := s.CreateEntry(key, WriteParts([][]byte{second})); ok || err != nil {
		t.Fatalf("CreateEntry over an entry = %v, %v; want false", ok, err)
	}
	if got, _, _, _ := s.ReadEntry(EntryName(key)); !bytes.Equal(got, first) {
		t.Error("CreateEntry replaced an entry")
	}
	if u, _ := s.ReadUsage("ef", false); u.Entries != 1 {
		t.Errorf("usage %+v, want one entry", u)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "ef")); len(ents) != 2 { // the entry and .usage
		t.Errorf("files left: %v", ents)
	}
}

// failingFS is the operating system, but for one step of a write, which
// fails with err: "mkdir", "create", "write" (after half the bytes),
// "close" or "rename".
type failingFS struct {
	osFS
	step string
	err  error
}

// failingFile is a temporary file of a failingFS.
type failingFile struct {
	tempFile
	step string
	err  error
}

var errInjected = errors.New("injected failure")

func (f failingFS) MkdirAll(r *os.Root, name string) error {
	if f.step == "mkdir" {
		return &fs.PathError{Op: "mkdir", Path: name, Err: f.err}
	}
	return f.osFS.MkdirAll(r, name)
}

func (f failingFS) CreateTemp(r *os.Root, dir, prefix string) (tempFile, error) {
	if f.step == "create" {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: f.err}
	}
	tf, err := f.osFS.CreateTemp(r, dir, prefix)
	if err != nil {
		return nil, err
	}
	return failingFile{tf, f.step, f.err}, nil
}

func (f failingFile) Write(p []byte) (int, error) {
	if f.step == "write" {
		n, _ := f.tempFile.Write(p[:len(p)/2]) // half written, then the disk is full
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: f.err}
	}
	return f.tempFile.Write(p)
}

func (f failingFile) Close() error {
	err := f.tempFile.Close()
	if f.step == "close" {
		return &fs.PathError{Op: "close", Path: f.Name(), Err: f.err}
	}
	return err
}

func (f failingFS) Rename(r *os.Root, oldname, newname string) error {
	if f.step == "rename" {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: f.err}
	}
	return f.osFS.Rename(r, oldname, newname)
}

// A write that fails, in the writer, or with the disk full or an I/O
// error at any step of the file system's (making the shard, creating,
// writing, closing or renaming the temporary file), returns the failure
// and leaves the entry as it was, whole, or none; no temporary file; and
// its shard's usage record uncounted. So on either path a write takes:
// into a shard held open, or through the root (a new shard, or another
// file system).
func TestFailedWritesLeaveNothing(t *testing.T) {
	old, replacement := encode(t, []byte("old"), nil), encode(t, make([]byte, 10000), nil)
	failing := func(io.Writer) error { return errInjected }
	type writeCase struct {
		name     string
		fsys     fileSystem
		newShard bool
		write    func(io.Writer) error
		want     error
	}
	cases := []writeCase{
		{"the writer fails, in a new shard", osFS{}, true, failing, errInjected},
		{"the writer fails, in a shard held open", osFS{}, false, failing, errInjected},
	}
	for _, step := range []string{"mkdir", "create", "write", "close", "rename"} {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
			cases = append(cases, writeCase{step + " fails with " + errno.Error(), failingFS{step: step, err: errno}, false, WriteParts([][]byte{replacement}), errno})
		}
	}
	for _, c := range cases {
		dir := t.TempDir()
		s := New(dir, true, nil)
		existing := keyIn("ab", 9)
		if !c.newShard {
			put(t, s, existing, old)
		}
		s.fs = c.fsys
		if _, _, err := s.WriteEntry(keyIn("ab", 0), c.write); !errors.Is(err, c.want) {
			t.Errorf("%s: WriteEntry: %v, want the failure", c.name, err)
		}
		if ok, err := s.CreateEntry(keyIn("ab", 1), c.write); ok || !errors.Is(err, c.want) {
			t.Errorf("%s: CreateEntry: %v, %v, want the failure", c.name, ok, err)
		}
		if !c.newShard {
			if _, _, err := s.WriteEntry(existing, c.write); !errors.Is(err, c.want) {
				t.Errorf("%s: WriteEntry over an entry: %v, want the failure", c.name, err)
			}
			if got, _, _, err := s.ReadEntry(EntryName(existing)); err != nil || !bytes.Equal(got, old) {
				t.Errorf("%s: a failed write over an entry left it changed (%d bytes, %v)", c.name, len(got), err)
			}
		}
		if u, _ := s.ReadUsage("ab", false); u != onDisk(t, dir, "ab") || u.Entries != int64(btoi(!c.newShard)) {
			t.Errorf("%s: usage %+v counts a failed write", c.name, u)
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && (strings.HasPrefix(d.Name(), TempPrefix) || strings.HasSuffix(d.Name(), EntrySuffix) && !strings.Contains(d.Name(), existing)) {
				t.Errorf("%s: a failed write left %s", c.name, p)
			}
			return nil
		})
	}
}

// killAt is the operating system, but for one step of a write, at which
// it kills its own process: "created", "half-written", "written",
// "closed" or "renamed".
type killAt struct {
	osFS
	step string
}

// killFile is a temporary file of a killAt.
type killFile struct {
	tempFile
	step string
}

func die() { syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }

func (k killAt) CreateTemp(r *os.Root, dir, prefix string) (tempFile, error) {
	f, err := k.osFS.CreateTemp(r, dir, prefix)
	if k.step == "created" {
		die()
	}
	return killFile{f, k.step}, err
}

func (f killFile) Write(p []byte) (int, error) {
	if f.step == "half-written" {
		f.tempFile.Write(p[:len(p)/2])
		die()
	}
	n, err := f.tempFile.Write(p)
	if f.step == "written" {
		die()
	}
	return n, err
}

func (f killFile) Close() error {
	err := f.tempFile.Close()
	if f.step == "closed" {
		die()
	}
	return err
}

func (k killAt) Rename(r *os.Root, oldname, newname string) error {
	err := k.osFS.Rename(r, oldname, newname)
	if k.step == "renamed" {
		die()
	}
	return err
}

const killChildVar = "CACHEGEN_DISK_KILL_CHILD"

// killedEntry is the entry the killed writer writes.
func killedEntry(t testing.TB) []byte { return encode(t, make([]byte, 100_000), nil) }

// A writer SIGKILLed at any step of a write leaves its entry whole: the
// old one, or none, until its rename, and the new one from then on. It
// leaves at most its temporary file, which Walk names as one, for Clear
// and Prune to remove, and nothing that stops the next write of the key.
func TestKilledWriterLeavesWholeEntries(t *testing.T) {
	if spec := os.Getenv(killChildVar); spec != "" {
		f := strings.Fields(spec) // step dir key
		s := New(f[1], true, nil)
		s.fs = killAt{step: f[0]}
		s.WriteEntry(f[2], WriteParts([][]byte{killedEntry(t)}))
		os.Exit(0) // alive: the parent says so
	}
	old, killed := encode(t, []byte("old"), nil), killedEntry(t)
	for _, step := range []string{"created", "half-written", "written", "closed", "renamed"} {
		for _, replacing := range []bool{false, true} {
			name := step + "/new entry"
			if replacing {
				name = step + "/replacing an entry"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				key := keyIn("ab", 1)
				want := []byte(nil)
				if replacing {
					put(t, New(dir, true, nil), key, old)
					want = old
				}
				if step == "renamed" {
					want = killed
				}
				err := testenv.Child("TestKilledWriterLeavesWholeEntries", killChildVar, step, dir, key).Run()
				if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("the writer was not killed %s: %v", step, err)
				}
				s := New(dir, true, nil)
				got, _, _, err := s.ReadEntry(EntryName(key))
				if want == nil && !errors.Is(err, fs.ErrNotExist) || want != nil && (err != nil || !bytes.Equal(got, want)) {
					t.Errorf("the entry is %d bytes (%v); want %d bytes, whole", len(got), err, len(want))
				}
				temps := 0
				s.Walk(context.Background(), func(name string, kind FileKind) error {
					switch {
					case kind == KindTemp:
						temps++
					case kind != KindEntry || name != EntryName(key):
						t.Errorf("the killed writer left %s (kind %d)", name, kind)
					}
					return nil
				})
				if want := btoi(step != "renamed"); temps != want {
					t.Errorf("%d temporary files, want %d", temps, want)
				}
				put(t, s, key, old)
				if got, _, _, err := s.ReadEntry(EntryName(key)); err != nil || !bytes.Equal(got, old) {
					t.Errorf("the next write of the key: %v", err)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Touch records a use in a file's time, unless the file has a second
// name, whose time it would change too.
func TestTouch(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 0)
	put(t, s, key, encode(t, []byte("x"), nil))
	when := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	s.Touch(EntryName(key), when)
	if fi, _ := os.Stat(s.Path(key)); !fi.ModTime().Equal(when) {
		t.Errorf("touched at %v, want %v", fi.ModTime(), when)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.Link(s.Path(key), other); err != nil {
		t.Skip("no hard links:", err)
	}
	s.Touch(EntryName(key), when.Add(time.Hour))
	if fi, _ := os.Stat(other); !fi.ModTime().Equal(when) {
		t.Errorf("a file with a second name was touched")
	}
	s.Touch(EntryName(keyIn("cd", 0)), when) // missing: nothing to do
	New(filepath.Join(dir, "none"), true, nil).Touch("ab/x", when)
	if _, err := os.Stat(filepath.Join(dir, "none")); err == nil {
		t.Error("Touch made a missing store's directory")
	}
}

// A private store refuses, in its directory, what others can write to or
// what another user owns; a shared one accepts it.
func TestPrivateStoreRefusesWhatOthersCouldPlant(t *testing.T) {
	dir := t.TempDir()
	key := keyIn("ab", 0)
	data := encode(t, []byte("x"), nil)
	put(t, New(dir, true, nil), key, data)
	if err := os.Chmod(filepath.Join(dir, "ab"), 0o777); err != nil {
		t.Fatal(err)
	}
	private, shared := New(dir, true, nil), New(dir, false, nil)
	if !private.Private() || shared.Private() {
		t.Fatal("Private() does not say what New was told")
	}
	if _, _, _, err := private.ReadEntry(EntryName(key)); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("an entry in a shard others can write to: %v, want ErrNotPrivate", err)
	}
	if _, _, err := private.WriteEntry(keyIn("ab", 1), WriteParts([][]byte{data})); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a write into a shard others can write to: %v, want ErrNotPrivate", err)
	}
	if got, _, _, err := shared.ReadEntry(EntryName(key)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("a shared store: %v", err)
	}
	if _, _, err := shared.WriteEntry(keyIn("ab", 1), WriteParts([][]byte{data})); err != nil {
		t.Errorf("a shared store: %v", err)
	}

	// The directory itself.
	os.Chmod(filepath.Join(dir, "ab"), 0o700)
	os.Chmod(dir, 0o777)
	if _, err := New(dir, true, nil).OpenRoot(false); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a directory others can write to: %v, want ErrNotPrivate", err)
	}
	if _, _, _, err := New(dir, true, nil).ReadEntry(EntryName(key)); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("reading from a directory others can write to: %v, want ErrNotPrivate", err)
	}
	os.Chmod(dir, 0o700)

	// A file another user owns.
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	if err := os.Lchown(private.Path(key), 65534, 65534); err != nil {
		t.Skip(err)
	}
	fresh := New(dir, true, nil)
	if _, _, _, err := fresh.ReadEntry(EntryName(key)); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("another user's entry: %v, want ErrNotPrivate", err)
	}
	fi, _ := os.Lstat(fresh.Path(key))
	if fresh.OwnedByMe(fi) {
		t.Error("OwnedByMe is true of another user's file")
	}
	if got, _, _, err := New(dir, false, nil).ReadEntry(EntryName(key)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("a shared store reading another user's entry: %v", err)
	}
}

// CheckPrivate refuses a cache directory others could plant results in,
// saying how to fix it.
func TestCheckPrivate(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own := mk("own", 0o700)
	groupW := mk("group", 0o770)
	worldW := mk("world", 0o777)
	sticky := mk("sticky", os.ModeSticky|0o777)
	file := plant(t, base, "file", nil)
	link := filepath.Join(base, "link")
	os.Symlink(worldW, link)
	cases := []struct {
		dir          string
		refused      bool
		say, notSay  string
		shared       bool
		notPrivateIs bool
	}{
		{dir: own},
		{dir: filepath.Join(base, "missing")},
		{dir: worldW, shared: true},
		{dir: groupW, refused: true, say: "run chmod go-w " + groupW + ", or share it", notPrivateIs: true},
		{dir: worldW, refused: true, say: "writable by other users", notPrivateIs: true},
		{dir: link, refused: true, say: "writable by other users", notPrivateIs: true},
		{dir: sticky, refused: true, say: "share it", notSay: "chmod", notPrivateIs: true},
		{dir: file, refused: true, say: "is not a directory"},
	}
	for _, c := range cases {
		err := CheckPrivate(c.dir, c.shared, "share it")
		if (err != nil) != c.refused {
			t.Errorf("%s (shared %v): %v, want refused=%v", c.dir, c.shared, err, c.refused)
			continue
		}
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), c.say) || c.notSay != "" && strings.Contains(err.Error(), c.notSay) {
			t.Errorf("%s: %q, want it to say %q and not %q", c.dir, err, c.say, c.notSay)
		}
		if errors.Is(err, ErrNotPrivate) != c.notPrivateIs {
			t.Errorf("%s: %v: ErrNotPrivate %v, want %v", c.dir, err, !c.notPrivateIs, c.notPrivateIs)
		}
	}
	if os.Getuid() == 0 {
		other := mk("other", 0o700)
		if err := os.Lchown(other, 65534, 65534); err == nil {
			if err := CheckPrivate(other, false, "share it"); !errors.Is(err, ErrNotPrivate) || !strings.Contains(err.Error(), "belongs to another user") {
				t.Errorf("another user's directory: %v", err)
			}
		}
	}
}

// The names of the layout.
func TestNames(t *testing.T) {
	key := "0123456789abcdef"
	s := New("/c", true, nil)
	for _, c := range [][2]string{
		{ShardOf(key), "01"},
		{EntryName(key), "01/" + key + ".entry"},
		{LockName(key), "01/" + key + ".lock"},
		{LeaseName(key), "01/" + key + ".lease"},
		{PendingName(key), "pending/" + key},
		{UsagePath("01"), "01/.usage"},
		{s.Path(key), "/c/01/" + key + ".entry"},
		{s.Abs("memo/x"), "/c/memo/x"},
		{HexByte(0), "00"},
		{HexByte(171), "ab"},
	} {
		if c[0] != c[1] {
			t.Errorf("%s, want %s", c[0], c[1])
		}
	}
	for _, c := range [][2]string{
		{"01/" + key + ".entry", key},
		{"01/" + key + ".lock", key},
		{key + ".lease", key},
		{"01/" + key + ".tmp", ""},
		{"01/0123456789ABCDEF.entry", ""},
		{"01/0123.entry", ""},
		{"01/.usage", ""},
	} {
		if got := KeyOfName(c[0]); got != c[1] {
			t.Errorf("KeyOfName(%s) = %q, want %q", c[0], got, c[1])
		}
	}
}

// WriteReadme marks the directory as a cache, making it if need be, and
// leaves a README already there as it is.
func TestWriteReadme(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	s := New(dir, true, nil)
	s.WriteReadme()
	readme := filepath.Join(dir, cachedir.ReadmeName)
	if b, err := os.ReadFile(readme); err != nil || string(b) != cachedir.ReadmeContent {
		t.Fatalf("README %q, %v", b, err)
	}
	if err := cachedir.Check(dir); err != nil {
		t.Errorf("the directory is not marked as a cache: %v", err)
	}
	os.WriteFile(readme, []byte("a person's own"), 0o600)
	s.WriteReadme()
	if b, _ := os.ReadFile(readme); string(b) != "a person's own" {
		t.Errorf("a README was overwritten: %q", b)
	}
}
