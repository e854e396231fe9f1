package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/internal/testenv/cachefiles"
	"github.com/cachegen/cachegen/maintain"
)

// actual is what the cache's entry files in dir occupy, as the system
// counts it.
func actual(t *testing.T, dir string) maintain.Usage {
	t.Helper()
	b, n := cachefiles.Occupied(t, dir)
	return maintain.Usage{Bytes: b, Entries: n}
}

// plantUnrecorded plants, in each shard of dir that has a usage record,
// an entry its record does not count, as a writer killed between its
// rename and the record's update leaves one; it returns what they occupy.
// A recount of a shard counts its planted entry; adding to its record
// does not.
func plantUnrecorded(t *testing.T, dir string, data []byte) maintain.Usage {
	t.Helper()
	var u maintain.Usage
	for i := range 256 {
		shard := disk.HexByte(i)
		if _, err := os.Stat(filepath.Join(dir, disk.UsagePath(shard))); err != nil {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(disk.EntryName(shard+"0bad0bad0bad0b")))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		u.Bytes += st.Blocks * 512
		u.Entries++
	}
	return u
}

// The cache's usage is kept as entries come and go, by adding each store
// and removal to its shard's record, never by counting shards again, and
// counts what the disk holds: allocated blocks, not lengths. Entries
// planted behind the cache's back once every shard has its record stay
// uncounted: no store or removal recounted a shard. (internal/disk's
// TestWritesListNoOtherShard checks that a store or removal lists no
// shard and walks nothing.)
func TestUsageIsKeptWithoutRecounts(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 300, 100)
	data, err := os.ReadFile(c.disk.Path(mustKey(t, mcCall(0))))
	if err != nil {
		t.Fatal(err)
	}
	planted := plantUnrecorded(t, c.Dir(), data)
	for i := range 50 {
		if _, err := c.Invalidate(context.Background(), mcCall(float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, c, 20, 5000) // replaces 20 entries with larger ones
	want := actual(t, c.Dir())
	if want.Entries != 270+planted.Entries || planted.Entries < 100 {
		t.Fatalf("the disk holds %+v; want 270 entries and the %d planted", want, planted.Entries)
	}
	want.Bytes -= planted.Bytes
	want.Entries -= planted.Entries
	if got := mustUsage(t, c); got != want {
		t.Errorf("Usage() = %+v; want %+v, what the cache stored, without the %d entries planted (a recount counts them)", got, want, planted.Entries)
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
	// A trim of the whole cache prunes the memo of file digests as it
	// walks: a record a year old would go.
	memo := filepath.Join(c.Dir(), disk.MemoDir, "old"+disk.MemoSuffix)
	testenv.WriteFiles(t, c.Dir(), map[string]string{disk.MemoDir + "/old" + disk.MemoSuffix: ""})
	longAgo := time.Now().Add(-365 * 24 * time.Hour)
	os.Chtimes(memo, longAgo, longAgo)
	fill(t, c, 1500, 100)
	if _, err := os.Stat(memo); err != nil || strings.Contains(log.String(), "to bring the cache under its size limit") {
		t.Errorf("a store trimmed the whole cache (the memo record a year old: %v):\n%.2000s", err, log)
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

	// With the whole cache over its limit, by entries planted in shard b,
	// unrecorded and the least recently used of all, stores that take
	// shard a over its share clean shard a alone: a trim of the whole
	// cache would remove b's planted entries first.
	a := disk.ShardOf(mustKey(t, mcCall(100000)))
	ai, _ := strconv.ParseUint(a, 16, 8)
	b := disk.HexByte(int(ai+128) % 256)
	some, _ := filepath.Glob(filepath.Join(c.Dir(), "*", "*"+disk.EntrySuffix))
	if len(some) == 0 {
		t.Fatal("no entry left")
	}
	data, err := os.ReadFile(some[0])
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(c.Dir(), b), 0o700)
	var planted []string
	for over := limit + 64<<10 - actual(t, c.Dir()).Bytes; over >= 0; { // more than stores into a can free
		p := c.disk.Path(b + fmt.Sprintf("%014x", 0xbad000+len(planted)))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, longAgo, longAgo)
		planted = append(planted, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		over -= st.Blocks * 512
	}
	if u := actual(t, c.Dir()); u.Bytes <= limit+64<<10 {
		t.Fatalf("the cache holds %+v with %d entries planted; want it over its limit %d", u, len(planted), limit)
	}
	log.Reset()
	stored := 0
	for i := 100000; stored < 6; i++ {
		if disk.ShardOf(mustKey(t, mcCall(float64(i)))) == a {
			fill1(t, c, i, 100)
			stored++
		}
	}
	if !strings.Contains(log.String(), "of shard "+a+",") {
		t.Errorf("the stores into shard %s cleaned it not:\n%.2000s", a, log)
	}
	for _, p := range planted {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a store into shard %s removed %s: %v", a, p, err)
		}
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
