//go:build linux

package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/disk"
)

// mappedCall is the call of a result that a hit maps.
func mappedCall(n int) Call {
	return Call{Func: "example.com/sim.Field", Version: 1, Params: map[string]any{"n": n}, Map: true}
}

func field(n int) func(context.Context) ([]float64, error) {
	return func(context.Context) ([]float64, error) {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i) / 3
		}
		return v, nil
	}
}

// mappable skips a test whose cache directory is on no local file
// system, where no hit maps.
func mappable(t *testing.T, c *Cache) {
	t.Helper()
	if !disk.Local(c.Dir()) {
		t.Skip("the test's directory is on no local file system, where hits are read, not mapped")
	}
}

// mapsOf counts the mappings of path in this process.
func mapsOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), path)
}

func sameValues(t *testing.T, got []float64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d values, want %d", len(got), n)
	}
	for i, x := range got {
		if x != float64(i)/3 {
			t.Fatalf("value %d is %v, want %v", i, x, float64(i)/3)
		}
	}
}

// A hit of a call with Map maps its entry: its values are the file's, and
// a caller that writes to them changes its own pages alone, never the
// file nor a later hit.
func TestMappedHit(t *testing.T) {
	ctx := context.Background()
	const n = 1 << 18 // 2 MiB
	c, _ := open(t)
	mappable(t, c)
	Do(ctx, c, mappedCall(n), field(n))
	path := c.disk.Path(keyOf(t, mappedCall(n)))
	before, _ := os.ReadFile(path)
	got, err := Do(ctx, c, mappedCall(n), field(-1))
	if err != nil || c.Stats().Hits != 1 {
		t.Fatalf("Do = %v, %+v: want a hit", err, c.Stats())
	}
	sameValues(t, got, n)
	if mapsOf(t, path) != 1 {
		t.Fatal("the hit did not map its entry")
	}
	for i := range got {
		got[i] = -1
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("writing to a mapped result changed the entry file")
	}
	again, _ := Do(ctx, c, mappedCall(n), field(-1))
	sameValues(t, again, n)
	// Without Map, or for a small result, the entry is read.
	plain := mappedCall(n)
	plain.Map = false
	if v, _ := Do(ctx, c, plain, field(n)); mapsOf(t, path) != 2 || len(v) != n {
		t.Error("a call without Map mapped its entry")
	}
}

// A mapped result stays whole when its entry file is removed, or replaced
// by rename, while it is in use.
func TestMappedResultOutlivesItsFile(t *testing.T) {
	ctx := context.Background()
	const n = 1 << 18
	for _, how := range []string{"removed", "replaced"} {
		t.Run(how, func(t *testing.T) {
			c, _ := open(t)
			Do(ctx, c, mappedCall(n), field(n))
			got, _ := Do(ctx, c, mappedCall(n), field(-1))
			path := c.disk.Path(keyOf(t, mappedCall(n)))
			if how == "removed" {
				if _, err := c.Invalidate(ctx, mappedCall(n)); err != nil {
					t.Fatal(err)
				}
			} else {
				other := filepath.Join(filepath.Dir(path), "other")
				os.WriteFile(other, bytes.Repeat([]byte{0xff}, 4<<20), 0o600)
				if err := os.Rename(other, path); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			sameValues(t, got, n)
		})
	}
}

// An entry file cut short, or holding junk, before a mapped hit is a
// miss, never a fault: the file's size is checked before it is mapped,
// and its checksums over what was mapped.
func TestMappedHitOfABadFileIsAMiss(t *testing.T) {
	ctx := context.Background()
	const n = 1 << 18
	for _, damage := range []string{"cut short", "junk"} {
		t.Run(damage, func(t *testing.T) {
			c, _ := open(t)
			Do(ctx, c, mappedCall(n), field(n))
			path := c.disk.Path(keyOf(t, mappedCall(n)))
			data, _ := os.ReadFile(path)
			if damage == "cut short" {
				data = data[:len(data)/2]
			} else {
				for i := 4096; i < len(data); i += 512 {
					data[i] ^= 0x5a
				}
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var computed counter
			got, err := Do(ctx, c, mappedCall(n), func(ctx context.Context) ([]float64, error) {
				computed.n.Add(1)
				return field(n)(ctx)
			})
			if err != nil || computed.n.Load() != 1 || c.Stats().Corrupt != 1 {
				t.Fatalf("Do = %v, computed %d, %+v: want a miss counted corrupt", err, computed.n.Load(), c.Stats())
			}
			sameValues(t, got, n)
			if mapsOf(t, path) != 0 {
				t.Error("a rejected mapping was kept")
			}
		})
	}
}

// rssAnon is this process's resident anonymous memory, in bytes: what
// the kernel cannot take back without swap.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no RssAnon in /proc/self/status")
	return 0
}

// Mapped hits put no copy of their results on the heap, and the pages
// they touch are the file's, which the kernel takes back as it needs
// them: many hits in one process, each read whole, allocate a small
// fraction of what they return and leave the process's own memory about
// where it was.
func TestMappedHitsAllocateLittle(t *testing.T) {
	ctx := context.Background()
	const n, hits = 1 << 19, 40 // 4 MiB each, 160 MiB in all
	c, _ := open(t)
	mappable(t, c)
	Do(ctx, c, mappedCall(n), field(n))
	var before, after runtime.MemStats
	runtime.GC()
	anon := rssAnon(t)
	runtime.ReadMemStats(&before)
	sum, want := 0.0, 0.0
	for range hits {
		v, err := Do(ctx, c, mappedCall(n), field(-1))
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range v {
			sum += x
			want += float64(i) / 3
		}
	}
	runtime.ReadMemStats(&after)
	if perHit := (after.TotalAlloc - before.TotalAlloc) / hits; perHit > 256<<10 {
		t.Errorf("each mapped hit of a 4 MiB result allocated %d bytes on the heap: want no copy of the values", perHit)
	}
	if grew := rssAnon(t) - anon; grew > 32<<20 {
		t.Errorf("%d hits of 4 MiB grew the process's anonymous memory by %d MiB: want the file's pages, not copies", hits, grew>>20)
	}
	if sum != want {
		t.Errorf("the hits' values sum to %v, want %v", sum, want)
	}
}
