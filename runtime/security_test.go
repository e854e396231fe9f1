package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/internal/testenv/cachefiles"
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/file"
)

// Tests of what a hostile or accidental file or store value can do. Each
// must be a miss, bounded in memory and in time, and nothing outside the
// cache may be read, changed or removed.

// mustFinish fails the test if f has not returned within limit: a call
// that hangs would otherwise stop the test binary.
func mustFinish(t *testing.T, limit time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s did not return within %s", what, limit)
	}
}

const hundredGiB = 100 << 30

// TestHugeSparseEntryIsABoundedMiss plants a 100 GiB sparse file as an
// entry, holding zeros or a real entry's header: a load and a shared
// directory's read are misses that read and allocate next to nothing.
func TestHugeSparseEntryIsABoundedMiss(t *testing.T) {
	good := validEntry(t)
	for name, head := range map[string][]byte{"zeros": nil, "an entry's header": good[:entry.HeaderSize]} {
		t.Run(name, func(t *testing.T) {
			c, _ := open(t)
			key, _ := mcCall(300).Key()
			cachefiles.PlantSparse(t, c.disk.Path(key), head, hundredGiB)
			var got mcResult
			var err error
			if n := testenv.AllocatedBy(func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) }); n > 16<<20 {
				t.Errorf("a load allocated %d bytes", n)
			}
			if err != nil || !equalResult(got, want) || c.Stats().Corrupt != 1 {
				t.Fatalf("got (%+v, %v) with stats %+v: want the computed result and one corrupt entry", got, err, c.Stats())
			}
		})
	}
	t.Run("in a shared directory", func(t *testing.T) {
		shared := t.TempDir()
		s, err := file.Open(shared)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := openTiered(t, s, remote.Options{})
		key, _ := mcCall(300).Key()
		cachefiles.PlantSparse(t, filepath.Join(shared, key[:2], key+disk.EntrySuffix), good[:entry.HeaderSize], hundredGiB)
		var got mcResult
		if n := testenv.AllocatedBy(func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) }); n > 16<<20 {
			t.Errorf("a remote load allocated %d bytes", n)
		}
		if err != nil || !equalResult(got, want) {
			t.Fatalf("got (%+v, %v), want the computed result", got, err)
		}
	})
}

// TestJunkRemoteValueIsReadHeaderFirst stores a 64 MiB value that is no
// entry: a load reads its first bytes only.
func TestJunkRemoteValueIsReadHeaderFirst(t *testing.T) {
	s := newMemStore()
	c, _, _ := openTiered(t, s, remote.Options{})
	key, _ := mcCall(300).Key()
	s.set(key, bytes.Repeat([]byte("junk"), 16<<20))
	var got mcResult
	var err error
	if n := testenv.AllocatedBy(func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) }); n > 8<<20 {
		t.Errorf("a load of a junk value allocated %d bytes", n)
	}
	if err != nil || !equalResult(got, want) {
		t.Fatalf("got (%+v, %v), want the computed result", got, err)
	}
}

// TestReadmeSymlinkedToDevZero checks that naming a directory whose README
// is endless does not read it.
func TestReadmeSymlinkedToDevZero(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, cachedir.ReadmeName)); err != nil {
		t.Skip(err)
	}
	var err error
	mustFinish(t, 10*time.Second, "CheckDir", func() { err = cachedir.Check(dir) })
	if err == nil {
		t.Fatal("a directory whose README is /dev/zero was taken for a cache")
	}
}

// TestFIFOsAreMisses puts a FIFO in place of an entry, a lock file and a
// shared directory's lease: each call returns its computed result within
// its context.
func TestFIFOsAreMisses(t *testing.T) {
	key, _ := mcCall(300).Key()
	fifo := func(t *testing.T, path string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip(err)
		}
	}
	call := func(t *testing.T, c *Cache) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var got mcResult
		var err error
		mustFinish(t, 10*time.Second, "Do", func() { got, err = Do(ctx, c, mcCall(300), (&counter{}).fn(want)) })
		if err != nil || !equalResult(got, want) {
			t.Fatalf("got (%+v, %v), want the computed result", got, err)
		}
	}
	t.Run("entry", func(t *testing.T) {
		c, _ := open(t)
		fifo(t, c.disk.Path(key))
		call(t, c) // replaces the FIFO with the computed entry
	})
	t.Run("lock", func(t *testing.T) {
		c, _ := open(t)
		fifo(t, c.disk.Abs(disk.LockName(key)))
		call(t, c)
	})
	t.Run("lease", func(t *testing.T) {
		shared := t.TempDir()
		s, err := file.Open(shared)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := openTiered(t, s, remote.Options{})
		fifo(t, filepath.Join(shared, disk.LeaseName(key)))
		call(t, c)
	})
}

// TestSymlinksLeadNowhere plants symlinks to a directory outside the
// cache that holds a valid entry: in place of the entry, and in place of
// its shard. Loads are misses, and stores do not write there.
func TestSymlinksLeadNowhere(t *testing.T) {
	key, _ := mcCall(300).Key()
	var n counter
	for _, where := range []string{"entry", "shard"} {
		t.Run(where, func(t *testing.T) {
			c, _ := open(t)
			Do(context.Background(), c, mcCall(300), n.fn(mcResult{Precision: 1}))
			entry, _ := os.ReadFile(c.disk.Path(key))
			dir, unchanged := cachefiles.Outside(t, key, entry)
			os.RemoveAll(filepath.Join(c.dir, key[:2]))
			if where == "entry" {
				os.MkdirAll(filepath.Join(c.dir, key[:2]), 0o700)
				os.Symlink(filepath.Join(dir, key+disk.EntrySuffix), c.disk.Path(key))
			} else {
				os.Symlink(filepath.Join(dir, key[:2]), filepath.Join(c.dir, key[:2]))
			}
			got, err := Do(context.Background(), c, mcCall(300), n.fn(mcResult{Precision: 2}))
			if err != nil || got.Precision != 2 {
				t.Errorf("got (%+v, %v): the entry outside the cache was served", got, err)
			}
			unchanged()
		})
	}
}

// TestWaitIsBoundedWithoutADeadline holds a lease on another machine's
// behalf, renewing it for ever: a caller with context.Background()
// computes after MaxWait, by default four lease times.
func TestWaitIsBoundedWithoutADeadline(t *testing.T) {
	s := newMemStore()
	const ttl = 200 * time.Millisecond
	c, r, _ := openTiered(t, s, remote.Options{LeaseTTL: ttl})
	if r.Options().MaxWait != 4*ttl {
		t.Fatalf("MaxWait = %s, want four lease times", r.Options().MaxWait)
	}
	key, _ := mcCall(300).Key()
	stop := make(chan struct{})
	defer close(stop)
	s.Lease(context.Background(), key, "other", ttl)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(ttl / 4):
				s.Renew(context.Background(), key, "other", ttl)
			}
		}
	}()
	var got mcResult
	var err error
	mustFinish(t, 20*ttl, "Do", func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) })
	if err != nil || !equalResult(got, want) {
		t.Fatalf("got (%+v, %v), want the computed result", got, err)
	}
}

// TestAnotherUsersDirectoryIsRefused gives the cache directory to another
// user (mode 0755): Open refuses it in every mode, through a symlink too,
// unless WithSharedDir.
func TestAnotherUsersDirectoryIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "theirs")
	os.Mkdir(dir, 0o755)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skip(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(dir, link)
	for _, d := range []string{dir, link} {
		for _, m := range []Mode{ModeOn, ModeReadOnly, ModeRefresh, ModeVerify} {
			if _, err := Open(d, WithMode(m)); err == nil || !strings.Contains(err.Error(), "belongs to another user") || !strings.Contains(err.Error(), envSharedDir+"=1") {
				t.Errorf("Open(%s) in %v: %v, want a refusal naming the way out", d, m, err)
			}
		}
	}
	if _, err := Open(dir, WithMode(ModeReadOnly), WithSharedDir()); err != nil {
		t.Errorf("WithSharedDir: %v", err)
	}
}

// TestReadOnlyRefusesAWorldWritableDirectory checks that readonly mode,
// which writes nothing, still refuses to serve from a directory others can
// write to, and that the advice never asks to chmod a sticky directory.
func TestReadOnlyRefusesAWorldWritableDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	if _, err := Open(dir, WithMode(ModeReadOnly)); err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Fatalf("Open readonly of a world-writable directory: %v", err)
	}
	os.Chmod(dir, 0o777|os.ModeSticky)
	if _, err := Open(dir, WithMode(ModeReadOnly)); err == nil || strings.Contains(err.Error(), "chmod") {
		t.Fatalf("the advice for a sticky directory such as /tmp: %v", err)
	}
	t.Setenv(envDir, dir)
	t.Setenv(envSharedDir, "1")
	if c := fromEnv(discardLogger()); c.Mode() == ModeOff {
		t.Errorf("%s=1 did not accept the shared directory", envSharedDir)
	}
}

// TestLongKeysAreCutInMessages checks that a 100 kB argument is not echoed
// whole.
func TestLongKeysAreCutInMessages(t *testing.T) {
	c, _ := open(t)
	_, err := c.Remove(context.Background(), strings.Repeat("a", 100_000))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("Remove of a 100 kB key: an error of %d bytes", len(err.Error()))
	}
}

// plantHeaderOf writes at path an entry header that claims exactly size
// bytes, as a real entry of that size would, holding data after it:
// nothing but zeros (sparse), or every byte written.
func plantHeaderOf(t *testing.T, path string, good []byte, size int64, sparse bool) {
	t.Helper()
	h := append([]byte(nil), good[:entry.HeaderSize]...)
	le := binary.LittleEndian
	metaLen := int64(le.Uint32(h[12:]))
	body := size - entry.HeaderSize - entry.TrailerSize
	if le.Uint16(h[10:]) == 1 {
		body -= entry.MACSize
	}
	le.PutUint64(h[16:], uint64(body-metaLen))
	if sparse {
		cachefiles.PlantSparse(t, path, h, size)
		return
	}
	os.MkdirAll(filepath.Dir(path), 0o700)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(h)
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	for n := int64(len(h)); n < size; n += int64(len(chunk)) {
		f.Write(chunk[:min(int64(len(chunk)), size-n)])
	}
}

// TestSparseEntryClaimingItsSizeIsABoundedMiss plants a 100 GiB sparse
// file whose header claims exactly its size, locally and in a shared
// directory: a file with holes is not read, signing key or none.
func TestSparseEntryClaimingItsSizeIsABoundedMiss(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprint("signed=", signed), func(t *testing.T) {
			var opts []Option
			if signed {
				opts = append(opts, WithSigningKey([]byte("a signing key of enough bytes")))
			}
			good := validEntry(t)
			c, _ := open(t, opts...)
			key, _ := mcCall(300).Key()
			plantHeaderOf(t, c.disk.Path(key), good, hundredGiB, true)
			shared := t.TempDir()
			s, err := file.Open(shared)
			if err != nil {
				t.Fatal(err)
			}
			tiered, _, _ := openTiered(t, s, remote.Options{}, opts...)
			plantHeaderOf(t, filepath.Join(shared, key[:2], key+disk.EntrySuffix), good, hundredGiB, true)
			for _, c := range []*Cache{c, tiered} {
				var got mcResult
				if n := testenv.AllocatedBy(func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) }); n > 16<<20 {
					t.Errorf("a load allocated %d bytes", n)
				}
				if err != nil || !equalResult(got, want) {
					t.Fatalf("got (%+v, %v), want the computed result", got, err)
				}
			}
		})
	}
}

// TestLargePlantedEntryIsCheckedBeforeItIsRead plants, in a shared
// directory of a signed cache, a 96 MiB entry whose header claims its
// size and whose bytes are all there: its MAC is checked reading it in
// chunks, and it is never held in memory.
func TestLargePlantedEntryIsCheckedBeforeItIsRead(t *testing.T) {
	key := []byte("a signing key of enough bytes")
	dir := t.TempDir()
	c, _ := openDir(t, dir, WithSigningKey(key), WithSharedDir())
	good := validEntry(t)
	k, _ := mcCall(300).Key()
	plantHeaderOf(t, c.disk.Path(k), good, entry.BigSigned+32<<20, false)
	var got mcResult
	var err error
	if n := testenv.AllocatedBy(func() { got, err = Do(context.Background(), c, mcCall(300), (&counter{}).fn(want)) }); n > 16<<20 {
		t.Errorf("a load of a planted 96 MiB entry allocated %d bytes", n)
	}
	if err != nil || !equalResult(got, want) || c.Stats().BadSignatures != 1 {
		t.Fatalf("got (%+v, %v) with stats %+v: want the computed result and a bad signature", got, err, c.Stats())
	}
}

// asNobody gives path to another user, or skips the test.
func asNobody(t *testing.T, paths ...string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	for _, p := range paths {
		if err := os.Lchown(p, 65534, 65534); err != nil {
			t.Skip(err)
		}
	}
}

// TestOtherUsersFilesInAPrivateCache plants, in a private cache, a valid
// entry in a shard another user made, and another user's directory in
// place of the cache's after it was removed: neither is served, and
// nothing is written into them.
func TestOtherUsersFilesInAPrivateCache(t *testing.T) {
	k, _ := mcCall(300).Key()
	var n counter
	t.Run("their shard", func(t *testing.T) {
		c, _ := open(t)
		Do(context.Background(), c, mcCall(300), n.fn(mcResult{Precision: 1}))
		asNobody(t, filepath.Join(c.dir, k[:2]), c.disk.Path(k))
		fresh, _ := openDir(t, c.dir)
		got, err := Do(context.Background(), fresh, mcCall(300), n.fn(mcResult{Precision: 2}))
		if err != nil || got.Precision != 2 || fresh.Stats().StoreErrors != 1 {
			t.Fatalf("got (%+v, %v) with stats %+v: want their entry refused and nothing stored in their shard", got, err, fresh.Stats())
		}
	})
	t.Run("their directory made anew", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "cache")
		c, _ := openDir(t, dir)
		Do(context.Background(), c, mcCall(300), n.fn(mcResult{Precision: 1}))
		planted, _ := os.ReadFile(c.disk.Path(k))
		os.RemoveAll(dir)
		Do(context.Background(), c, mcCall(301), n.fn(mcResult{Precision: 3})) // finds the directory gone
		os.MkdirAll(filepath.Join(dir, k[:2]), 0o755)
		os.WriteFile(c.disk.Path(k), planted, 0o644)
		asNobody(t, dir, filepath.Join(dir, k[:2]), c.disk.Path(k))
		got, err := Do(context.Background(), c, mcCall(300), n.fn(mcResult{Precision: 2}))
		if err != nil || got.Precision != 2 {
			t.Fatalf("got (%+v, %v): their entry was served", got, err)
		}
	})
}

// TestSharedDirectoryLockWaitIsBounded holds a key's lock in a shared
// directory for ever: a caller without a deadline computes after the
// bound.
func TestSharedDirectoryLockWaitIsBounded(t *testing.T) {
	saved := callctx.SharedLockWait
	callctx.SharedLockWait = 200 * time.Millisecond
	defer func() { callctx.SharedLockWait = saved }()
	c, _ := open(t, WithSharedDir())
	k, _ := mcCall(300).Key()
	// Another holder of the key's lock, as another process takes it.
	unlock, _, err := disk.New(c.dir, false, nil).Lock(context.Background(), k, false, 0, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	other, log := open(t, WithSharedDir())
	other.dir, other.disk = c.dir, disk.New(c.dir, false, nil)
	var got mcResult
	mustFinish(t, 10*time.Second, "Do", func() { got, err = Do(context.Background(), other, mcCall(300), (&counter{}).fn(want)) })
	if err != nil || !equalResult(got, want) {
		t.Fatalf("got (%+v, %v), want the computed result", got, err)
	}
	if !strings.Contains(log.String(), "waited for another process's lock in a shared directory: computing it here") {
		t.Errorf("the call did not wait for the lock, or did not say so:\n%s", log)
	}
}

// TestMetadataBombsAreBounded plants an entry whose metadata would
// inflate a hundredfold: a store into its shard, over the size limit,
// allocates little more than its size.
func TestMetadataBombsAreBounded(t *testing.T) {
	dir := t.TempDir()
	key, data := cachefiles.MetaBomb(t)
	os.MkdirAll(filepath.Join(dir, key[:2]), 0o700)
	if err := os.WriteFile(filepath.Join(dir, key[:2], key+disk.EntrySuffix), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := openDir(t, dir, WithMaxBytes(1))
	call := Call{Func: "example.com/sim.G", Params: map[string]any{"bomb": key}}
	a := testenv.AllocatedBy(func() {
		Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	})
	if limit := uint64(3*len(data) + 16<<20); a > limit {
		t.Errorf("a store into its shard allocated %d MiB for a %d MiB planted entry", a>>20, len(data)>>20)
	}
}

// TestInflatingPayloadIsABoundedMiss plants, as the entry of a call, a
// valid entry whose payload is four million empty arrays: a miss that
// allocates little more than the entry's size.
func TestInflatingPayloadIsABoundedMiss(t *testing.T) {
	c, log := open(t)
	call := Call{Func: "example.com/sim.Rows", Version: 1, Params: map[string]any{"n": 1}}
	id, err := call.identity(keying.MemDigester)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4 << 20
	body := append(binary.BigEndian.AppendUint32([]byte{0x9a}, n), bytes.Repeat([]byte{0x80}, n)...)
	payload := binary.LittleEndian.AppendUint32(nil, 0)
	payload = binary.LittleEndian.AppendUint64(payload, uint64(len(body)))
	payload = append(payload, body...)
	payload = append(payload, make([]byte, (8-len(payload)%8)%8)...)
	parts, err := newEntry(id, call, entry.TypeSum(reflect.TypeFor[[][]int]()), nil, time.Now(), time.Second, [][]byte{payload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := c.disk.Abs(disk.EntryName(id.key))
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	var got [][]int
	a := testenv.AllocatedBy(func() {
		got, err = Do(context.Background(), c, call, func(context.Context) ([][]int, error) { return [][]int{{7}}, nil })
	})
	if err != nil || len(got) != 1 || got[0][0] != 7 {
		t.Fatalf("Do = %v, %v; want the computed result", got, err)
	}
	if a > 3*n+16<<20 {
		t.Errorf("the miss allocated %d MiB for a %d MiB payload", a>>20, n>>20)
	}
	if c.Stats().Corrupt != 1 || !strings.Contains(log.String(), "decoding it would take more than") {
		t.Errorf("the planted entry was not a counted corrupt miss: %+v\n%s", c.Stats(), log)
	}
}

// TestHardLinkedRecordsAreNotWrittenThrough links a shard's usage record,
// and an entry, to files outside the cache: storing and touching leave
// the outside files as they were.
func TestHardLinkedRecordsAreNotWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("not the cache's"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(outside, old, old)
	c, _ := openDir(t, dir)
	call := mcCall(300)
	key, _ := call.Key()
	os.MkdirAll(filepath.Join(dir, key[:2]), 0o700)
	if err := os.Link(outside, filepath.Join(dir, key[:2], disk.UsageName)); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	for range 2 {
		if _, err := Do(context.Background(), c, call, new(counter).fn(mcResult{Precision: 1})); err != nil {
			t.Fatal(err)
		}
	}
	// An entry linked from outside is read, but never touched.
	linked := filepath.Join(dir, key[:2], "0123456789abcdef"+disk.EntrySuffix)
	os.Link(outside, linked)
	c.disk.Touch(key[:2]+"/0123456789abcdef"+disk.EntrySuffix, time.Now())
	b, _ := os.ReadFile(outside)
	fi, _ := os.Stat(outside)
	if string(b) != "not the cache's" || !fi.ModTime().Equal(old.Truncate(time.Microsecond)) && fi.ModTime().Sub(old).Abs() > time.Second {
		t.Errorf("the file outside was changed: %q, modified %s", b, fi.ModTime())
	}
}

// TestCacheDirIsCleanedFirst: a directory named through a parent that does
// not exist creates nothing on the way.
func TestCacheDirIsCleanedFirst(t *testing.T) {
	base := t.TempDir()
	// Not through filepath.Join, which would clean it first.
	if _, err := Open(base + "/a/x/../b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "a", "x")); err == nil {
		t.Error("a/x was created on the way to a/b")
	}
	if fi, err := os.Stat(filepath.Join(base, "a", "b")); err != nil || !fi.IsDir() {
		t.Errorf("a/b: %v", err)
	}
}

// bomb is a result whose GobDecode allocates what its first eight bytes
// say: planted bytes can make it take any memory.
type bomb struct{ data []byte }

func (b bomb) GobEncode() ([]byte, error) { return b.data, nil }
func (b *bomb) GobDecode(p []byte) error {
	if len(p) < 8 {
		return errors.New("short")
	}
	b.data = make([]byte, binary.LittleEndian.Uint64(p))
	return nil
}

// TestGobBombsAreNotFed plants, in a shared directory without a signing
// key, the entry of a result decoded by its own GobDecode whose bytes ask
// it for 4 GiB: the load does not run the decoder (a miss, computed), and
// allocates little; with a signing key, the planted entry has no MAC and
// is refused before it is decoded.
func TestGobBombsAreNotFed(t *testing.T) {
	call := Call{Func: "example.com/sim.Bomb", Version: 1, Params: map[string]any{"n": 1}}
	id, err := call.identity(keying.MemDigester)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := entry.EncodeResult(bomb{binary.LittleEndian.AppendUint64(nil, 4<<30)})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := newEntry(id, call, entry.TypeSum(reflect.TypeFor[bomb]()), nil, time.Now(), time.Second, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]Option{{WithSharedDir()}, {WithSharedDir(), WithSigningKey([]byte("0123456789abcdef0123456789abcdef"))}} {
		dir := t.TempDir()
		os.Chmod(dir, 0o777) // others can write it: a shared directory
		c, log := openDir(t, dir, opts...)
		path := c.disk.Abs(disk.EntryName(id.key))
		os.MkdirAll(filepath.Dir(path), 0o777)
		if err := os.WriteFile(path, bytes.Join(parts, nil), 0o666); err != nil {
			t.Fatal(err)
		}
		computed := false
		a := testenv.AllocatedBy(func() {
			Do(context.Background(), c, call, func(context.Context) (bomb, error) { computed = true; return bomb{}, nil })
		})
		if !computed || a > 64<<20 {
			t.Errorf("options %d: computed=%v, allocated %d MiB: want a miss that does not feed the decoder\n%s", len(opts), computed, a>>20, log)
		}
	}
}

// TestHugeDeclaredKeyIsRefusedAsItIsSpelled: a declared key returning a
// 128 MiB string is refused before it is spelled, naming its parameter,
// and keying it allocates little beyond the string itself.
func TestHugeDeclaredKeyIsRefusedAsItIsSpelled(t *testing.T) {
	// A plain 128 MiB string, and strings under the limit that spell past
	// it: control characters (six bytes each) and bytes that are not
	// UTF-8 (two hex digits each), declared and plain.
	huge, escaped := strings.Repeat("a", 128<<20), strings.Repeat("\x01", 15<<20)
	for name, big := range map[string]any{
		"declared":          KeyBy(0, func(int) string { return huge }),
		"declared, escaped": KeyBy(0, func(int) string { return escaped }),
		"plain, escaped":    escaped,
		"plain, not UTF-8":  strings.Repeat("\xff", 9<<20),
	} {
		t.Run(name, func(t *testing.T) {
			call := Call{Func: "example.com/sim.Big", Version: 1, Params: map[string]any{"a": 1, "big": big, "z": 2}}
			var err error
			a := testenv.AllocatedBy(func() { _, err = call.Key() })
			if err == nil || !strings.Contains(err.Error(), "big") || strings.Contains(err.Error(), `"z"`) {
				t.Fatalf("Key: %v, want a refusal naming the parameter big", err)
			}
			if a > 48<<20 {
				t.Errorf("keying allocated %d MiB for a key that spells past the limit", a>>20)
			}
		})
	}
}
