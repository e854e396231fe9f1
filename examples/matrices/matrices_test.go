package main

import (
	"math"
	"math/big"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cachetest"
	"gonum.org/v1/gonum/mat"
)

// counted returns how the cache served one call.
func counted(t *testing.T, c *cacheruntime.Cache, call func()) cacheruntime.Stats {
	t.Helper()
	before := c.Stats()
	call()
	after := c.Stats()
	return cacheruntime.Stats{Hits: after.Hits - before.Hits, Computations: after.Computations - before.Computations, Mutations: after.Mutations - before.Mutations}
}

func TestMatricesAreKeyedByContent(t *testing.T) {
	c := cachetest.Use(t)
	m := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	if s := counted(t, c, func() { TraceCached(m) }); s.Computations != 1 {
		t.Fatalf("first call: %+v", s)
	}
	view := mat.NewDense(3, 3, []float64{1, 2, 0, 3, 4, 0, 0, 0, 0}).Slice(0, 2, 0, 2).(*mat.Dense)
	if s := counted(t, c, func() { TraceCached(view) }); s.Hits != 1 {
		t.Errorf("a view of the same elements: %+v, want a hit", s)
	}
	if s := counted(t, c, func() { TraceCached(mat.NewDense(2, 2, []float64{1, 2, 3, 5})) }); s.Computations != 1 {
		t.Errorf("other elements: %+v, want a computation", s)
	}
}

func TestDeclaredKeys(t *testing.T) {
	c := cachetest.Use(t)
	sym := mat.NewSymDense(2, []float64{2, 1, 1, 2})
	want, _ := Eigenvalues(sym)
	for i := range 2 {
		got, err := EigenvaluesCached(mat.NewSymDense(2, []float64{2, 1, 1, 2}))
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("call %d: %v, %v", i, got, err)
		}
	}
	if s := c.Stats(); s.Computations != 1 || s.Hits != 1 {
		t.Errorf("two equal symmetric matrices: %+v, want one computation", s)
	}
	// mat.Matrix, an interface, keyed by its elements whatever holds them.
	FrobeniusCached(sym)
	if s := counted(t, c, func() { FrobeniusCached(mat.NewDense(2, 2, []float64{2, 1, 1, 2})) }); s.Hits != 1 {
		t.Errorf("a dense matrix of a symmetric one's elements: %+v, want a hit", s)
	}
	if s := counted(t, c, func() { FrobeniusCached(mat.NewDense(1, 4, []float64{2, 1, 1, 2})) }); s.Computations != 1 {
		t.Errorf("the same elements in another shape: %+v, want a computation", s)
	}
}

func TestResultsComeBackExactly(t *testing.T) {
	c := cachetest.Use(t)
	first := BinomialCached(200, 100)
	second := BinomialCached(200, 100)
	if want := new(big.Int).Binomial(200, 100); first.Cmp(want) != 0 || second.Cmp(want) != 0 {
		t.Errorf("Binomial: %v then %v, want %v", first, second, want)
	}
	m := mat.NewDense(3, 2, []float64{1, 2, 2, 4, 3, 7})
	want := Covariance(m)
	CovarianceCached(m)
	if got := CovarianceCached(m); !mat.Equal(got, want) {
		t.Errorf("Covariance from the cache: %v, want %v", mat.Formatted(got), mat.Formatted(want))
	}
	if s := c.Stats(); s.Hits != 2 || s.Computations != 2 {
		t.Errorf("stats %+v: want the second call of each served from the cache", s)
	}
}

func TestAFunctionThatChangesItsArgumentIsNotStored(t *testing.T) {
	c := cachetest.Use(t)
	for i := range 3 {
		m := mat.NewDense(1, 2, []float64{3, 4})
		s := counted(t, c, func() {
			if norm := NormalizeCached(m); norm != 5 {
				t.Errorf("norm %v, want 5", norm)
			}
		})
		if s.Computations != 1 || s.Mutations != 1 {
			t.Errorf("call %d: %+v, want a computation that changed its argument", i, s)
		}
		if math.Abs(m.At(0, 0)-0.6) > 1e-12 {
			t.Errorf("call %d: the matrix was not normalized: %v", i, mat.Formatted(m))
		}
	}
}
