// Package cases declares one cached function per gonum type the
// generator is to accept or refuse (see generator_test.go): Key*
// functions take it as a parameter, Result* functions return it.
package cases

import "gonum.org/v1/gonum/mat"

//cache:version=1
func KeyDense(m *mat.Dense) int { return 0 }

//cache:version=1
func KeyVecDense(v *mat.VecDense) int { return 0 }

//cache:version=1
func KeySymDense(s *mat.SymDense) int { return 0 }

//cache:version=1
func KeyMatrix(m mat.Matrix) int { return 0 }

//cache:version=1
func ResultDense(n int) *mat.Dense { return nil }

//cache:version=1
func ResultVecDense(n int) *mat.VecDense { return nil }

//cache:version=1
func ResultSymDense(n int) *mat.SymDense { return nil }

//cache:version=1
func ResultMatrix(n int) mat.Matrix { return nil }
