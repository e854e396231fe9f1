// Package spectrum holds the sharing example's cached computation. It is a
// package of its own, apart from the main package that links the Redis
// store: the fingerprint of a cached function follows every package its
// package imports, blank imports included, so a function in main would be
// "changed" by every change to the store's code.
package spectrum

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import "math"

// Spectrum is the transmittance of a column of ppm CO2 in n spectral
// channels, integrated over a fine grid: slow enough to be worth sharing.
//
//cache:version=1
func Spectrum(ppm float64, n int) ([]float64, error) {
	out := make([]float64, n)
	for i := range out {
		var sum float64
		for j := range 20000 {
			nu := float64(i) + float64(j)/20000
			k := 1e-3 * (1 + 0.8*math.Sin(nu*0.013)) * (1 + 0.1*math.Cos(nu*0.7))
			sum += math.Exp(-k * ppm)
		}
		out[i] = sum / 20000
	}
	return out, nil
}
