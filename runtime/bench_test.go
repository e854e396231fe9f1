package runtime

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cachegen/cachegen/internal/keying"
)

// The benchmarks come in pairs: what the cache does, and the physical floor
// it is measured against in the same run (reading the entry file, one
// SHA-256 pass). Compare them with:
//
//	go test -run '^$' -bench . ./runtime

const bigLen = 64 << 20 / 8 // a 64 MiB []float64

func benchCache(b *testing.B) *Cache {
	c, err := Open(b.TempDir(), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func bigSlice() []float64 {
	xs := make([]float64, bigLen)
	for i := range xs {
		xs[i] = float64(i) * 1.5
	}
	return xs
}

func BenchmarkKeySmall(b *testing.B) {
	params := map[string]any{"snr": 300.0, "n_scenes": 1000, "seed": int64(42)}
	for b.Loop() {
		if _, err := paramsKey(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyFloat64Slice64MiB(b *testing.B) {
	params := map[string]any{"x": bigSlice()}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := paramsKey(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloorSHA256_64MiB(b *testing.B) {
	xs := bigSlice()
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*8)
	b.SetBytes(64 << 20)
	for b.Loop() {
		sha256.Sum256(raw)
	}
}

func smallCompute(context.Context) (mcResult, error) {
	return mcResult{Precision: 0.00326, Bias: -1e-5}, nil
}

func BenchmarkHitSmall(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	call := mcCall(300)
	Do(ctx, c, call, smallCompute)
	for b.Loop() {
		if _, err := Do(ctx, c, call, smallCompute); err != nil {
			b.Fatal(err)
		}
	}
	if c.Stats().Hits < int64(b.N) {
		b.Fatal("not all calls were hits")
	}
}

func BenchmarkFloorReadSmall(b *testing.B) {
	c := benchCache(b)
	Do(context.Background(), c, mcCall(300), smallCompute)
	key, _ := mcCall(300).Key()
	path := c.disk.Path(key)
	for b.Loop() {
		if _, err := os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMissSmall is a miss of a small result in a cache in use,
// whose shard directories and records exist, as its floor's do.
func BenchmarkMissSmall(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	for i := range 2000 {
		if _, err := Do(ctx, c, mcCall(float64(-1-i)), smallCompute); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := Do(ctx, c, mcCall(float64(i)), smallCompute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHitFloat64Slice64MiB(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	xs := bigSlice()
	compute := func(context.Context) ([]float64, error) { return xs, nil }
	Do(ctx, c, mcCall(1), compute)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := Do(ctx, c, mcCall(1), compute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitFloat64Slice64MiBMapped is BenchmarkHitFloat64Slice64MiB
// for a call with Map: each hit maps the entry and checks it, and makes
// no copy of its values.
func BenchmarkHitFloat64Slice64MiBMapped(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	xs := bigSlice()
	compute := func(context.Context) ([]float64, error) { return xs, nil }
	call := mcCall(1)
	call.Map = true
	Do(ctx, c, call, compute)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := Do(ctx, c, call, compute); err != nil {
			b.Fatal(err)
		}
	}
}

type bigResult struct {
	Label  string
	Values []float64
}

func BenchmarkHitStructFloat64Slice64MiB(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	r := bigResult{Label: "x", Values: bigSlice()}
	compute := func(context.Context) (bigResult, error) { return r, nil }
	Do(ctx, c, mcCall(1), compute)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := Do(ctx, c, mcCall(1), compute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitPeakMemory reports the bytes allocated by one 64 MiB hit, as
// a multiple of the result's size (bytes/result).
func BenchmarkHitPeakMemory(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	xs := bigSlice()
	compute := func(context.Context) ([]float64, error) { return xs, nil }
	Do(ctx, c, mcCall(1), compute)
	var before, after goruntime.MemStats
	var total uint64
	for b.Loop() {
		goruntime.ReadMemStats(&before)
		if _, err := Do(ctx, c, mcCall(1), compute); err != nil {
			b.Fatal(err)
		}
		goruntime.ReadMemStats(&after)
		total += after.TotalAlloc - before.TotalAlloc
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(64<<20), "bytes/result")
}

// BenchmarkMissStoreFloat64Slice64MiB is what a miss adds to compute:
// keying, encoding, writing and renaming a 64 MiB result.
func BenchmarkMissStoreFloat64Slice64MiB(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	xs := bigSlice()
	compute := func(context.Context) ([]float64, error) { return xs, nil }
	b.SetBytes(64 << 20)
	i := 0
	for b.Loop() {
		i++
		if _, err := Do(ctx, c, mcCall(float64(i)), compute); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		tierOf(c).Clear(context.Background())
		b.StartTimer()
	}
}

func BenchmarkFloorWriteRename64MiB(b *testing.B) {
	dir := b.TempDir()
	xs := bigSlice()
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*8)
	b.SetBytes(64 << 20)
	for b.Loop() {
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "entry")); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(filepath.Join(dir, "entry"))
		b.StartTimer()
	}
}

// BenchmarkHitParallel is small hits on 100 keys from many goroutines;
// compare ns/op at -cpu 1,2 with BenchmarkHitSmall.
func BenchmarkHitParallel(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	for i := range 100 {
		Do(ctx, c, mcCall(float64(i)), smallCompute)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1)
		for pb.Next() {
			i++
			if _, err := Do(ctx, c, mcCall(float64(i%100)), smallCompute); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFloorRead64MiB(b *testing.B) {
	c := benchCache(b)
	xs := bigSlice()
	Do(context.Background(), c, mcCall(1), func(context.Context) ([]float64, error) { return xs, nil })
	key, _ := mcCall(1).Key()
	path := c.disk.Path(key)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

// dataFile writes a 256 MiB input file and waits until it is older than
// the racy window, as a data file is when a computation reads it: its memo
// is trusted from its first hash.
func dataFile(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "scenes.bin")
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i * 7)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for range 256 {
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(keying.RacyWindow + 100*time.Millisecond)
	return path
}

func fileCall(path string) Call {
	return Call{Func: "example.com/rt.Retrieve", Version: 1, Params: map[string]any{"scenes": File(path)}}
}

// BenchmarkKeyFileUnchanged256MiB keys a call on an unchanged 256 MiB file
// its process has keyed before: its path resolved, and an open and fstat.
func BenchmarkKeyFileUnchanged256MiB(b *testing.B) {
	c := benchCache(b)
	call := fileCall(dataFile(b))
	if _, err := call.identity(c.files); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := call.identity(c.files); err != nil {
			b.Fatal(err)
		}
	}
	if c.files.Hashed.Load() != 1 {
		b.Fatalf("hashed %d times, want once", c.files.Hashed.Load())
	}
}

// BenchmarkKeyFileUnchangedNewProcess256MiB keys it as a new process does,
// with one read of the file's memo besides.
func BenchmarkKeyFileUnchangedNewProcess256MiB(b *testing.B) {
	c := benchCache(b)
	call := fileCall(dataFile(b))
	if _, err := call.identity(c.files); err != nil {
		b.Fatal(err)
	}
	hashed := int64(0)
	for b.Loop() {
		d := keying.NewDigester(c.disk, false)
		if _, err := call.identity(d); err != nil {
			b.Fatal(err)
		}
		hashed += d.Hashed.Load()
	}
	if hashed != 0 {
		b.Fatalf("hashed %d times, want never", hashed)
	}
}

// BenchmarkKeyFileChanged256MiB keys it after each touch: a changed file is
// always hashed, so this costs its floor.
func BenchmarkKeyFileChanged256MiB(b *testing.B) {
	c := benchCache(b)
	path := dataFile(b)
	call := fileCall(path)
	b.SetBytes(256 << 20)
	t := time.Now().Add(-time.Hour)
	for b.Loop() {
		t = t.Add(time.Second)
		if err := os.Chtimes(path, t, t); err != nil {
			b.Fatal(err)
		}
		if _, err := call.identity(c.files); err != nil {
			b.Fatal(err)
		}
	}
	if c.files.Hashed.Load() != int64(b.N) {
		b.Fatalf("hashed %d times in %d calls", c.files.Hashed.Load(), b.N)
	}
}

// BenchmarkFloorSHA256File256MiB is one SHA-256 pass over the file.
func BenchmarkFloorSHA256File256MiB(b *testing.B) {
	path := dataFile(b)
	b.SetBytes(256 << 20)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkFloorWriteRenameSmall is the floor of BenchmarkMissSmall: a
// small file written and renamed into one of 256 fan-out directories.
func BenchmarkFloorWriteRenameSmall(b *testing.B) {
	dir := b.TempDir()
	for i := range 256 {
		os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o700)
	}
	data := make([]byte, 300)
	i := 0
	for b.Loop() {
		i++
		sub := filepath.Join(dir, fmt.Sprintf("%02x", i%256))
		tmp := filepath.Join(sub, fmt.Sprintf(".tmp-%d", i))
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(sub, fmt.Sprintf("%d.entry", i))); err != nil {
			b.Fatal(err)
		}
	}
}
