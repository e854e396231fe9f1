package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func main() {
	sweep := flag.Bool("sweep", true, "after the four calls, sweep the reference guide's SNR values")
	flag.Parse()
	log.SetFlags(0)
	cache := cacheruntime.Default()
	for i, snr := range []float64{300, 300, 500, 500} {
		key, err := RunMonteCarloCacheKey(snr, 1000, 42)
		if err != nil {
			log.Fatal(err)
		}
		before := cache.Stats()
		start := time.Now()
		r, err := RunMonteCarloCached(snr, 1000, 42)
		if err != nil {
			log.Fatal(err)
		}
		outcome := "CACHE MISS"
		if cache.Stats().Hits > before.Hits {
			outcome = "CACHE HIT "
		}
		fmt.Printf("RUN %d snr=%g key=%s --> [%s] precision=%.5f %.2fs\n", i+1, snr, key, outcome, r.Precision, time.Since(start).Seconds())
	}
	if !*sweep {
		fmt.Println(where(cache))
		return
	}
	// The reference guide's validation: a sweep over SNR, the points
	// cached above served at once, the others computed on every core.
	var grid []RunMonteCarloArgs
	for _, snr := range []float64{100, 200, 300, 500, 1000} {
		grid = append(grid, RunMonteCarloArgs{Snr: snr, NScenes: 1000, Seed: 42})
	}
	results, err := RunMonteCarloCachedAll(context.Background(), grid)
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range results {
		fmt.Printf("SWEEP snr=%g precision=%.5f\n", grid[i].Snr, r.Precision)
	}
	fmt.Println(where(cache))
}

// where says where the results were cached.
func where(c *cacheruntime.Cache) string {
	if c.Mode() == cacheruntime.ModeOff {
		return "cache: off (every call computed)"
	}
	return "cache: " + c.Dir()
}
