package gonumtest

import (
	"crypto/sha256"
	"testing"
	"unsafe"

	"github.com/cachegen/cachegen/internal/keying"
	"gonum.org/v1/gonum/mat"
)

const bigLen = 8 << 20 // 64 MiB of float64

func bigSlice() []float64 {
	xs := make([]float64, bigLen)
	for i := range xs {
		xs[i] = float64(i) * 0.5
	}
	return xs
}

// BenchmarkKeyDense64MiB keys a 64 MiB *mat.Dense: its elements are read
// in place, so it costs what BenchmarkKeyFloat64Slice64MiB does, and
// about what BenchmarkFloorSHA256_64MiB, hashing the bytes, does.
func BenchmarkKeyDense64MiB(b *testing.B) {
	params := map[string]any{"x": mat.NewDense(4096, bigLen/4096, bigSlice())}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := keying.Canonical(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyFloat64Slice64MiB(b *testing.B) {
	params := map[string]any{"x": bigSlice()}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := keying.Canonical(params); err != nil {
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
