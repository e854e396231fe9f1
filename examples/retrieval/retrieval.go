// Command retrieval fits a smoothing model to noisy scenes with a cached
// method: a struct configuration, a context, a []float64 input, a
// progress callback left out of the key, and the spectroscopy database
// version joined to every key.
package main

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"context"
	"math"
)

// SpectroscopyDB is the version of the line database the model uses.
// Changing it changes every key, so results of the old database are
// never served.
const SpectroscopyDB = "hitran-2020"

// Config is the retrieval's configuration; every field is part of the key.
type Config struct {
	Iterations int
	Damping    float64
}

// Retriever fits scenes with its configuration.
type Retriever struct {
	Config Config
}

// Fit returns the smoothed scene after Config.Iterations damped passes.
// progress, told of each pass, does not change the result.
//
//cache:version=1 ignore=progress with=SpectroscopyDB
func (r *Retriever) Fit(ctx context.Context, scene []float64, progress func(pass int)) ([]float64, error) {
	cur := append([]float64(nil), scene...)
	next := make([]float64, len(cur))
	for pass := range r.Config.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range cur {
			l, rr := cur[max(i-1, 0)], cur[min(i+1, len(cur)-1)]
			next[i] = cur[i] + r.Config.Damping*((l+rr)/2-cur[i])
		}
		cur, next = next, cur
		if progress != nil {
			progress(pass)
		}
	}
	return cur, nil
}

// scene returns a deterministic noisy test signal.
func scene(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Sin(float64(i)/50) + 0.3*math.Sin(float64(i)*7.3)
	}
	return xs
}
