package runtime

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
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

// A process that only hits trims a cache over its limit, once: at its
// first hit, not again at the next, when other processes' stores have
// taken the cache over its limit since.
func TestTrimOnAProcessThatOnlyHits(t *testing.T) {
	dir := t.TempDir()
	writer, _ := openDir(t, dir)
	for i := range 6 {
		fill1(t, writer, i, 8<<10)
	}
	const limit = 40 << 10
	reader, _ := openDir(t, dir, WithMaxBytes(limit))
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
	for i := 10; i < 16; i++ {
		fill1(t, writer, i, 8<<10)
	}
	over, n := dirBytes(t, reader)
	if over <= limit {
		t.Fatalf("the writer left the cache at %d bytes; want it over the limit %d", over, limit)
	}
	fill1(t, reader, 5, 8<<10)
	if reader.Stats().Hits != 2 {
		t.Fatal("expected a second hit")
	}
	if _, m := dirBytes(t, reader); m != n {
		t.Errorf("a second hit trimmed the cache from %d entries to %d: a trim on hits is once per process", n, m)
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

// The size limit's trim removes what killed writers left, which the limit
// does not count: a temporary file long abandoned goes, and one a writer
// may still be writing stays.
func TestTrimRemovesWhatKilledWritersLeft(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "ab")
	if err := os.MkdirAll(shard, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(shard, disk.TempPrefix+"abcdef0123456789-1")
	fresh := filepath.Join(shard, disk.TempPrefix+"abcdef0123456789-2")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	os.Chtimes(old, long, long)
	c, _ := openDir(t, dir, WithMaxBytes(64<<10))
	fill(t, c, 1, 100) // the first store checks the limit
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a temporary file an hour old survived the trim: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file, maybe a writer's at work, was removed: %v", err)
	}
}
