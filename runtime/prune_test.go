package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/maintain"
)

func fill(t *testing.T, c *Cache, n int, size int) {
	t.Helper()
	for i := range n {
		if _, err := Do(context.Background(), c, mcCall(float64(i)), func(context.Context) ([]byte, error) { return make([]byte, size), nil }); err != nil {
			t.Fatal(err)
		}
	}
}

func dirBytes(t *testing.T, c *Cache) (total int64, n int) {
	t.Helper()
	es, err := tierOf(c).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		total += e.Size
	}
	return total, len(es)
}

func TestPruneIsLeastRecentlyUsedFirst(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 3, 1000)
	// Two hours on, a hit on entry 0 records its use; 1 and 2 stay as
	// they were.
	later := time.Now().Add(2 * time.Hour)
	c.now = func() time.Time { return later }
	fill(t, c, 1, 1000)
	if c.Stats().Hits != 1 {
		t.Fatal("expected a hit")
	}
	total, _ := dirBytes(t, c)
	removed, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{MaxBytes: total / 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %d entries, want 2", len(removed))
	}
	k0, _ := mcCall(0).Key()
	for _, e := range removed {
		if e.Key == k0 {
			t.Fatal("pruned the most recently used entry")
		}
	}
	if es, _ := tierOf(c).List(context.Background()); len(es) != 1 || es[0].Key != k0 {
		t.Fatalf("left %+v, want only the recently used entry", es)
	}
}

func TestHitTouchesAtMostHourly(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 1, 10)
	key, _ := mcCall(0).Key()
	path := c.disk.Path(key)
	fi, _ := os.Stat(path)
	stored := fi.ModTime()
	c.now = func() time.Time { return stored.Add(30 * time.Minute) }
	fill(t, c, 1, 10)
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(stored) {
		t.Error("a hit within the hour rewrote the modification time")
	}
	c.now = func() time.Time { return stored.Add(61 * time.Minute) }
	fill(t, c, 1, 10)
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(stored.Add(61 * time.Minute)) {
		t.Errorf("a hit after an hour left mtime %v", fi.ModTime())
	}
}

func TestPruneByAgeAndUse(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 2, 10)
	now := time.Now()
	c.now = func() time.Time { return now.Add(3 * time.Hour) }
	if removed, _ := tierOf(c).Prune(context.Background(), maintain.PruneOptions{OlderThan: 4 * time.Hour}); len(removed) != 0 {
		t.Fatalf("pruned %d entries younger than the limit", len(removed))
	}
	if removed, _ := tierOf(c).Prune(context.Background(), maintain.PruneOptions{UnusedFor: 2 * time.Hour, DryRun: true}); len(removed) != 2 {
		t.Fatalf("dry run would remove %d, want 2", len(removed))
	}
	if _, n := dirBytes(t, c); n != 2 {
		t.Fatal("a dry run removed entries")
	}
	if removed, _ := tierOf(c).Prune(context.Background(), maintain.PruneOptions{OlderThan: 2 * time.Hour}); len(removed) != 2 {
		t.Fatalf("pruned %d entries older than the limit, want 2", len(removed))
	}
}

func TestMaxBytesHoldsAfterABurst(t *testing.T) {
	const limit = 64 << 10
	c, _ := open(t, WithMaxBytes(limit))
	fill(t, c, 200, 1000) // about 200 KB written into a 64 KB cache
	total, n := dirBytes(t, c)
	if total > limit {
		t.Fatalf("cache holds %d bytes in %d entries, over its %d-byte limit", total, n, limit)
	}
	if n == 0 {
		t.Fatal("trimming removed everything")
	}
}

func TestMaxBytesFromEnvironment(t *testing.T) {
	t.Setenv(envDir, t.TempDir())
	t.Setenv(envMaxSize, "2KiB")
	c := fromEnv(discardLogger())
	if c.maxBytes != 2048 {
		t.Fatalf("maxBytes %d, want 2048", c.maxBytes)
	}
	t.Setenv(envMaxSize, "lots")
	if c := fromEnv(discardLogger()); c.Mode() != ModeOff {
		t.Fatal("a bad CACHEGEN_MAX_SIZE did not fall back to computing")
	}
}

func TestTrimRacesWithReadersAndWriters(t *testing.T) {
	c, _ := open(t, WithMaxBytes(16<<10))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				call := mcCall(float64((w*1000 + i) % 40))
				want := int(call.Params["snr"].(float64))
				got, err := Do(context.Background(), c, call, func(context.Context) ([]int, error) { return []int{want, want, want}, nil })
				if err != nil || len(got) != 3 || got[0] != want || got[2] != want {
					t.Errorf("got (%v, %v), want [%d %d %d]", got, err, want, want, want)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{MaxBytes: 2 << 10}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	time.Sleep(stressDuration())
	close(stop)
	wg.Wait()
	if s := c.Stats(); s.Corrupt != 0 || s.StoreErrors != 0 {
		t.Fatalf("trimming gave callers errors: %+v", s)
	}
}

func TestPruneAndVerifyRemoveOldTempFiles(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 1, 10)
	key, _ := mcCall(0).Key()
	temp := filepath.Join(c.Dir(), key[:2], disk.TempPrefix+key+"-9")
	os.WriteFile(temp, []byte("partial"), 0o600)
	if rep, _ := tierOf(c).Verify(context.Background(), false); len(rep.Problems) != 0 || rep.Checked != 1 {
		t.Fatalf("Verify = %+v: want the entry checked, and a fresh temp file not reported", rep)
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	rep, err := tierOf(c).Verify(context.Background(), false)
	problems := rep.Problems
	if err != nil || len(problems) != 1 || problems[0].Key != "" {
		t.Fatalf("Verify = %+v, %v; want the old temp file", problems, err)
	}
	if _, err := os.Stat(temp); err != nil {
		t.Fatal("Verify without fix removed a file")
	}
	tierOf(c).Prune(context.Background(), maintain.PruneOptions{})
	if _, err := os.Stat(temp); !os.IsNotExist(err) {
		t.Fatal("trimming left an old temp file")
	}
}

func TestVerifyReportsAndFixesBadEntries(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 3, 10)
	k0, _ := mcCall(0).Key()
	k1, _ := mcCall(1).Key()
	k2, _ := mcCall(2).Key()
	data, _ := os.ReadFile(c.disk.Path(k0))
	data[len(data)-12] ^= 1
	os.WriteFile(c.disk.Path(k0), data, 0o600)
	moved, _ := os.ReadFile(c.disk.Path(k2))
	os.WriteFile(c.disk.Path(k1), moved, 0o600)
	rep, err := tierOf(c).Verify(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	problems := rep.Problems
	if rep.Checked != 3 {
		t.Errorf("checked %d entries, want 3", rep.Checked)
	}
	bad := map[string]bool{}
	for _, p := range problems {
		bad[p.Key] = errors.Is(p.Err, entry.ErrCorrupt)
	}
	if len(problems) != 2 || !bad[k0] || !bad[k1] {
		t.Fatalf("problems %+v, want the flipped entry %s and the moved entry %s", problems, k0, k1)
	}
	if es, _ := tierOf(c).List(context.Background()); len(es) != 1 || es[0].Key != k2 {
		t.Fatalf("after -fix: %+v, want only the good entry", es)
	}
}

func TestListMarksStaleEntries(t *testing.T) {
	c, _ := open(t)
	call := mcCall(1)
	call.TTL = time.Hour
	Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	es, _ := tierOf(c).List(context.Background())
	if len(es) != 1 || es[0].Stale || es[0].TTL != time.Hour {
		t.Fatalf("fresh entry listed as %+v", es)
	}
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if es, _ := tierOf(c).List(context.Background()); !es[0].Stale {
		t.Fatal("an entry older than its TTL is not marked stale")
	}
}

// The entry a store just wrote survives the trim it starts, even when it
// alone is over the limit; a verbose cache logs the trim.
func TestTrimKeepsTheEntryJustWrittenAndSaysWhatItDid(t *testing.T) {
	const limit = 40 << 10
	c, log := open(t, WithMaxBytes(limit), WithVerbose(true))
	for i := range 7 {
		fill1(t, c, i, 8<<10)
		if _, err := os.Stat(c.disk.Path(keyOf(t, mcCall(float64(i))))); err != nil {
			t.Fatalf("entry %d, just written, was trimmed: %v", i, err)
		}
	}
	if total, _ := dirBytes(t, c); total > limit {
		t.Errorf("%d bytes after the trims, over the limit %d", total, limit)
	}
	fill1(t, c, 99, 2*limit) // larger than the limit itself
	if _, err := os.Stat(c.disk.Path(keyOf(t, mcCall(99)))); err != nil {
		t.Errorf("an entry larger than the limit was trimmed as it was written: %v", err)
	}
	for _, want := range []string{"[TRIM] removed", "entries, the least recently used", "limit=40960", "target=30720"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// A process that only hits trims a cache over its limit, once.
func TestTrimOnAProcessThatOnlyHits(t *testing.T) {
	dir := t.TempDir()
	writer, _ := openDir(t, dir)
	for i := range 6 {
		fill1(t, writer, i, 8<<10)
	}
	const limit = 40 << 10
	reader, _ := openDir(t, dir, WithMaxBytes(limit))
	walks := 0
	disk.WalkHook = func(string) { walks++ }
	t.Cleanup(func() { disk.WalkHook = nil })
	fill1(t, reader, 5, 8<<10)
	if reader.Stats().Hits != 1 {
		t.Fatal("expected a hit")
	}
	total, _ := dirBytes(t, reader)
	if total > limit*3/4 {
		t.Errorf("a hit left the cache at %d bytes, over the trim target %d", total, limit*3/4)
	}
	if _, err := os.Stat(reader.disk.Path(keyOf(t, mcCall(5)))); err != nil {
		t.Errorf("the entry just loaded was trimmed: %v", err)
	}
	walks = 0
	fill1(t, reader, 5, 8<<10)
	if walks != 0 {
		t.Errorf("a second hit walked the cache %d times: a trim on hits is once per process", walks)
	}
}

// A cache under its limit loses nothing, even when it is over the three
// quarters that a trim brings it down to; the entry a hit loads is kept
// even when it is the least recently used.
func TestTrimLeavesACacheUnderItsLimitAlone(t *testing.T) {
	dir := t.TempDir()
	writer, _ := openDir(t, dir)
	for i := range 6 {
		fill1(t, writer, i, 8<<10)
	}
	before, n := dirBytes(t, writer)
	limit := before + before/10 // over three quarters, under the limit
	reader, log := openDir(t, dir, WithMaxBytes(limit), WithVerbose(true))
	fill1(t, reader, 3, 8<<10)
	if _, m := dirBytes(t, reader); m != n || strings.Contains(log.String(), "[TRIM]") {
		t.Errorf("a cache of %d bytes under its limit of %d went from %d to %d entries:\n%s", before, limit, n, m, log)
	}

	reader, _ = openDir(t, dir, WithMaxBytes(before/2))
	fill1(t, reader, 0, 8<<10) // the oldest entry
	if _, err := os.Stat(reader.disk.Path(keyOf(t, mcCall(0)))); err != nil {
		t.Errorf("the least recently used entry, just loaded, was trimmed: %v", err)
	}
}

func fill1(t *testing.T, c *Cache, i int, size int) {
	t.Helper()
	if _, err := Do(context.Background(), c, mcCall(float64(i)), func(context.Context) ([]byte, error) { return make([]byte, size), nil }); err != nil {
		t.Fatal(err)
	}
}

func TestOldVersionsAreMarkedAndPruned(t *testing.T) {
	c, _ := open(t)
	calls := []Call{mcCall(1), mcCall(2)}
	for _, call := range calls {
		do(t, c, call, func(context.Context) (int, error) { return 1, nil })
		call.Version = 2
		do(t, c, call, func(context.Context) (int, error) { return 2, nil })
	}
	other := Call{Func: "example.com/sim.Other", Version: 1, Params: map[string]any{}}
	do(t, c, other, func(context.Context) (int, error) { return 3, nil })
	es, err := tierOf(c).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old := 0
	for _, e := range es {
		if e.OldVersion != (e.Func == calls[0].Func && e.Version == 1) {
			t.Errorf("%s version %d: OldVersion %v", e.Func, e.Version, e.OldVersion)
		}
		if e.OldVersion {
			old++
		}
	}
	if old != 2 {
		t.Fatalf("%d old versions, want 2", old)
	}
	dry, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{OldVersions: true, DryRun: true})
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry run: %d, %v: want the 2 old versions", len(dry), err)
	}
	if _, n := dirBytes(t, c); n != 5 {
		t.Fatalf("a dry run removed entries: %d left", n)
	}
	removed, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{OldVersions: true})
	if err != nil || len(removed) != 2 {
		t.Fatalf("pruned %d, %v: want the 2 old versions", len(removed), err)
	}
	for _, e := range removed {
		if e.Version != 1 || e.Func != calls[0].Func {
			t.Errorf("pruned %s version %d", e.Func, e.Version)
		}
	}
}

// An entry used again after a rollback to its version is not old.
func TestOldVersionUsedAgainIsNotOld(t *testing.T) {
	c, _ := open(t)
	now := time.Now() // as a store's modification time is
	c.now = func() time.Time { return now }
	v1, v2 := mcCall(1), mcCall(1)
	v2.Version = 2
	one := func(context.Context) (int, error) { return 1, nil }
	do(t, c, v1, one)
	now = now.Add(2 * time.Hour)
	do(t, c, v2, one)
	old := func() bool {
		es, err := tierOf(c).List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Version == 1 {
				return e.OldVersion
			}
		}
		t.Fatal("no version 1 entry")
		return false
	}
	if !old() {
		t.Fatal("version 1, unused since version 2 was computed, is not old")
	}
	now = now.Add(2 * time.Hour) // rolled back: version 1 is used again
	do(t, c, v1, one)
	if old() {
		t.Error("version 1, used again after version 2 was computed, is marked old")
	}
	if removed, _ := tierOf(c).Prune(context.Background(), maintain.PruneOptions{OldVersions: true}); len(removed) != 0 {
		t.Errorf("prune -old-versions removed %d entries in use", len(removed))
	}
}

// Prune and Clear remove the lock files that killed holders left, and
// never one a computation holds: the computation keeps its exclusion.
func TestPruneRemovesOnlyFreeLocks(t *testing.T) {
	withFileLocks(t)
	dir := t.TempDir()
	holder, _ := openDir(t, dir)
	other, _ := openDir(t, dir)
	held, _ := mcCall(1).Key()
	unlock, _, err := holder.lockKey(context.Background(), held, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	free, _ := mcCall(2).Key()
	f, err := other.disk.OpenLock(free) // as a killed holder leaves it
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, clean := range []func() error{
		func() error { _, err := tierOf(other).Prune(context.Background(), maintain.PruneOptions{}); return err },
		func() error { return tierOf(other).Clear(context.Background()) },
	} {
		if err := clean(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(other.disk.Abs(disk.LockName(held))); err != nil {
			t.Fatalf("the held lock was removed: %v", err)
		}
		if _, err := os.Stat(other.disk.Abs(disk.LockName(free))); !os.IsNotExist(err) {
			t.Fatalf("the free lock was left: %v", err)
		}
		f, _ := other.disk.OpenLock(free)
		f.Close()
	}
	// The holder still excludes others.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Do(ctx, other, mcCall(1), func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call while the lock is held: %v; want it to wait", err)
	}
}

// withFileLocks makes the test take per-key lock files, as systems other
// than Linux do.
func withFileLocks(t *testing.T) {
	disk.FileLocks = true
	t.Cleanup(func() { disk.FileLocks = false })
}
