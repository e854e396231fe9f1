package main

import (
	"errors"
	"fmt"
	"log"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gonum.org/v1/gonum/mat"
)

var errFactorize = errors.New("eigendecomposition did not converge")

func main() {
	log.SetFlags(0)
	cache := cacheruntime.Default()
	// report prints what one call returned, and whether the cache served
	// it or it was computed.
	report := func(what string, call func() any) {
		before := cache.Stats()
		v := call()
		outcome := "CACHE MISS"
		if cache.Stats().Hits > before.Hits {
			outcome = "CACHE HIT "
		}
		fmt.Printf("[%s] %s = %v\n", outcome, what, v)
	}
	m := mat.NewDense(3, 3, []float64{4, 1, 2, 1, 3, 0, 2, 0, 5})
	view := mat.NewDense(4, 4, []float64{4, 1, 2, 9, 1, 3, 0, 9, 2, 0, 5, 9, 9, 9, 9, 9}).Slice(0, 3, 0, 3).(*mat.Dense)
	report("Trace(m)", func() any { return TraceCached(m) })
	report("Trace(a view of the same elements)", func() any { return TraceCached(view) })

	sym := mat.NewSymDense(3, []float64{4, 1, 2, 1, 3, 0, 2, 0, 5})
	report("Eigenvalues(sym)", func() any {
		eig, err := EigenvaluesCached(sym)
		if err != nil {
			log.Fatal(err)
		}
		return eig
	})
	report("Frobenius(sym)", func() any { return FrobeniusCached(sym) })
	report("Frobenius(m), the same elements", func() any { return FrobeniusCached(m) })
	report("Binomial(100, 50)", func() any { return BinomialCached(100, 50) })
	report("Covariance(m)", func() any { return mat.Formatted(CovarianceCached(m), mat.Squeeze()) })
	// Normalize changes its argument: it is computed every time.
	report("Normalize(a copy of m)", func() any { return NormalizeCached(mat.DenseCopyOf(m)) })
	if cache.Mode() == cacheruntime.ModeOff {
		fmt.Println("cache: off (every call computed)")
	} else {
		fmt.Printf("cache: %s\n", cache.Dir())
	}
}
