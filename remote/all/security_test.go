package all_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gocloud.dev/blob"
)

// keyOf returns the key of a call.
func keyOf(t *testing.T, call cacheruntime.Call) string {
	t.Helper()
	k, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// computedWithin calls simCall(n) on c and fails unless it returns the
// computed value before limit.
func computedWithin(t *testing.T, c *cacheruntime.Cache, n int, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var computed int
	v, err := cacheruntime.Do(ctx, c, simCall(n), compute(n, &computed))
	if err != nil || !slices.Equal(v, wantValue(n)) || computed != 1 {
		t.Fatalf("Do = %v, %v (computed %d): want the value computed within %s", v, err, computed, limit)
	}
}

// TestForgedRedisLeasesAreTakenOver plants leases that no holder renews
// and that would never expire: without a TTL, with one far beyond a lease
// time, and a key of another type. A caller with a deadline shorter than
// the lease time computes.
func TestForgedRedisLeasesAreTakenOver(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	c, _ := openCache(t, srv.URL, remote.Options{LeaseTTL: 30 * time.Second})
	forge := map[string]func(key string) error{
		"no TTL":       func(k string) error { return rdb.Set(ctx, k, "x", 0).Err() },
		"a TTL of 1h":  func(k string) error { return rdb.Set(ctx, k, "x", time.Hour).Err() },
		"another type": func(k string) error { return rdb.RPush(ctx, k, "x").Err() },
	}
	n := 0
	for name, plant := range forge {
		n++
		t.Run(name, func(t *testing.T) {
			if err := plant("cachegen:l:" + keyOf(t, simCall(n))); err != nil {
				t.Fatal(err)
			}
			computedWithin(t, c, n, 5*time.Second)
		})
	}
}

// TestForgedBucketLeasesAreTakenOver does the same with a bucket's lease
// objects: no expiry, one far ahead, and an object too large to be one.
func TestForgedBucketLeasesAreTakenOver(t *testing.T) {
	ctx := context.Background()
	url := startS3(t, "team", "cache")
	c, _ := openCache(t, url, remote.Options{LeaseTTL: 30 * time.Second})
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, body := range [][]byte{
		[]byte("token"),
		fmt.Appendf(nil, "token %d", time.Now().Add(time.Hour).UnixNano()),
		bytes.Repeat([]byte("x"), 64<<10),
	} {
		if err := b.WriteAll(ctx, "leases/"+keyOf(t, simCall(10+i)), body, nil); err != nil {
			t.Fatal(err)
		}
		computedWithin(t, c, 10+i, 5*time.Second)
	}
}

// TestRedisClearSparesOtherKeys keeps other keys in the database, under
// an empty prefix: keys named like entries but of another type, and keys
// that merely start like entries. ls, stats and clear list and remove the
// cache's entries and nothing else.
func TestRedisClearSparesOtherKeys(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	url := srv.URL + "?prefix="
	c, _ := openCache(t, url, remote.Options{})
	var computed int
	cacheruntime.Do(ctx, c, simCall(1), compute(1, &computed))
	others := []string{"e:user:42", "e:0123456789abcdef", "user:7"}
	rdb.Set(ctx, "e:user:42", "alice", 0)
	rdb.RPush(ctx, "e:0123456789abcdef", "a list")
	rdb.Set(ctx, "user:7", "bob", 0)
	r := maintain.Shared(c.Remote(), nil)
	es, err := r.List(ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %+v, %v; want the one entry, with a list-typed key skipped", es, err)
	}
	if err := r.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, "e:"+keyOf(t, simCall(1))).Result(); n != 0 {
		t.Error("Clear left the cache's entry")
	}
	for _, k := range others {
		if n, _ := rdb.Exists(ctx, k).Result(); n != 1 {
			t.Errorf("Clear removed %s, which is no entry of the cache", k)
		}
	}
}
