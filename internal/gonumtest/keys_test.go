package gonumtest

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/keying"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// The keyable gonum types: the generator accepts exactly these as
// parameters (TestGeneratorAcceptsWhatTheRuntimeKeys), and the runtime
// keys exactly these.
var keyCases = []struct {
	name    string
	value   any
	keyable bool
}{
	{"KeyDense", mat.NewDense(2, 2, []float64{1, 2, 3, 4}), true},
	{"KeyVecDense", mat.NewVecDense(2, []float64{1, 2}), true},
	{"KeySymDense", mat.NewSymDense(2, nil), false}, // unexported fields: it needs a declared key
}

func TestKeyTable(t *testing.T) {
	for _, c := range keyCases {
		_, err := keying.Canonical(map[string]any{"x": c.value})
		if keyed := err == nil; keyed != c.keyable {
			t.Errorf("%s: keyed=%v (%v), want %v", c.name, keyed, err, c.keyable)
		}
		if err != nil && !errors.Is(err, cacheruntime.ErrUnkeyable) {
			t.Errorf("%s: err = %v, want ErrUnkeyable", c.name, err)
		}
	}
}

// Matrices are keyed by shape and content, whatever view holds them.
func TestKeyMatricesByContent(t *testing.T) {
	m := mat.NewDense(3, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9})
	view := m.Slice(1, 3, 1, 3)
	alike(t, "a view and a copy of its content", view, mat.DenseCopyOf(view))
	apart(t, "a 2x2 and a 1x4 of the same elements", mat.NewDense(2, 2, []float64{1, 2, 3, 4}), mat.NewDense(1, 4, []float64{1, 2, 3, 4}))
	apart(t, "an element's sign", mat.NewDense(1, 1, []float64{0}), mat.NewDense(1, 1, []float64{math.Copysign(0, -1)}))
	alike(t, "a vector view and a copy", mat.NewVecDense(4, []float64{1, 2, 3, 4}).SliceVec(1, 3), mat.NewVecDense(2, []float64{2, 3}))
	col := m.ColView(1) // a strided vector
	alike(t, "a strided column and a copy", col, mat.NewVecDense(3, []float64{2, 5, 8}))
	var nilDense *mat.Dense
	apart(t, "a nil matrix and an empty one", nilDense, &mat.Dense{})
	apart(t, "a matrix and a vector of the same elements", mat.NewDense(2, 1, []float64{1, 2}), mat.NewVecDense(2, []float64{1, 2}))
}

func TestKeyMatrixFieldsAreSorted(t *testing.T) {
	big := mat.NewDense(1024, 256, nil) // 2 MiB: a tree digest
	got := canonical(t, big)
	want := `{"__type__": "gonum.org/v1/gonum/mat.Dense", "chunk": 1048576, "cols": 256, "len": 262144, "rows": 1024, "sha256tree": "`
	if !strings.HasPrefix(got, want) {
		t.Errorf("spelled %s, want it to start %s", got, want)
	}
}

// A matrix whose stride reads one element for many is refused: keying it
// would read 16M elements out of one.
func TestKeyStrideZeroIsRefused(t *testing.T) {
	var m mat.Dense
	m.SetRawMatrix(blas64.General{Rows: 1 << 24, Cols: 1, Stride: 0, Data: []float64{1}})
	if _, err := keying.Canonical(map[string]any{"x": &m}); !errors.Is(err, cacheruntime.ErrUnkeyable) {
		t.Errorf("a matrix of stride 0: err = %v", err)
	}
}

func TestKeyByDeclaredKey(t *testing.T) {
	key := func(m mat.Matrix) *mat.Dense { return mat.DenseCopyOf(m) }
	sym := mat.NewSymDense(2, []float64{1, 2, 2, 3})
	dense := mat.NewDense(2, 2, []float64{1, 2, 2, 3})
	alike(t, "a symmetric matrix and a dense copy, by the declared key", cacheruntime.KeyBy[mat.Matrix](sym, key), cacheruntime.KeyBy[mat.Matrix](dense, key))
	apart(t, "different content", cacheruntime.KeyBy[mat.Matrix](sym, key), cacheruntime.KeyBy[mat.Matrix](mat.NewDense(2, 2, nil), key))
	alike(t, "the key is what the declared key returns", cacheruntime.KeyBy[mat.Matrix](dense, key), dense)
}

// scale multiplies m in place, as a function that normalizes its argument
// does.
func scale(m *mat.Dense) float64 {
	m.Scale(2, m)
	return mat.Sum(m)
}

// A function that scales its matrix in place is not served from the
// cache, directly or behind a declared key: a hit would skip the scaling.
func TestDoDoesNotStoreWhenTheFunctionChangesAMatrix(t *testing.T) {
	ctx := context.Background()
	c, logs := open(t)
	call := func(m *mat.Dense) cacheruntime.Call {
		return cacheruntime.Call{Func: "example.com/sim.Normalize", Version: 1, Params: map[string]any{"m": m}}
	}
	for i := range 2 {
		m := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
		got, err := cacheruntime.Do(ctx, c, call(m), func(context.Context) (float64, error) { return scale(m), nil })
		if err != nil || got != 20 {
			t.Fatalf("call %d: Do = %v, %v", i, got, err)
		}
	}
	if s := c.Stats(); s.Mutations != 2 || s.BytesWritten != 0 || s.Computations != 2 || s.Hits != 0 {
		t.Errorf("%+v: want two computations, neither stored", s)
	}
	if !strings.Contains(logs.String(), "changed an argument") || !strings.Contains(logs.String(), "param=m") {
		t.Errorf("no warning naming the parameter:\n%s", logs)
	}
	// A function that leaves its matrix alone is stored.
	m := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	cacheruntime.Do(ctx, c, call(m), func(context.Context) (float64, error) { return mat.Sum(m), nil })
	if s := c.Stats(); s.BytesWritten == 0 {
		t.Errorf("a call that changes nothing was not stored: %+v", s)
	}
	// Through a declared key too: the argument, not the key, is checked.
	dense := mat.NewDense(1, 1, []float64{1})
	keyed := cacheruntime.Call{Func: "example.com/sim.K", Version: 1, Params: map[string]any{
		"m": cacheruntime.KeyBy[mat.Matrix](dense, func(m mat.Matrix) *mat.Dense { return mat.DenseCopyOf(m) })}}
	cacheruntime.Do(ctx, c, keyed, func(context.Context) (float64, error) { return scale(dense), nil })
	if s := c.Stats(); s.Mutations != 3 {
		t.Errorf("a change behind a declared key: Mutations = %d, want 3", s.Mutations)
	}
}

// A symmetric matrix, which cannot be stored as it is, is stored through
// declared conversions as a dense one.
func TestStoreAsConvertsResults(t *testing.T) {
	c, _ := open(t)
	store := func(s *mat.SymDense) *mat.Dense { return mat.DenseCopyOf(s) }
	load := func(d *mat.Dense) *mat.SymDense {
		n, _ := d.Dims()
		s := mat.NewSymDense(n, nil)
		for i := range n {
			for j := i; j < n; j++ {
				s.SetSym(i, j, d.At(i, j))
			}
		}
		return s
	}
	call := cacheruntime.Call{Func: "example.com/sim.Cov", Version: 1, Params: map[string]any{"n": 2}, Codec: cacheruntime.StoreAs(store, load)}
	want := mat.NewSymDense(2, []float64{1, 2, 2, 3})
	for range 2 {
		got, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (*mat.SymDense, error) { return want, nil })
		if err != nil || !mat.Equal(got, want) {
			t.Fatalf("Do = %v, %v", got, err)
		}
	}
	if s := c.Stats(); s.Hits != 1 || s.Computations != 1 {
		t.Errorf("stats: %+v, want one computation and one hit", s)
	}
}
