package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func main() {
	log.SetFlags(0)
	table := flag.String("table", "examples/spectrum/lines.par", "the line table")
	flag.Parse()
	cache := cacheruntime.Default()
	for run := 1; run <= 2; run++ {
		before := cache.Stats()
		start := time.Now()
		tr, err := TransmittanceCached(*table, 2300, 2400, 50)
		if err != nil {
			log.Fatal(err)
		}
		outcome := "CACHE MISS"
		if cache.Stats().Hits > before.Hits {
			outcome = "CACHE HIT "
		}
		fmt.Printf("RUN %d table=%s --> [%s] transmittance=%.6f %.2fs\n", run, *table, outcome, tr, time.Since(start).Seconds())
	}
}
