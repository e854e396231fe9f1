package all_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func mustKey(t *testing.T, call cacheruntime.Call) string {
	t.Helper()
	k, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// On Redis, an entry's age is when a call last used it: listing the
// entries (which reads each) does not make them look used, so ls, show,
// prune -unused-for and the least-recently-used order of -max-size see
// what they see on disk. An entry written before records of use were kept
// takes its age from Redis's idle time, once.
func TestRedisAgesAreTrue(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	a, _ := openCache(t, srv.URL, remote.Options{})
	var computed int
	for n := range 3 {
		cacheruntime.Do(ctx, a, simCall(n), compute(n, &computed))
	}
	used, idle, legacy := mustKey(t, simCall(0)), mustKey(t, simCall(1)), mustKey(t, simCall(2))
	if err := srv.Client(t).Del(ctx, "cachegen:u:"+legacy).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	b, _ := openCache(t, srv.URL, remote.Options{})
	cacheruntime.Do(ctx, b, simCall(0), compute(0, &computed))
	if st := b.Stats(); st.RemoteHits != 1 {
		t.Fatalf("%+v: want a remote hit", st)
	}

	shared := cacheruntime.SharedEntries(a.Remote(), nil)
	for round := range 3 { // each listing reads every entry
		es, err := shared.List(ctx)
		if err != nil || len(es) != 3 {
			t.Fatalf("listing %d: %d entries, %v", round, len(es), err)
		}
		for _, e := range es {
			age := time.Since(e.LastUsed)
			if fresh := e.Key == used; fresh != (age < time.Second) || age < 0 || !fresh && age < 2*time.Second {
				t.Errorf("listing %d: entry %s last used %s ago; want under a second for %s, two seconds or more for the others", round, e.Key, age, used)
			}
		}
	}
	// Least recently used first: a size that keeps one entry keeps the used one.
	es, err := shared.Prune(ctx, cacheruntime.PruneOptions{MaxBytes: 1, DryRun: true})
	if err != nil || len(es) != 3 || es[2].Key != used {
		t.Errorf("prune -max-size would remove %v (%v): want the used entry %s last", keysOf(es), err, used)
	}
	es, err = shared.Prune(ctx, cacheruntime.PruneOptions{UnusedFor: time.Second})
	if got, want := keysOf(es), []string{idle, legacy}; err != nil || !sameSet(got, want) {
		t.Errorf("prune -unused-for 1s removed %v (%v); want %v", got, err, want)
	}
	if left, _ := shared.List(ctx); len(left) != 1 || left[0].Key != used {
		t.Errorf("left %v, want only %s", keysOf(left), used)
	}
}

func keysOf(es []cacheruntime.Entry) []string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return ks
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
