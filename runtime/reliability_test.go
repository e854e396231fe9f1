package runtime

import (
	"context"
	"sync"
	"testing"
	"time"
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
	time.Sleep(300 * time.Millisecond)
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
