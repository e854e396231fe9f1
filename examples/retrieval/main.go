package main

import (
	"context"
	"fmt"
	"log"
	"time"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func main() {
	log.SetFlags(0)
	r := &Retriever{Config: Config{Iterations: 4000, Damping: 0.5}}
	s := scene(20000)
	for run := 1; run <= 2; run++ {
		passes := 0
		start := time.Now()
		fit, err := r.FitCached(context.Background(), s, func(int) { passes++ })
		if err != nil {
			log.Fatal(err)
		}
		key, _ := r.FitCacheKey(s)
		fmt.Printf("RUN %d key=%s passes computed=%d fit[100]=%.6f %.2fs\n", run, key, passes, fit[100], time.Since(start).Seconds())
	}
	st := cacheruntime.Default().Stats()
	fmt.Printf("hits=%d misses=%d\n", st.Hits, st.Misses)
}
