//go:build !race

// The caller's own data race is this test's subject: the race detector
// would report it, by design, so the test runs without it.

package runtime

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// A goroutine that flips an argument while calls with it compute never
// makes the cache serve a result under the key of a value it was not
// computed from: the function computes from the copy that was keyed.
func TestRacingWriterNeverStoresUnderAnotherKey(t *testing.T) {
	c, _ := open(t)
	ctx := context.Background()
	const rounds = 200
	call := func(xs []float64) Call {
		return Call{Func: "example.com/sim.Scaled", Version: 1, Params: map[string]any{"xs": xs}}
	}
	f := func(xs []float64) float64 { return xs[0]*1000 + xs[1] }
	for i := range rounds {
		xs := []float64{1, float64(i)}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // flips xs[0] between 1 and 2, as a racing caller would
			defer close(done)
			p := (*uint64)(unsafe.Pointer(&xs[0]))
			one, two := math.Float64bits(1), math.Float64bits(2)
			for n := 0; ; n++ {
				select {
				case <-stop:
					atomic.StoreUint64(p, one)
					return
				default:
				}
				if n%2 == 0 {
					atomic.StoreUint64(p, two)
				} else {
					atomic.StoreUint64(p, one)
				}
			}
		}()
		Do(ctx, c, call(xs), func(ctx context.Context) (float64, error) {
			in := Arg(ctx, "xs", xs)
			a := in[0]
			time.Sleep(50 * time.Microsecond)
			return a*1000 + in[1], nil
		})
		close(stop)
		<-done
	}
	wrong := 0
	for i := range rounds {
		for _, first := range []float64{1, 2} {
			xs := []float64{first, float64(i)}
			got, err := Do(ctx, c, call(xs), func(context.Context) (float64, error) { return f(xs), nil })
			if err != nil || got != f(xs) {
				wrong++
				t.Logf("Do(%v) = %v, %v: want %v", xs, got, err, f(xs))
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d later calls served a result computed from another value than their key's", wrong, 2*rounds)
	}
}
