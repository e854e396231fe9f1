package runtime

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"testing"
	"unsafe"
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
		if _, err := Key(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyFloat64Slice64MiB(b *testing.B) {
	params := map[string]any{"x": bigSlice()}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := Key(params); err != nil {
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
	path := c.disk.path(key)
	for b.Loop() {
		if _, err := os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMissSmall(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
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

func BenchmarkFloorRead64MiB(b *testing.B) {
	c := benchCache(b)
	xs := bigSlice()
	Do(context.Background(), c, mcCall(1), func(context.Context) ([]float64, error) { return xs, nil })
	key, _ := mcCall(1).Key()
	path := c.disk.path(key)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
