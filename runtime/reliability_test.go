package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/testenv"
)

// selfChecking returns a payload whose elements all equal n: a reader of
// a torn entry would see a mix.
func selfChecking(n int) []int {
	xs := make([]int, 4096)
	for i := range xs {
		xs[i] = n
	}
	return xs
}

func consistent(xs []int) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return len(xs) == 4096
}

// Scenario 3: readers loop while writers replace one entry with
// self-checking payloads; no reader ever sees a partial or mixed value,
// and no entry is ever rejected as corrupt.
func TestNoTornReads(t *testing.T) {
	dir := t.TempDir()
	call := mcCall(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		writer, _ := openDir(t, dir, WithMode(ModeRefresh))
		wg.Go(func() {
			for n := w * 1_000_000; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				Do(context.Background(), writer, call, func(context.Context) ([]int, error) { return selfChecking(n), nil })
			}
		})
	}
	readers := make([]*Cache, 4)
	for r := range readers {
		readers[r], _ = openDir(t, dir)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := Do(context.Background(), readers[r], call, func(context.Context) ([]int, error) { return selfChecking(-1), nil })
				if err != nil || !consistent(got) {
					t.Errorf("reader got a torn value (err %v)", err)
					return
				}
			}
		})
	}
	time.Sleep(stressDuration())
	close(stop)
	wg.Wait()
	var hits int64
	for _, r := range readers {
		s := r.Stats()
		hits += s.Hits
		if s.Corrupt != 0 {
			t.Errorf("a reader rejected %d entries as corrupt: a write was visible before it was whole", s.Corrupt)
		}
	}
	if hits == 0 {
		t.Error("readers never hit: the test exercised nothing")
	}
}

// Scenario 6: a store that fails before its temporary file is made (its
// shard cannot be made: a regular file is in its place, ENOTDIR) or after
// it was written (it cannot be renamed onto the directory in the entry's
// place, EISDIR). The caller gets its computed result, no entry and no
// temporary file is left, and the failure is counted every time and
// logged once, naming it. (internal/disk's TestFailedWritesLeaveNothing
// fails each step of a write with ENOSPC and EIO.)
func TestStoreFailuresLoseNothing(t *testing.T) {
	key := keyOf(t, mcCall(1))
	for _, tc := range []struct {
		name, planted string // what is planted, in the way of the store
		dir           bool   // a directory, not a regular file
		err           syscall.Errno
	}{
		{"the shard cannot be made", disk.ShardOf(key), false, syscall.ENOTDIR},
		{"the entry cannot be renamed into place", disk.EntryName(key), true, syscall.EISDIR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, log := open(t)
			p := filepath.Join(c.Dir(), filepath.FromSlash(tc.planted))
			if tc.dir {
				testenv.WriteFiles(t, p, map[string]string{"x": "not an entry"})
			} else {
				testenv.WriteFiles(t, c.Dir(), map[string]string{tc.planted: "not a shard"})
			}
			for range 3 {
				got, err := Do(context.Background(), c, mcCall(1), func(context.Context) ([]int, error) { return selfChecking(7), nil })
				if err != nil || !consistent(got) || got[0] != 7 {
					t.Fatalf("got (%v…, %v), want the computed result", got[:1], err)
				}
			}
			if s := c.Stats(); s.StoreErrors != 3 || s.Computations != 3 {
				t.Errorf("stats %+v, want 3 store errors and 3 computations", s)
			}
			if n := strings.Count(log.String(), "could not store"); n != 1 || !strings.Contains(log.String(), tc.err.Error()) {
				t.Errorf("logged %d times, want once naming %q:\n%s", n, tc.err.Error(), log)
			}
			var files []string
			c.disk.Walk(context.Background(), func(path string, kind disk.FileKind) error {
				if kind != disk.KindLock && path != tc.planted {
					files = append(files, path)
				}
				return nil
			})
			if len(files) != 0 {
				t.Errorf("left %v behind", files)
			}
		})
	}
}

// Scenario 7: a cache that cannot be written (here, the shards of new
// entries cannot be made: regular files are in their place) still serves
// the entries it has, computes the rest, and warns once that it cannot
// store them.
func TestUnwritableCacheServesWhatItHas(t *testing.T) {
	dir := t.TempDir()
	c, log := openDir(t, dir)
	Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	var calls []int // of shards other than mcCall(1)'s, made unwritable
	for i := 10; len(calls) < 3; i++ {
		if shard := disk.ShardOf(keyOf(t, mcCall(float64(i)))); shard != disk.ShardOf(keyOf(t, mcCall(1))) {
			os.WriteFile(filepath.Join(dir, shard), []byte("not a shard"), 0o600)
			calls = append(calls, i)
		}
	}
	if v, _ := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return -1, nil }); v != 1 {
		t.Errorf("existing entry not served: got %d", v)
	}
	for _, i := range calls {
		if v, err := Do(context.Background(), c, mcCall(float64(i)), func(context.Context) (int, error) { return i, nil }); v != i || err != nil {
			t.Errorf("new call got (%d, %v)", v, err)
		}
	}
	if s := c.Stats(); s.StoreErrors != 3 {
		t.Errorf("stats %+v, want 3 store errors", s)
	}
	if n := strings.Count(log.String(), "could not store"); n != 1 || !strings.Contains(log.String(), "WARN: could not store") {
		t.Errorf("%d warnings that it could not store, want one:\n%s", n, log)
	}
}

// The same with real permissions, where they apply.
func TestReadOnlyDirectoryPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which may write to a read-only directory: TestUnwritableCacheServesWhatItHas covers a cache that cannot be written")
	}
	dir := t.TempDir()
	c, log := openDir(t, dir)
	Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	key, _ := mcCall(1).Key()
	os.Chmod(filepath.Join(dir, key[:2]), 0o500)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	defer os.Chmod(filepath.Join(dir, key[:2]), 0o700)
	if v, _ := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return -1, nil }); v != 1 {
		t.Errorf("existing entry not served: got %d", v)
	}
	if v, err := Do(context.Background(), c, mcCall(2), func(context.Context) (int, error) { return 2, nil }); v != 2 || err != nil {
		t.Errorf("new call got (%d, %v)", v, err)
	}
	if n := strings.Count(log.String(), "WARN"); n != 1 {
		t.Errorf("%d warnings, want one:\n%s", n, log)
	}
}

// stressDuration is how long the concurrency tests run: briefly in
// go test ./..., for ten seconds with CACHEGEN_STRESS=1.
func stressDuration() time.Duration {
	if os.Getenv("CACHEGEN_STRESS") != "" {
		return 10 * time.Second
	}
	return 300 * time.Millisecond
}
