package remote

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/internal/testredis"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// BenchmarkRemoteHitRedis is a hit served by Redis (the cache is
// read-only, so nothing is copied to the local tier and every call goes to
// Redis), to compare with BenchmarkFloorRedisGet, a bare GET of the same
// entry: the checks, decode and keying are the difference.
func BenchmarkRemoteHitRedis(b *testing.B) {
	ctx := context.Background()
	srv := testredis.Start(b)
	r, err := cacheruntime.OpenRemote(ctx, srv.URL, cacheruntime.RemoteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	w, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r))
	if err != nil {
		b.Fatal(err)
	}
	value := func(context.Context) ([]float64, error) { return make([]float64, 1000), nil }
	cacheruntime.Do(ctx, w, simCall(1), value)
	c, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithMode(cacheruntime.ModeReadOnly))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cacheruntime.Do(ctx, c, simCall(1), value); err != nil {
			b.Fatal(err)
		}
	}
	if st := c.Stats(); st.RemoteHits != st.Hits || st.Computations != 0 {
		b.Fatalf("not all remote hits: %+v", st)
	}
}

func BenchmarkFloorRedisGet(b *testing.B) {
	ctx := context.Background()
	srv := testredis.Start(b)
	r, err := cacheruntime.OpenRemote(ctx, srv.URL, cacheruntime.RemoteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	w, err := cacheruntime.Open(b.TempDir(), cacheruntime.WithRemote(r))
	if err != nil {
		b.Fatal(err)
	}
	cacheruntime.Do(ctx, w, simCall(1), func(context.Context) ([]float64, error) { return make([]float64, 1000), nil })
	key, _ := simCall(1).Key()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Store().Get(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
