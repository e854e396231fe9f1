package all_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/sweep"
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
	// Version 2 of the function is computed; then version 1's call 0 is
	// used again: only its entries idle since are old.
	v2 := simCall(0)
	v2.Version = 2
	cacheruntime.Do(ctx, a, v2, compute(0, &computed))
	newer := mustKey(t, v2)
	b, _ := openCache(t, srv.URL, remote.Options{})
	cacheruntime.Do(ctx, b, simCall(0), compute(0, &computed))
	if st := b.Stats(); st.RemoteHits != 1 {
		t.Fatalf("%+v: want a remote hit", st)
	}

	shared := maintain.Shared(a.Remote(), nil)
	for round := range 3 { // each listing reads every entry
		es, err := shared.List(ctx)
		if err != nil || len(es) != 4 {
			t.Fatalf("listing %d: %d entries, %v", round, len(es), err)
		}
		for _, e := range es {
			age := time.Since(e.LastUsed)
			if fresh := e.Key == used || e.Key == newer; fresh != (age < time.Second) || age < 0 || !fresh && age < 2*time.Second {
				t.Errorf("listing %d: entry %s last used %s ago; want under a second for %s and %s, two seconds or more for the others", round, e.Key, age, used, newer)
			}
			if old := e.Key == idle || e.Key == legacy; e.OldVersion != old {
				t.Errorf("listing %d: entry %s marked old %v, want %v", round, e.Key, e.OldVersion, old)
			}
		}
	}
	// Least recently used first: a size that keeps two entries keeps the
	// used ones.
	es, err := shared.Prune(ctx, maintain.PruneOptions{MaxBytes: 1, DryRun: true})
	if err != nil || len(es) != 4 || !sameSet(keysOf(es[2:]), []string{used, newer}) {
		t.Errorf("prune -max-size would remove %v (%v): want the used entries %s and %s last", keysOf(es), err, used, newer)
	}
	es, err = shared.Prune(ctx, maintain.PruneOptions{UnusedFor: time.Second})
	if got, want := keysOf(es), []string{idle, legacy}; err != nil || !sameSet(got, want) {
		t.Errorf("prune -unused-for 1s removed %v (%v); want %v", got, err, want)
	}
	if left, _ := shared.List(ctx); !sameSet(keysOf(left), []string{used, newer}) {
		t.Errorf("left %v, want only %s and %s", keysOf(left), used, newer)
	}
}

func keysOf(es []maintain.Entry) []string {
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

// teamGrid is the 24 points of a team's sweep; computed counts their
// computations.
func teamGrid(computed *atomic.Int32) []sweep.Point[[]float64] {
	points := make([]sweep.Point[[]float64], 24)
	for i := range points {
		points[i] = sweep.Point[[]float64]{Call: simCall(i), Compute: func(context.Context) ([]float64, error) {
			computed.Add(1)
			return wantValue(i), nil
		}}
	}
	return points
}

// entries returns every value under the Redis's keys of entries.
func entries(t *testing.T, srv *testredis.Server) map[string]string {
	t.Helper()
	ctx := context.Background()
	rdb := srv.Client(t)
	out := map[string]string{}
	for _, k := range rdb.Keys(ctx, "cachegen:e:*").Val() {
		out[k] = rdb.Get(ctx, k).Val()
	}
	return out
}

// A team of machines shares one Redis and one signing key. A machine set
// up with another key, or with none, runs the team's sweep all the same,
// from its own computations: it serves none of the team's entries (it can
// check none), replaces none, says why once, naming the variable, and
// the next machine with the team's key is served every point.
func TestTeamEntriesSurviveAMachineSetUpWrong(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	team := cacheruntime.WithSigningKey([]byte("the team's key, 32 bytes long!!!"))
	wrong := cacheruntime.WithSigningKey([]byte("a key of one machine's own, 32b!"))
	sweepOn := func(name string, opts ...cacheruntime.Option) (int32, cacheruntime.Stats, string) {
		t.Helper()
		c, log := openCache(t, srv.URL, remote.Options{}, opts...)
		var computed atomic.Int32
		got, err := sweep.Run(ctx, c, teamGrid(&computed), sweep.Quiet())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, v := range got {
			if !slices.Equal(v, wantValue(i)) {
				t.Fatalf("%s: point %d is %v", name, i, v)
			}
		}
		return computed.Load(), c.Stats(), log.String()
	}
	if n, _, _ := sweepOn("the first machine", team); n != 24 {
		t.Fatalf("the first machine computed %d points, want 24", n)
	}
	before := entries(t, srv)
	if len(before) != 24 {
		t.Fatalf("%d entries in Redis, want 24", len(before))
	}
	for _, m := range []struct {
		name, says string
		opts       []cacheruntime.Option
	}{
		{"a machine with another key", "the remote's entries are signed with another key than this machine's CACHEGEN_SIGNING_KEY", []cacheruntime.Option{wrong}},
		{"a machine without a key", "the remote's entries are signed (key id ", nil},
	} {
		n, st, log := sweepOn(m.name, m.opts...)
		if n != 24 || st.RemoteHits != 0 {
			t.Errorf("%s computed %d points and had %d remote hits: want every point computed", m.name, n, st.RemoteHits)
		}
		if !maps.Equal(entries(t, srv), before) {
			t.Errorf("%s changed the team's entries", m.name)
		}
		if strings.Count(log, m.says) != 1 || strings.Count(log, "level=WARN") != 1 || !strings.Contains(log, "set CACHEGEN_SIGNING_KEY to the team's key") {
			t.Errorf("%s logged, want one warning saying %q:\n%s", m.name, m.says, log)
		}
	}
	if n, st, _ := sweepOn("another machine with the team's key", team); n != 0 || st.RemoteHits != 24 {
		t.Errorf("another machine with the team's key computed %d points, %d remote hits: want all 24 served", n, st.RemoteHits)
	}
}

// A machine with the team's key rejects an entry someone without it
// planted, loudly once, and replaces it with its own signed one.
func TestPlantedEntriesAreRejectedOnceLoudly(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	key := cacheruntime.WithSigningKey([]byte("the team's key, 32 bytes long!!!"))
	// Unsigned entries of two calls, made under another prefix and copied
	// into the team's.
	planter, _ := openCache(t, srv.URL+"?prefix=planter:", remote.Options{})
	rdb := srv.Client(t)
	for n := range 2 {
		cacheruntime.Do(ctx, planter, simCall(n), func(context.Context) ([]float64, error) { return []float64{666}, nil })
		k := mustKey(t, simCall(n))
		rdb.Set(ctx, "cachegen:e:"+k, rdb.Get(ctx, "planter:e:"+k).Val(), 0)
	}
	// The team's first machine claims the store for its key.
	c, log := openCache(t, srv.URL, remote.Options{}, key)
	var computed int
	for n := range 2 {
		if v, _ := cacheruntime.Do(ctx, c, simCall(n), compute(n, &computed)); !slices.Equal(v, wantValue(n)) {
			t.Errorf("call %d: served the planted %v", n, v)
		}
	}
	if st := c.Stats(); computed != 2 || st.BadSignatures != 2 {
		t.Errorf("computed %d, %+v: want both planted entries rejected", computed, st)
	}
	if strings.Count(log.String(), "level=WARN") != 1 {
		t.Errorf("want one warning for the planted entries:\n%s", log)
	}
	b, _ := openCache(t, srv.URL, remote.Options{}, key)
	for n := range 2 {
		cacheruntime.Do(ctx, b, simCall(n), compute(n, &computed))
	}
	if st := b.Stats(); computed != 2 || st.RemoteHits != 2 {
		t.Errorf("computed %d, %+v: want the replaced entries served", computed, st)
	}
}

// Clearing a store removes its signing record too: a team that changes
// its key clears the store, and the first machine with the new key
// claims it.
func TestClearedStoreIsClaimedAgain(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	old := cacheruntime.WithSigningKey([]byte("the team's old key, 32 bytes!!!!"))
	renewed := cacheruntime.WithSigningKey([]byte("the team's new key, 32 bytes!!!!"))
	a, _ := openCache(t, srv.URL, remote.Options{}, old)
	var computed int
	cacheruntime.Do(ctx, a, simCall(1), compute(1, &computed))
	if err := maintain.Shared(a.Remote(), nil).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Client(t).Exists(ctx, "cachegen:r:signing").Val(); n != 0 {
		t.Fatal("clear left the signing record")
	}
	b, _ := openCache(t, srv.URL, remote.Options{}, renewed)
	cacheruntime.Do(ctx, b, simCall(1), compute(1, &computed))
	c, _ := openCache(t, srv.URL, remote.Options{}, renewed)
	cacheruntime.Do(ctx, c, simCall(1), compute(1, &computed))
	if st := c.Stats(); computed != 2 || st.RemoteHits != 1 {
		t.Errorf("computed %d, %+v: want the new key's entry served", computed, st)
	}
}

// Results computed while Redis was down are copied to it at their next
// local hit once it is back, without replacing what another machine
// stored meanwhile; the next machine is served them.
func TestCatchUpAfterTheServerRestarts(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	o := remote.Options{Timeout: time.Second}
	dirA := t.TempDir()
	openA := func() *cacheruntime.Cache {
		r, err := remote.Open(ctx, srv.URL, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		c, err := cacheruntime.Open(dirA, cacheruntime.WithRemote(r), cacheruntime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := func(c *cacheruntime.Cache) int32 {
		t.Helper()
		var computed atomic.Int32
		got, err := sweep.Run(ctx, c, teamGrid(&computed)[:6], sweep.Quiet())
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if !slices.Equal(v, wantValue(i)) {
				t.Fatalf("point %d is %v", i, v)
			}
		}
		return computed.Load()
	}
	srv.Stop()
	if n := run(openA()); n != 6 {
		t.Fatalf("with Redis down, machine A computed %d points, want 6", n)
	}
	srv.Restart(t)
	// Another machine stores point 0 before A is back.
	other, _ := openCache(t, srv.URL, o)
	var computed int
	cacheruntime.Do(ctx, other, simCall(0), compute(0, &computed))
	rdb := srv.Client(t)
	theirs := rdb.Get(ctx, "cachegen:e:"+mustKey(t, simCall(0))).Val()

	if n := run(openA()); n != 0 {
		t.Fatalf("machine A computed %d points again, want all served locally", n)
	}
	waitUntil(t, "A's five other results to reach Redis", func() bool { return len(entries(t, srv)) == 6 })
	if rdb.Get(ctx, "cachegen:e:"+mustKey(t, simCall(0))).Val() != theirs {
		t.Error("catching up replaced the entry another machine stored")
	}
	b, _ := openCache(t, srv.URL, o)
	var bComputed atomic.Int32
	sweep.Run(ctx, b, teamGrid(&bComputed)[:6], sweep.Quiet())
	if n, st := bComputed.Load(), b.Stats(); n != 0 || st.RemoteHits != 6 {
		t.Errorf("machine B computed %d points, %d remote hits: want all 6 from Redis", n, st.RemoteHits)
	}
}

// waitUntil polls cond for up to ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited ten seconds for %s", what)
		}
	}
}

// bigGrid is n points of a sweep, whose results were computed before.
func bigGrid(n int) []sweep.Point[[]float64] {
	points := make([]sweep.Point[[]float64], n)
	for i := range points {
		points[i] = sweep.Point[[]float64]{Call: simCall(i), Compute: func(context.Context) ([]float64, error) {
			return nil, errors.New("computed: want every point served")
		}}
	}
	return points
}

// storeGrid stores the results of n points in the Redis at url.
func storeGrid(t testing.TB, url string, n int) {
	t.Helper()
	r, err := remote.Open(context.Background(), url, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		cacheruntime.Do(context.Background(), c, simCall(i), func(context.Context) ([]float64, error) { return wantValue(i), nil })
	}
}

// A sweep whose points are all in Redis reads them in a few requests, not
// one a point: 100 points cost about what one does.
func TestSweepLooksUpRemoteHitsInBatches(t *testing.T) {
	srv := testredis.Start(t)
	storeGrid(t, srv.URL, 100)
	p := startProxy(t, strings.TrimPrefix(strings.TrimSuffix(srv.URL, "/0"), "redis://"), 0)
	c, _ := openCache(t, "redis://"+p.Addr+"/0", remote.Options{})
	got, err := sweep.Run(context.Background(), c, bigGrid(100), sweep.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if !slices.Equal(v, wantValue(i)) {
			t.Fatalf("point %d is %v", i, v)
		}
	}
	if st := c.Stats(); st.RemoteHits != 100 {
		t.Fatalf("%+v: want 100 remote hits", st)
	}
	t.Logf("%d requests", p.writes.Load())
	if n := p.writes.Load(); n > 10 {
		t.Errorf("the sweep sent %d requests to Redis for 100 remote hits: want a few", n)
	}
}

// GetMany reads short entries whole, says which keys have none, and
// leaves long entries to Get, on a store that batches and on others.
func TestGetMany(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{testredis.Start(t).URL, "file://" + t.TempDir(), "mem://"} {
		r, err := remote.Open(ctx, url, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		short, long := []byte("a short entry"), bytes.Repeat([]byte{7}, 100<<10)
		k1, k2, k3, absent := "0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"
		for k, v := range map[string][]byte{k1: short, k2: short, k3: long} {
			if err := r.Store().Put(ctx, k, v); err != nil {
				t.Fatal(err)
			}
		}
		f, err := r.GetMany(ctx, []string{k1, k2, k3, absent})
		if err != nil || len(f.Entries) != 2 || !bytes.Equal(f.Entries[k1], short) || !bytes.Equal(f.Entries[k2], short) ||
			len(f.Absent) != 1 || !f.Absent[absent] {
			t.Errorf("%s: GetMany = %d entries, absent %v, %v; want %s and %s whole, %s absent, %s left to Get",
				url, len(f.Entries), f.Absent, err, k1, k2, absent, k3)
		}
	}
}
