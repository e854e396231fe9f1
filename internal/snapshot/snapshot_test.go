package snapshot

import (
	"math/big"
	"reflect"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

type inner struct {
	Xs   []float64
	hid  []int
	Tags map[string][]byte
}

type outer struct {
	A     *inner
	B     *inner // the same as A: shared in the copy too
	Any   any
	Arr   [2][]int
	When  time.Time
	Big   *big.Int
	Label string
}

func sample() *outer {
	in := &inner{Xs: []float64{1, 2, 3}, hid: []int{7}, Tags: map[string][]byte{"k": {1}}}
	return &outer{A: in, B: in, Any: []float64{4}, Arr: [2][]int{{1}, {2}}, When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.Local), Big: big.NewInt(42), Label: "x"}
}

// A copy equals its original, shares nothing that can be written through
// with it, and keeps what the original shares shared.
func TestCopyIsDeepAndKeepsSharing(t *testing.T) {
	v := sample()
	var c Copier
	cp, ok := c.Copy(reflect.ValueOf(v))
	if !ok {
		t.Fatal("not copied")
	}
	got := cp.Interface().(*outer)
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("copy %+v, want %+v", got, v)
	}
	if got == v || got.A == v.A || &got.A.Xs[0] == &v.A.Xs[0] || &got.A.hid[0] == &v.A.hid[0] ||
		&got.A.Tags["k"][0] == &v.A.Tags["k"][0] || &got.Any.([]float64)[0] == &v.Any.([]float64)[0] ||
		&got.Arr[0][0] == &v.Arr[0][0] || got.Big == v.Big {
		t.Fatal("the copy shares memory with its original")
	}
	if got.A != got.B {
		t.Error("what the original shares is two values in the copy")
	}
	if got.When.Location() != time.Local {
		t.Error("a time's location is another in the copy: programs compare locations by identity")
	}
	// Writes to the original do not reach the copy.
	v.A.Xs[0], v.A.hid[0], v.A.Tags["k"][0] = -1, -1, 9
	if got.A.Xs[0] != 1 || got.A.hid[0] != 7 || got.A.Tags["k"][0] != 1 {
		t.Error("a write to the original reached the copy")
	}
}

// A gonum matrix, unexported fields and all, and a view of one, copy
// exactly.
func TestCopyOfGonumMatrices(t *testing.T) {
	m := mat.NewDense(3, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9})
	view := m.Slice(1, 3, 1, 3).(*mat.Dense)
	for _, d := range []*mat.Dense{m, view} {
		var c Copier
		cp, ok := c.Copy(reflect.ValueOf(d))
		if !ok {
			t.Fatal("not copied")
		}
		got := cp.Interface().(*mat.Dense)
		if !mat.Equal(got, d) {
			t.Fatalf("copy\n%v\nwant\n%v", mat.Formatted(got), mat.Formatted(d))
		}
		got.Set(0, 0, -100)
		if d.At(0, 0) == -100 {
			t.Error("a write to the copy reached the original")
		}
	}
}

// What holds a channel, a function or a lock is not copied.
func TestWhatCannotBeCopied(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, &sync.Mutex{}, struct{ F func() }{}, []any{make(chan int)}} {
		var c Copier
		if _, ok := c.Copy(reflect.ValueOf(v)); ok {
			t.Errorf("%T was copied", v)
		}
	}
}

// Restore writes what a function did to the copy into the caller's own
// memory: through pointers, into slices and maps, so that other
// references to them see it; where the shape changed, the caller's value
// takes the copy's.
func TestRestore(t *testing.T) {
	v := sample()
	alias := v.A.Xs
	var c Copier
	cp, _ := c.Copy(reflect.ValueOf(v))
	got := cp.Interface().(*outer)
	got.A.Xs[1] = 20
	got.A.hid = append(got.A.hid, 8)
	got.A.Tags["new"] = []byte{2}
	got.Label = "changed"
	got.Big.SetInt64(-1)
	Restore(reflect.ValueOf(v), cp)
	if alias[1] != 20 || v.A.Xs[1] != 20 {
		t.Error("a write into a slice did not reach the caller's memory")
	}
	if !reflect.DeepEqual(v.A.hid, []int{7, 8}) || v.A.Tags["new"] == nil || v.Label != "changed" || v.Big.Int64() != -1 {
		t.Errorf("restored %+v %+v", v, v.A)
	}
	// A matrix normalized in the copy is normalized for the caller.
	m := mat.NewDense(1, 2, []float64{3, 4})
	mc, _ := new(Copier).Copy(reflect.ValueOf(m))
	mc.Interface().(*mat.Dense).Scale(0.2, mc.Interface().(*mat.Dense))
	Restore(reflect.ValueOf(m), mc)
	if m.At(0, 0) != 0.6000000000000001 && m.At(0, 0) != 0.6 || m.At(0, 1) != 0.8 {
		t.Errorf("the matrix is %v, want it scaled", mat.Formatted(m))
	}
}
