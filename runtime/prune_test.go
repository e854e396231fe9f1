package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
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
	es, err := c.List(context.Background())
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
	removed, err := c.Prune(context.Background(), PruneOptions{MaxBytes: total / 2})
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
	if es, _ := c.List(context.Background()); len(es) != 1 || es[0].Key != k0 {
		t.Fatalf("left %+v, want only the recently used entry", es)
	}
}

func TestHitTouchesAtMostHourly(t *testing.T) {
	c, _ := open(t)
	fill(t, c, 1, 10)
	key, _ := mcCall(0).Key()
	path := c.disk.path(key)
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
	if removed, _ := c.Prune(context.Background(), PruneOptions{OlderThan: 4 * time.Hour}); len(removed) != 0 {
		t.Fatalf("pruned %d entries younger than the limit", len(removed))
	}
	if removed, _ := c.Prune(context.Background(), PruneOptions{UnusedFor: 2 * time.Hour, DryRun: true}); len(removed) != 2 {
		t.Fatalf("dry run would remove %d, want 2", len(removed))
	}
	if _, n := dirBytes(t, c); n != 2 {
		t.Fatal("a dry run removed entries")
	}
	if removed, _ := c.Prune(context.Background(), PruneOptions{OlderThan: 2 * time.Hour}); len(removed) != 2 {
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
			if _, err := c.Prune(context.Background(), PruneOptions{MaxBytes: 2 << 10}); err != nil {
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
	temp := filepath.Join(c.Dir(), key[:2], tempPrefix+key+"-9")
	os.WriteFile(temp, []byte("partial"), 0o600)
	if problems, _ := c.Verify(context.Background(), false); len(problems) != 0 {
		t.Fatalf("a fresh temp file is reported: %+v", problems)
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	problems, err := c.Verify(context.Background(), false)
	if err != nil || len(problems) != 1 || problems[0].Key != "" {
		t.Fatalf("Verify = %+v, %v; want the old temp file", problems, err)
	}
	if _, err := os.Stat(temp); err != nil {
		t.Fatal("Verify without fix removed a file")
	}
	c.Prune(context.Background(), PruneOptions{})
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
	data, _ := os.ReadFile(c.disk.path(k0))
	data[len(data)-12] ^= 1
	os.WriteFile(c.disk.path(k0), data, 0o600)
	moved, _ := os.ReadFile(c.disk.path(k2))
	os.WriteFile(c.disk.path(k1), moved, 0o600)
	problems, err := c.Verify(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, p := range problems {
		bad[p.Key] = errors.Is(p.Err, entry.ErrCorrupt)
	}
	if len(problems) != 2 || !bad[k0] || !bad[k1] {
		t.Fatalf("problems %+v, want the flipped entry %s and the moved entry %s", problems, k0, k1)
	}
	if es, _ := c.List(context.Background()); len(es) != 1 || es[0].Key != k2 {
		t.Fatalf("after -fix: %+v, want only the good entry", es)
	}
}

func TestListMarksStaleEntries(t *testing.T) {
	c, _ := open(t)
	call := mcCall(1)
	call.TTL = time.Hour
	Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	es, _ := c.List(context.Background())
	if len(es) != 1 || es[0].Stale || es[0].TTL != time.Hour {
		t.Fatalf("fresh entry listed as %+v", es)
	}
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if es, _ := c.List(context.Background()); !es[0].Stale {
		t.Fatal("an entry older than its TTL is not marked stale")
	}
}
