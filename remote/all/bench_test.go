package all_test

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
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
