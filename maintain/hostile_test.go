package maintain_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/internal/testenv/cachefiles"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
)

// Tests of what a hostile or accidental file or store value can do to
// maintenance: each is reported or left out, bounded in memory, and
// nothing outside the cache is read, changed or removed.

const hundredGiB = 100 << 30

// A 100 GiB sparse file planted as an entry, holding zeros or a real
// entry's header, is reported by Verify, which reads and allocates next
// to nothing, and removed by its fix.
func TestVerifyOfAHugeSparseEntryIsBounded(t *testing.T) {
	key, good := validEntry(t)
	for name, head := range map[string][]byte{"zeros": nil, "an entry's header": good[:entry.HeaderSize]} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cachefiles.PlantSparse(t, entryPath(dir, key), head, hundredGiB)
			var rep maintain.VerifyReport
			var err error
			if n := testenv.AllocatedBy(func() { rep, err = openTier(t, dir, maintain.Options{}).Verify(ctx, true) }); n > 16<<20 {
				t.Errorf("Verify allocated %d bytes", n)
			}
			if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Key != key {
				t.Errorf("Verify = %+v, %v; want the planted file reported", rep, err)
			}
			if exists(entryPath(dir, key)) {
				t.Error("verify -fix left the planted file")
			}
		})
	}
}

// A FIFO in place of an entry is reported without being opened, and
// removed by Verify's fix.
func TestVerifyRemovesAFIFOInPlaceOfAnEntry(t *testing.T) {
	dir := t.TempDir()
	key := keyOf(t, mcCall(300))
	os.MkdirAll(filepath.Dir(entryPath(dir, key)), 0o700)
	if err := syscall.Mkfifo(entryPath(dir, key), 0o600); err != nil {
		t.Skip(err)
	}
	rep, err := openTier(t, dir, maintain.Options{}).Verify(ctx, true)
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Key != key {
		t.Fatalf("Verify = %+v, %v; want the FIFO reported", rep, err)
	}
	if exists(entryPath(dir, key)) {
		t.Error("verify -fix left the FIFO")
	}
}

// Symlinks to a directory outside the cache that holds a valid entry, in
// place of the entry and in place of its shard: clear, prune and verify
// -fix change nothing there.
func TestSymlinksLeadNowhere(t *testing.T) {
	key, good := validEntry(t)
	for _, where := range []string{"entry", "shard"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, openCache(t, dir), 3, 10) // other entries, some to prune
			out, unchanged := cachefiles.Outside(t, key, good)
			os.RemoveAll(filepath.Join(dir, key[:2]))
			if where == "entry" {
				os.MkdirAll(filepath.Join(dir, key[:2]), 0o700)
				os.Symlink(filepath.Join(out, key+disk.EntrySuffix), entryPath(dir, key))
			} else {
				os.Symlink(filepath.Join(out, key[:2]), filepath.Join(dir, key[:2]))
			}
			tr := openTier(t, dir, maintain.Options{Now: at(time.Now().Add(72 * time.Hour))})
			for _, e := range list(t, tr) {
				if e.Key == key {
					t.Error("List read the entry outside the cache")
				}
			}
			tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1})
			tr.Verify(ctx, true)
			tr.Clear(ctx)
			unchanged()
		})
	}
}

// An entry whose metadata would inflate a hundredfold: listing, pruning,
// verifying and describing it each allocate little more than its size,
// and find it a problem.
func TestMetadataBombsAreBounded(t *testing.T) {
	dir := t.TempDir()
	key, data := cachefiles.MetaBomb(t)
	os.MkdirAll(filepath.Dir(entryPath(dir, key)), 0o700)
	if err := os.WriteFile(entryPath(dir, key), data, 0o600); err != nil {
		t.Fatal(err)
	}
	tr := openTier(t, dir, maintain.Options{})
	limit := uint64(3*len(data) + 16<<20)
	steps := map[string]func(){
		"List": func() {
			for _, e := range list(t, tr) {
				if e.Key == key {
					t.Errorf("List found the bomb")
				}
			}
		},
		"Verify": func() {
			if rep, _ := tr.Verify(ctx, false); len(rep.Problems) != 1 {
				t.Errorf("Verify found %d problems, want the bomb", len(rep.Problems))
			}
		},
		"Prune": func() {
			if gone, _ := tr.Prune(ctx, maintain.PruneOptions{DryRun: true, MaxBytes: 1}); len(gone) != 1 || gone[0].Key != key {
				t.Errorf("Prune would remove %+v, want the bomb", gone)
			}
		},
		"Describe": func() {
			if _, err := tr.Describe(ctx, key); err == nil {
				t.Error("Describe of the bomb: no error")
			}
		},
	}
	for name, step := range steps {
		if a := testenv.AllocatedBy(step); a > limit {
			t.Errorf("%s allocated %d MiB for a %d MiB planted entry", name, a>>20, len(data)>>20)
		}
	}
}

// A shard's usage record hard-linked to a file outside the cache:
// recounting, and reading the usage, leave the outside file as it was.
func TestHardLinkedUsageRecordIsNotWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("not the cache's"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	os.Chtimes(outside, old, old)
	do(t, openCache(t, dir), mcCall(300), mcResult{Precision: 1})
	key := keyOf(t, mcCall(300))
	record := filepath.Join(dir, key[:2], disk.UsageName)
	os.Remove(record)
	if err := os.Link(outside, record); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	tr := openTier(t, dir, maintain.Options{})
	if _, err := tr.Recount(ctx); err != nil {
		t.Errorf("Recount: %v", err)
	}
	if u, err := tr.Usage(); err != nil || u.Entries != 1 {
		t.Errorf("usage with the record linked: %+v, %v; want the entry counted", u, err)
	}
	b, _ := os.ReadFile(outside)
	fi, _ := os.Stat(outside)
	if string(b) != "not the cache's" || !fi.ModTime().Equal(old) {
		t.Errorf("the file outside was changed: %q, modified %s", b, fi.ModTime())
	}
}

// Records no shard can have are recounted, never believed.
func TestPlantedUsageRecordsAreRecounted(t *testing.T) {
	dir := t.TempDir()
	do(t, openCache(t, dir), mcCall(300), mcResult{Precision: 1})
	tr := openTier(t, dir, maintain.Options{})
	want, err := tr.Usage()
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf(t, mcCall(300))
	le := binary.LittleEndian
	for name, u := range map[string][3]uint64{
		"negative as signed": {1 << 63, 1 << 63, uint64(time.Now().Unix())},
		"absurdly many":      {1 << 60, 1 << 40, uint64(time.Now().Unix())},
		"bytes of no entry":  {4096, 0, uint64(time.Now().Unix())},
		"from the future":    {4096, 1, uint64(time.Now().Add(72 * time.Hour).Unix())},
	} {
		rec := le.AppendUint64(le.AppendUint64(le.AppendUint64([]byte(disk.UsageMagic), u[0]), u[1]), u[2])
		// Several shards, so that a sum of planted records would overflow.
		for _, shard := range []string{key[:2], "00", "01", "02"} {
			os.MkdirAll(filepath.Join(dir, shard), 0o700)
			os.WriteFile(filepath.Join(dir, shard, disk.UsageName), rec, 0o600)
		}
		if got, err := tr.Usage(); err != nil || got != want {
			t.Errorf("%s: usage %+v, %v; want %+v", name, got, err, want)
		}
	}
}

// A shared store's value whose header claims 64 MiB of metadata is left
// out of the listing, without allocating it.
func TestSharedListBoundsMetadata(t *testing.T) {
	storeDir, r := sharedStore(t, remote.Options{})
	key, good := validEntry(t)
	const metaLen = 64 << 20
	head := make([]byte, entry.HeaderSize)
	copy(head, good[:entry.HeaderSize])
	binary.LittleEndian.PutUint32(head[12:], metaLen)
	binary.LittleEndian.PutUint64(head[16:], 0)
	cachefiles.PlantSparse(t, entryPath(storeDir, key), head, entry.HeaderSize+metaLen+entry.TrailerSize)
	var es []maintain.Entry
	var err error
	if n := testenv.AllocatedBy(func() { es, err = maintain.Shared(r, nil).List(ctx) }); n > 8<<20 {
		t.Errorf("List allocated %d bytes", n)
	}
	if err != nil || len(es) != 0 {
		t.Errorf("List = %+v, %v; want the value left out", es, err)
	}
}
