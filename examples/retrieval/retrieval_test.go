package main

import (
	"context"
	"slices"
	"testing"

	"github.com/cachegen/cachegen/runtime/cachetest"
	cachesweep "github.com/cachegen/cachegen/runtime/sweep"
)

// FitCachedAll, the generated sweep, returns what FitCached does for each
// scene, in order, and serves the scenes fitted before from the cache.
func TestFitCachedAll(t *testing.T) {
	ctx, c := cachetest.Context(context.Background(), t)
	r := &Retriever{Config: Config{Iterations: 5, Damping: 0.5}}
	scenes := [][]float64{{1, 5, 2}, {0, 0, 9, 0}, {3}}
	first, err := r.FitCached(ctx, scenes[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	var args []RetrieverFitArgs
	for _, s := range scenes {
		args = append(args, RetrieverFitArgs{Scene: s})
	}
	got, err := r.FitCachedAll(ctx, args, cachesweep.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range scenes {
		want, _ := r.Fit(context.Background(), s, nil)
		if !slices.Equal(got[i], want) {
			t.Errorf("scene %d: %v, want %v", i, got[i], want)
		}
	}
	if !slices.Equal(got[1], first) {
		t.Error("the scene fitted before differs")
	}
	if s := c.Stats(); s.Hits != 1 || s.Computations != 3 {
		t.Errorf("stats %s: want the scene fitted before served, the two others computed", s)
	}
}
