// Command sharing shares cached results between machines through the
// shared tier that CACHEGEN_REMOTE names: run it on one machine and it
// computes; run it on another, with its own cache directory, and it loads
// what the first computed. It links the Redis store alone; a program that
// shares through S3 imports remote/s3 instead.
package main

import (
	"fmt"
	"log"
	"time"

	"github.com/cachegen/cachegen/examples/sharing/spectrum"
	_ "github.com/cachegen/cachegen/remote/redis" // lets CACHEGEN_REMOTE name a Redis cache
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func main() {
	log.SetFlags(0)
	cache := cacheruntime.Default()
	for i, ppm := range []float64{400, 400, 420, 420} {
		key, err := spectrum.SpectrumCacheKey(ppm, 1500)
		if err != nil {
			log.Fatal(err)
		}
		before := cache.Stats()
		start := time.Now()
		s, err := spectrum.SpectrumCached(ppm, 1500)
		if err != nil {
			log.Fatal(err)
		}
		outcome := "CACHE MISS"
		switch after := cache.Stats(); {
		case after.RemoteHits > before.RemoteHits:
			outcome = "REMOTE HIT"
		case after.Hits > before.Hits:
			outcome = "CACHE HIT "
		}
		fmt.Printf("RUN %d ppm=%g key=%s --> [%s] mean=%.5f %.2fs\n", i+1, ppm, key, outcome, mean(s), time.Since(start).Seconds())
	}
	if r := cache.Remote(); r != nil {
		fmt.Printf("remote: %s\n", r)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
