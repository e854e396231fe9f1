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
	if got, want := mustUsage(t, c), actual(t, c.Dir()); got != want || want.Entries != 270 {
		t.Errorf("Usage() = %+v, the disk holds %+v (want 270 entries)", got, want)
	}
	if walks != 0 {
		t.Errorf("stores and removals walked the cache %d times", walks)
	}
}

// A record a day old, or junk, is recounted when a store next touches
// it: a record planted or mangled is never trusted.
func TestUsageIsRepaired(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 40, 100)
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
	if got := mustUsage(t, c); got != actual(t, c.Dir()) {
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
	if got := mustUsage(t, c); got != u {
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
	if got := mustUsage(t, c); got != u {
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

func mustUsage(t *testing.T, c *Cache) maintain.Usage {
	t.Helper()
	u, err := tierOf(c).Usage()
	if err != nil {
		t.Fatal(err)
	}
	return u
}
