// Command montecarlo is the reference guide's Monte Carlo validation of a
// CO2 retrieval, cached with cachegen: run it twice and the second run
// loads every result instead of computing it.
package main

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"math"
	"math/rand/v2"
)

// Result is what one validation run measures.
type Result struct {
	Errors    []float64 // retrieval error of each scene
	Precision float64   // standard deviation of the errors
	Bias      float64   // mean of the errors
}

// channels is how many spectral channels each simulated scene has.
const channels = 3000

// RunMonteCarlo simulates nScenes spectra with noise 1/snr, retrieves the
// CO2 column of each by Gauss-Newton fitting, and reports the retrieval
// errors. It is deterministic for a given seed.
//
//cache:version=1
func RunMonteCarlo(snr float64, nScenes int, seed int64) (Result, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	errs := make([]float64, nScenes)
	spectrum := make([]float64, channels)
	for s := range errs {
		truth := 400 + 20*rng.Float64() // ppm
		for i := range spectrum {
			spectrum[i] = forward(truth, i) + rng.NormFloat64()/snr
		}
		errs[s] = (retrieve(spectrum) - truth) / truth
	}
	mean, sd := stats(errs)
	return Result{Errors: errs, Precision: sd, Bias: mean}, nil
}

// forward is the transmittance of channel i through a column of x ppm.
func forward(x float64, i int) float64 {
	k := 1e-3 * (1 + math.Sin(float64(i)*0.013)*0.8)
	return math.Exp(-k * x)
}

// retrieve fits x to a spectrum by Gauss-Newton iteration.
func retrieve(y []float64) float64 {
	x := 380.0
	for range 8 {
		var jtj, jtr float64
		for i, yi := range y {
			f := forward(x, i)
			k := 1e-3 * (1 + math.Sin(float64(i)*0.013)*0.8)
			j := -k * f
			jtj += j * j
			jtr += j * (yi - f)
		}
		x += jtr / jtj
	}
	return x
}

func stats(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}
