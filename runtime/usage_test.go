package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/maintain"
)

// walked returns the whole-cache walks made while fn runs.
func walked(t *testing.T, fn func()) int {
	t.Helper()
	var n atomic.Int32
	disk.WalkHook = func(string) { n.Add(1) }
	defer func() { disk.WalkHook = nil }()
	fn()
	return int(n.Load())
}

// scanned returns the shards listed, alone, while fn runs.
func scanned(t *testing.T, fn func()) int {
	t.Helper()
	var n atomic.Int32
	disk.ShardHook = func(string) { n.Add(1) }
	defer func() { disk.ShardHook = nil }()
	fn()
	return int(n.Load())
}

// actual counts what the cache's entry files occupy, with the system's
// own figure for each: st_blocks of 512 bytes.
func actual(t *testing.T, dir string) maintain.Usage {
	t.Helper()
	var u maintain.Usage
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, disk.EntrySuffix) {
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			u.Bytes += st.Blocks * 512
			u.Entries++
		}
		return nil
	})
	return u
}

// The cache's usage is kept as entries come and go, without a walk, and
// counts what the disk holds: allocated blocks, not lengths.
func TestUsageIsKeptWithoutWalks(t *testing.T) {
	c, _ := open(t)
	var scans int
	walks := walked(t, func() {
		scans = scanned(t, func() {
			fill(t, c, 300, 100)
			for i := range 50 {
				if _, err := c.Invalidate(context.Background(), mcCall(float64(i))); err != nil {
					t.Fatal(err)
				}
			}
			fill(t, c, 20, 5000) // replaces 20 entries with larger ones
		})
	})
	if scans > 256 {
		t.Errorf("stores and removals listed shards %d times; want at most once each, for its first record", scans)
	}
	var got maintain.Usage
	var err error
	if n := scanned(t, func() { got, err = tierOf(c).Usage() }); n != 0 || err != nil {
		t.Errorf("Usage() listed %d shards (%v); want it read from the records alone", n, err)
	}
	if want := actual(t, c.Dir()); got != want || want.Entries != 270 {
		t.Errorf("Usage() = %+v, the disk holds %+v (want 270 entries)", got, want)
	}
	if walks != 0 {
		t.Errorf("stores and removals walked the cache %d times", walks)
	}
	es, _ := tierOf(c).List(context.Background())
	for _, e := range es {
		if fi, _ := os.Stat(c.disk.Path(e.Key)); e.Size < fi.Size() || e.Size%512 != 0 {
			t.Fatalf("entry %s: Size %d for a file of %d bytes; want its allocated blocks", e.Key, e.Size, fi.Size())
		}
	}
}

// A writer killed between storing an entry and recording it leaves the
// figure short; a recount, or the day-old record's own recount, repairs
// it. A record planted or mangled is recounted, never trusted.
func TestUsageIsRepaired(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 40, 100)
	// Entries stored as a killed writer leaves them: unrecorded.
	for i, planted := 100, 0; planted < 10; i++ {
		key, _ := mcCall(float64(i)).Key()
		if _, err := os.Stat(c.disk.Abs(disk.UsagePath(disk.ShardOf(key)))); err != nil {
			continue // a shard without a record counts itself when read
		}
		planted++
		data, _ := os.ReadFile(c.disk.Path(mustKey(t, mcCall(0))))
		if err := c.disk.Replace(disk.EntryName(key), key, data); err != nil {
			t.Fatal(err)
		}
	}
	want := actual(t, c.Dir())
	if got, _ := tierOf(c).Usage(); got == want || got.Entries != 40 {
		t.Fatalf("Usage() = %+v before the repair; want 40 recorded entries", got)
	}
	for i := range 256 {
		c.disk.WithUsage(disk.HexByte(i), func() (disk.Usage, error) { return disk.Usage{Bytes: -4096, Entries: -1}, nil }) // lose an update in every shard
	}
	if _, err := tierOf(c).Recount(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := tierOf(c).Usage(); got != want {
		t.Errorf("after Recount: maintain.Usage() = %+v, the disk holds %+v", got, want)
	}
	// Records a day old, or junk, are recounted when next touched.
	for i := range 256 {
		p := c.disk.Abs(disk.UsagePath(disk.HexByte(i)))
		switch i % 3 {
		case 0:
			os.WriteFile(p, []byte("junk"), 0o600)
		case 1:
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err == nil {
				disk.WriteUsage(f, disk.Usage{Bytes: 1 << 40, Entries: 1 << 30}, time.Now().Add(-25*time.Hour))
				f.Close()
			}
		case 2:
			os.Remove(p)
		}
	}
	stored := map[string]bool{} // a store in every shard
	for i := 1000; len(stored) < 256; i++ {
		if key := mustKey(t, mcCall(float64(i))); !stored[disk.ShardOf(key)] {
			stored[disk.ShardOf(key)] = true
			do(t, c, mcCall(float64(i)), func(context.Context) ([]byte, error) { return make([]byte, 100), nil })
		}
	}
	if got, _ := tierOf(c).Usage(); got != actual(t, c.Dir()) {
		t.Errorf("after junk and day-old records: maintain.Usage() = %+v, the disk holds %+v", got, actual(t, c.Dir()))
	}
}

func mustKey(t *testing.T, call Call) string {
	t.Helper()
	k, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// In a cache of many entries, a store that takes its shard over its share
// of the limit cleans that shard alone: no store walks the cache, and
// every shard, so the whole, stays within its share.
func TestLimitIsKeptShardByShard(t *testing.T) {
	testenv.Slow(t) // writes thousands of entries across every shard
	old := shardCleanMin
	shardCleanMin = 2
	defer func() { shardCleanMin = old }()
	const limit = 256 * 4 * 4096 // a share of 4 small entries
	c, log := open(t, WithMaxBytes(limit), WithVerbose(true))
	walks := walked(t, func() { fill(t, c, 1500, 100) })
	if walks != 0 {
		t.Errorf("stores walked the cache %d times", walks)
	}
	u := actual(t, c.Dir())
	if u.Bytes > limit || u.Entries < 500 {
		t.Errorf("the cache holds %+v under a limit of %d; want it within, and most of it used", u, limit)
	}
	for i := range 256 {
		if s, _ := c.disk.CountShard(disk.HexByte(i)); s.Bytes > limit/256 {
			t.Errorf("shard %s holds %d bytes, over its share of %d", disk.HexByte(i), s.Bytes, limit/256)
		}
	}
	if !strings.Contains(log.String(), "to keep it within its share of the size limit") {
		t.Errorf("no trim was logged:\n%.2000s", log)
	}
	if got, _ := tierOf(c).Usage(); got != u {
		t.Errorf("Usage() = %+v, the disk holds %+v", got, u)
	}
}

// Several processes storing into one cache at once keep it within its
// limit, and its records right.
func TestLimitHoldsUnderConcurrentProcesses(t *testing.T) {
	testenv.Slow(t) // three processes fill one cache
	dir := t.TempDir()
	const limit = 256 * 4 * 4096
	var cmds []*exec.Cmd
	for p := range 3 {
		cmd := child(t, "fill-limit", dir, strconv.Itoa(limit), strconv.Itoa(p*10000), "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	u := actual(t, dir)
	if u.Bytes > limit || u.Entries < 500 {
		t.Errorf("the cache holds %+v under a limit of %d", u, limit)
	}
	c, _ := openDir(t, dir)
	if got, _ := tierOf(c).Usage(); got != u {
		t.Errorf("Usage() = %+v, the disk holds %+v", got, u)
	}
	var locks int
	c.disk.Walk(context.Background(), func(_ string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			locks++
		}
		return nil
	})
	if locks != 0 {
		t.Errorf("%d files besides the entries", locks)
	}
}

// A Prune keeps in the records what other processes store while it walks,
// and a cache opened read-only writes no record.
func TestPruneKeepsConcurrentStoresInTheRecord(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	other, _ := openDir(t, dir)
	fill(t, c, 50, 100)
	var once atomic.Bool
	disk.WalkHook = func(string) {
		if once.CompareAndSwap(false, true) {
			fill(t, other, 60, 100) // ten new entries, stored mid-walk
		}
	}
	defer func() { disk.WalkHook = nil }()
	if _, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{MaxBytes: 40 * 4096}); err != nil {
		t.Fatal(err)
	}
	disk.WalkHook = nil
	if got, want := mustUsage(t, c), actual(t, dir); got != want {
		t.Errorf("after a Prune with stores during its walk: maintain.Usage() = %+v, the disk holds %+v", got, want)
	}

	ro := t.TempDir()
	w, _ := openDir(t, ro)
	fill(t, w, 5, 100)
	for i := range 256 {
		os.Remove(w.disk.Abs(disk.UsagePath(disk.HexByte(i))))
	}
	r, _ := openDir(t, ro, WithMode(ModeReadOnly))
	if u := mustUsage(t, r); u.Entries != 5 {
		t.Errorf("read-only maintain.Usage() = %+v, want the 5 entries counted", u)
	}
	for i := range 256 {
		if _, err := os.Stat(w.disk.Abs(disk.UsagePath(disk.HexByte(i)))); err == nil {
			t.Fatalf("a read-only cache wrote the record of shard %s", disk.HexByte(i))
		}
	}
}

func mustUsage(t *testing.T, c *Cache) maintain.Usage {
	t.Helper()
	u, err := tierOf(c).Usage()
	if err != nil {
		t.Fatal(err)
	}
	return u
}
