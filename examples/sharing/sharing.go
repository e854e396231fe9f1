// Command sharing shares cached results between machines through the
// shared tier that CACHEGEN_REMOTE names: run it on one machine and it
// computes; run it on another, with its own cache directory, and it loads
// what the first computed. It links the Redis store alone; a program that
// shares through S3 imports remote/s3 instead.
package main

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
