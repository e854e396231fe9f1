package all_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/sweep"
)

// redisWithEntry starts a Redis holding the entry of simCall(1), a
// 1000-element []float64, and returns the remote tier over it.
func redisWithEntry(b *testing.B) *remote.Tier {
	srv := testredis.Start(b)
	r, err := remote.Open(context.Background(), srv.URL, remote.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	w, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r))
	if err != nil {
		b.Fatal(err)
	}
	cacheruntime.Do(context.Background(), w, simCall(1), thousandZeros)
	return r
}

func thousandZeros(context.Context) ([]float64, error) { return make([]float64, 1000), nil }

// BenchmarkRemoteHitRedis is a hit served by Redis (the cache is
// read-only, so nothing is copied to the local tier and every call goes to
// Redis), to compare with BenchmarkFloorRedisGet, a bare GET of the same
// entry: the checks, decode and keying are the difference.
func BenchmarkRemoteHitRedis(b *testing.B) {
	ctx := context.Background()
	r := redisWithEntry(b)
	c, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithMode(cacheruntime.ModeReadOnly))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cacheruntime.Do(ctx, c, simCall(1), thousandZeros); err != nil {
			b.Fatal(err)
		}
	}
	if st := c.Stats(); st.RemoteHits != st.Hits || st.Computations != 0 {
		b.Fatalf("not all remote hits: %+v", st)
	}
}

func BenchmarkFloorRedisGet(b *testing.B) {
	ctx := context.Background()
	r := redisWithEntry(b)
	key, _ := simCall(1).Key()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Store().Get(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweepRemoteHits sweeps 100 points that Redis holds and the
// local tier does not, through a proxy that adds 1 ms to each reply: the
// sweep reads them in batches, a few round trips in all, against one
// call at a time, a round trip a point. round-trips/op is the time an op
// took in round trips, measured in the same run (a bare GET through the
// proxy).
func BenchmarkSweepRemoteHits(b *testing.B) {
	ctx := context.Background()
	srv := testredis.Start(b)
	storeGrid(b, srv.URL, 100)
	p := startProxy(b, strings.TrimPrefix(strings.TrimSuffix(srv.URL, "/0"), "redis://"), benchDelay)
	url := "redis://" + p.Addr + "/0"
	r, err := remote.Open(ctx, url, remote.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	key, _ := simCall(1).Key()
	rtt := func() time.Duration { // the floor: one request
		start := time.Now()
		for range 20 {
			if _, err := r.Store().Get(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / 20
	}()
	// A read-only cache copies no hit to its local tier: each op reads
	// every point from Redis again, and costs no local writes.
	run := func(b *testing.B, fill func(c *cacheruntime.Cache)) {
		c, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithMode(cacheruntime.ModeReadOnly))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			fill(c)
		}
		if st := c.Stats(); st.RemoteHits != st.Hits || st.Hits%100 != 0 || st.Computations != 0 {
			b.Fatalf("%+v: want remote hits only", st)
		}
		b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(rtt), "round-trips/op")
	}
	b.Run("sweep", func(b *testing.B) {
		run(b, func(c *cacheruntime.Cache) {
			if _, err := sweep.Run(ctx, c, bigGrid(100), sweep.Quiet()); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("one-call-at-a-time", func(b *testing.B) {
		run(b, func(c *cacheruntime.Cache) {
			for i := range 100 {
				if _, err := cacheruntime.Do(ctx, c, simCall(i), thousandZeros); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("floor-one-request", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Store().Get(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var benchDelay = time.Millisecond
