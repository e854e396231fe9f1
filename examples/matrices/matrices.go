// Command matrices caches the functions scientific Go code writes over
// gonum matrices: a *mat.Dense argument keyed by its content with no code
// of the user's, a symmetric matrix and any mat.Matrix keyed through a
// declared key, a *big.Int result, a *mat.SymDense result stored through
// declared conversions, and a function that normalizes its matrix in
// place, whose results the cache never stores.
package main

//go:generate go tool cachegen

import (
	"math"
	"math/big"

	"gonum.org/v1/gonum/mat"
)

// Trace sums the diagonal of m. A *mat.Dense is keyed by its shape and
// elements: a view keys like a copy of what it shows.
//
//cache:version=1
func Trace(m *mat.Dense) float64 { return mat.Trace(m) }

// keySym keys a symmetric matrix by its elements, as a dense copy.
//
//cache:key
func keySym(s *mat.SymDense) *mat.Dense { return mat.DenseCopyOf(s) }

// Eigenvalues returns the eigenvalues of s, in ascending order.
//
//cache:version=1
func Eigenvalues(s *mat.SymDense) ([]float64, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, false) {
		return nil, errFactorize
	}
	return eig.Values(nil), nil
}

// keyMatrix keys any matrix by its elements: an interface parameter is
// keyable once it has a declared key.
//
//cache:key
func keyMatrix(m mat.Matrix) *mat.Dense { return mat.DenseCopyOf(m) }

// Frobenius returns the Frobenius norm of any matrix.
//
//cache:version=1
func Frobenius(m mat.Matrix) float64 { return mat.Norm(m, 2) }

// Binomial returns n choose k exactly: a *big.Int result is stored
// through its own gob pair.
//
//cache:version=1
func Binomial(n, k int64) *big.Int { return new(big.Int).Binomial(n, k) }

// storeSym and loadSym store a *mat.SymDense result, which has no
// encoding of its own, as the *mat.Dense of its elements.
//
//cache:store
func storeSym(s *mat.SymDense) *mat.Dense { return mat.DenseCopyOf(s) }

//cache:load
func loadSym(d *mat.Dense) *mat.SymDense {
	n, _ := d.Dims()
	s := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s.SetSym(i, j, d.At(i, j))
		}
	}
	return s
}

// Covariance returns the covariance of the columns of m.
//
//cache:version=1
func Covariance(m *mat.Dense) *mat.SymDense {
	r, c := m.Dims()
	cov := mat.NewSymDense(c, nil)
	for i := range c {
		for j := i; j < c; j++ {
			var mi, mj, s float64
			for k := range r {
				mi += m.At(k, i) / float64(r)
				mj += m.At(k, j) / float64(r)
			}
			for k := range r {
				s += (m.At(k, i) - mi) * (m.At(k, j) - mj)
			}
			cov.SetSym(i, j, s/float64(r-1))
		}
	}
	return cov
}

// Normalize scales m to unit Frobenius norm in place and returns the norm
// it had. It changes its argument, which a hit would skip: the cache
// computes it every time, never storing its result, and warns once.
//
//cache:version=1
func Normalize(m *mat.Dense) float64 {
	norm := mat.Norm(m, 2)
	if norm != 0 && !math.IsInf(norm, 0) {
		m.Scale(1/norm, m)
	}
	return norm
}
