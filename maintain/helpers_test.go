package maintain_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/testenv/cachefiles"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/file"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// The tests store entries through the runtime, as programs do, and manage
// them as a person does, through a Tier.

var ctx = context.Background()

// mcCall is a call of a simulation, by its signal-to-noise ratio.
func mcCall(snr float64) cacheruntime.Call {
	return cacheruntime.Call{Func: "example.com/sim.RunMonteCarlo", Version: 1, Params: map[string]any{"snr": snr, "nScenes": 1000, "seed": int64(42)}}
}

type mcResult struct {
	Precision, Bias float64
	Errors          []float64
}

// openCache opens a cache of dir that logs nothing.
func openCache(t *testing.T, dir string, opts ...cacheruntime.Option) *cacheruntime.Cache {
	t.Helper()
	c, err := cacheruntime.Open(dir, append([]cacheruntime.Option{cacheruntime.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// do calls call on c, computing v, and fails the test on an error.
func do[T any](t *testing.T, c *cacheruntime.Cache, call cacheruntime.Call, v T) T {
	t.Helper()
	got, err := cacheruntime.Do(ctx, c, call, func(context.Context) (T, error) { return v, nil })
	if err != nil {
		t.Fatalf("Do(%s): %v", call.Func, err)
	}
	return got
}

// fill stores the results of n calls, of size bytes each.
func fill(t *testing.T, c *cacheruntime.Cache, n, size int) {
	t.Helper()
	for i := range n {
		do(t, c, mcCall(float64(i)), make([]byte, size))
	}
}

func keyOf(t *testing.T, call cacheruntime.Call) string {
	t.Helper()
	k, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// entryPath is where the entry of key lives in the cache directory dir.
func entryPath(dir, key string) string {
	return filepath.Join(dir, filepath.FromSlash(disk.EntryName(key)))
}

// openTier returns the Tier of the cache directory dir.
func openTier(t *testing.T, dir string, o maintain.Options) *maintain.Tier {
	t.Helper()
	tr, err := maintain.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// at is a clock stopped at when.
func at(when time.Time) func() time.Time { return func() time.Time { return when } }

// list lists tr, failing the test on an error.
func list(t *testing.T, tr *maintain.Tier) []maintain.Entry {
	t.Helper()
	es, err := tr.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// totalSize is what the entries tr lists occupy.
func totalSize(t *testing.T, tr *maintain.Tier) int64 {
	t.Helper()
	var total int64
	for _, e := range list(t, tr) {
		total += e.Size
	}
	return total
}

// age makes path's times d in the past: as if written, or last used, then.
func age(t *testing.T, path string, d time.Duration) {
	t.Helper()
	then := time.Now().Add(-d)
	if err := os.Chtimes(path, then, then); err != nil {
		t.Fatal(err)
	}
}

// exists reports whether path names a file, of whatever kind.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// sharedStore returns a file:// store in a directory of its own, and the
// tier in front of it.
func sharedStore(t *testing.T, o remote.Options) (string, *remote.Tier) {
	t.Helper()
	dir := t.TempDir()
	s, err := file.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, remote.New(s, "file://"+dir, o)
}

// storeKeys lists the keys of the values a store holds.
func storeKeys(t *testing.T, r *remote.Tier) []string {
	t.Helper()
	var keys []string
	if err := r.Store().List(ctx, func(e remote.StoreEntry) error { keys = append(keys, e.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// downStore is a shared store that cannot be reached.
type downStore struct{}

var errDown = errors.New("connection refused")

func (downStore) Get(context.Context, string) ([]byte, error)                    { return nil, errDown }
func (downStore) GetRange(context.Context, string, int64, int64) ([]byte, error) { return nil, errDown }
func (downStore) Put(context.Context, string, []byte) error                      { return errDown }
func (downStore) Delete(context.Context, string) error                           { return errDown }
func (downStore) List(context.Context, func(remote.StoreEntry) error) error      { return errDown }
func (downStore) Close() error                                                   { return nil }

// withRemoteDown is the option of a cache whose shared store is down: what
// it stores locally is recorded as pending.
func withRemoteDown() cacheruntime.Option {
	return cacheruntime.WithRemote(remote.New(downStore{}, "mem://down", remote.Options{}))
}

// actual is what the cache's entry files in dir occupy, as the system
// counts it.
func actual(t *testing.T, dir string) maintain.Usage {
	t.Helper()
	b, n := cachefiles.Occupied(t, dir)
	return maintain.Usage{Bytes: b, Entries: n}
}

// validEntry returns the bytes and key of an entry the runtime stored.
func validEntry(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	do(t, openCache(t, dir), mcCall(300), mcResult{Precision: 0.5, Errors: []float64{1, 2}})
	key := keyOf(t, mcCall(300))
	data, err := os.ReadFile(entryPath(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	return key, data
}
