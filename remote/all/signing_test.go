package all_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/sweep"
)

var (
	teamKey  = []byte("the team's key, 32 bytes long!!!")
	wrongKey = []byte("a key of one machine's own, 32b!")
)

// bigValue is a result whose entry is over 1 MiB.
func bigValue(n int) []float64 {
	v := make([]float64, 200_000)
	for i := range v {
		v[i] = float64(n + i)
	}
	return v
}

// A team signed its entries, all over 1 MiB, before stores kept signing
// records: a machine with the wrong key, finding no record, checks the
// entries, claims nothing, and replaces nothing; the team's next machine
// is served.
func TestWrongKeyCannotClaimAStoreOfLargeSignedEntries(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	team, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	for n := range 3 {
		cacheruntime.Do(ctx, team, simCall(n), func(context.Context) ([]float64, error) { return bigValue(n), nil })
	}
	// A store of a team that signed before records were kept.
	rdb.Del(ctx, "cachegen:r:signing")
	k := mustKey(t, simCall(1))
	before := rdb.Get(ctx, "cachegen:e:"+k).Val()

	wrong, log := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(wrongKey))
	defer func() {
		if !strings.Contains(log.String(), "signed with another key than this machine's CACHEGEN_SIGNING_KEY") {
			t.Errorf("the machine with the wrong key does not say why it does not use the store:\n%s", log)
		}
	}()
	cacheruntime.Do(ctx, wrong, simCall(1), func(context.Context) ([]float64, error) { return []float64{666}, nil })
	rec := rdb.Get(ctx, "cachegen:r:signing").Val()
	if rdb.Get(ctx, "cachegen:e:"+k).Val() != before {
		t.Errorf("the machine with the wrong key replaced the team's entry")
	}
	if strings.Contains(rec, entry.KeyID(wrongKey)) {
		t.Errorf("the machine with the wrong key claimed the team's store: %q", rec)
	}
	// The team is not locked out.
	team2, log2 := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	cacheruntime.Do(ctx, team2, simCall(2), func(context.Context) ([]float64, error) { return bigValue(2), nil })
	if st := team2.Stats(); st.RemoteHits != 1 {
		t.Errorf("team machine no longer served: %+v\n%s", st, log2)
	}
}

// A machine without a key, in a store of signed entries without a
// record, neither replaces one unread (refresh mode) nor removes one
// (Invalidate).
func TestNoKeyNeitherRefreshesNorRemovesSignedEntries(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	team, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	var computed int
	for n := range 2 {
		cacheruntime.Do(ctx, team, simCall(n), compute(n, &computed))
	}
	rdb.Del(ctx, "cachegen:r:signing")
	k0, k1 := mustKey(t, simCall(0)), mustKey(t, simCall(1))
	before := rdb.Get(ctx, "cachegen:e:"+k0).Val()

	refresh, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithMode(cacheruntime.ModeRefresh))
	cacheruntime.Do(ctx, refresh, simCall(0), func(context.Context) ([]float64, error) { return []float64{666}, nil })
	if rdb.Get(ctx, "cachegen:e:"+k0).Val() != before {
		t.Errorf("a machine without a key (refresh) replaced the team's signed entry")
	}
	plain, _ := openCache(t, srv.URL, remote.Options{})
	if _, err := plain.Invalidate(ctx, simCall(1)); err != nil {
		t.Fatal(err)
	}
	if rdb.Exists(ctx, "cachegen:e:"+k1).Val() == 0 {
		t.Errorf("a machine without a key removed the team's signed entry (Invalidate)")
	}
}

// After the team changes its key (clear -yes, and a machine with the new
// key claims the store), a process still running with the old key stops
// at the first entry it cannot verify: it replaces none.
func TestOldKeyStopsAfterTheTeamChangesItsKey(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	newKey := []byte("the team's new key, 32 bytes!!!!")
	old, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	var computed int
	cacheruntime.Do(ctx, old, simCall(0), compute(0, &computed)) // memo: Mine
	// cachectl -remote URL clear -yes, from elsewhere.
	r2, _ := remote.Open(ctx, srv.URL, remote.Options{})
	defer r2.Close()
	if err := maintain.Shared(r2, nil).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	nw, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(newKey))
	cacheruntime.Do(ctx, nw, simCall(1), compute(1, &computed))
	k1 := mustKey(t, simCall(1))
	before := rdb.Get(ctx, "cachegen:e:"+k1).Val()
	cacheruntime.Do(ctx, old, simCall(1), compute(1, &computed))
	if rdb.Get(ctx, "cachegen:e:"+k1).Val() != before {
		t.Errorf("the old-key process replaced the new key's entry (the memo says the store is still its)")
	}
}

// An empty value planted as the Redis signing record is a record that is
// not one: it costs a call no time (it once made every call spin).
func TestEmptySigningRecordCostsNoTime(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	rdb.Set(ctx, "cachegen:r:signing", "", 0)
	c, log := openCache(t, srv.URL, remote.Options{Timeout: 2 * time.Second}, cacheruntime.WithSigningKey(teamKey))
	start := time.Now()
	var computed int
	cacheruntime.Do(ctx, c, simCall(0), compute(0, &computed))
	if took := time.Since(start); took > time.Second {
		t.Errorf("one call spent %s against an empty signing record", took)
	}
	if !strings.Contains(log.String(), "signing record is not one") {
		t.Errorf("the log does not say the record is not one:\n%s", log)
	}
}

// An entry Create stores is used now, whatever record of use an evicted
// entry of the key left.
func TestCreatedEntryIsUsedNow(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	r, err := remote.Open(ctx, srv.URL, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	k := "0123456789abcdef"
	// A leftover record of use, from an entry evicted a month ago.
	rdb.Set(ctx, "cachegen:u:"+k, time.Now().Add(-30*24*time.Hour).UnixMilli(), 0)
	if ok, err := r.Create(ctx, k, []byte("fresh entry")); err != nil || !ok {
		t.Fatal(ok, err)
	}
	r.Store().List(ctx, func(e remote.StoreEntry) error {
		if e.Key == k && time.Since(e.LastUsed) > time.Hour {
			t.Errorf("an entry created now is listed as last used %s ago", time.Since(e.LastUsed).Round(time.Hour))
		}
		return nil
	})
}

// Eviction leaves records of use without entries; clear removes them.
func TestClearLeavesNoRecordsOfUse(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	r, err := remote.Open(ctx, srv.URL, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 10 {
		k := fmt.Sprintf("%016x", i)
		r.Store().Put(ctx, k, []byte("an entry"))
		if i%2 == 0 {
			rdb.Del(ctx, "cachegen:e:"+k) // evicted
		}
	}
	rdb.Set(ctx, "cachegen:u:another", "not a record of ours", 0)
	if err := maintain.Shared(r, nil).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if left := rdb.Keys(ctx, "cachegen:u:*").Val(); !slices.Equal(left, []string{"cachegen:u:another"}) {
		t.Errorf("after clear, %v are left; want only the key not named like a record", left)
	}
}

// A sweep counts each rejected entry once, with a remote tier or without.
func TestSweepCountsRejectedEntriesOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	plain, err := cacheruntime.Open(dir, cacheruntime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	points := make([]sweep.Point[[]float64], n)
	for i := range points {
		points[i] = sweep.Point[[]float64]{Call: simCall(i), Compute: func(context.Context) ([]float64, error) { return wantValue(i), nil }}
	}
	sweep.Run(ctx, plain, points, sweep.Quiet())
	for _, url := range []string{"", "mem://"} {
		opts := []cacheruntime.Option{cacheruntime.WithSigningKey([]byte("the team's key, 32 bytes long!!!"))}
		var logb strings.Builder
		opts = append(opts, cacheruntime.WithLogger(slog.New(slog.NewTextHandler(&logb, nil))))
		if url != "" {
			r, err := remote.Open(ctx, url, remote.Options{})
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, cacheruntime.WithRemote(r))
		}
		d2 := t.TempDir()
		// copy the unsigned entries
		copyDir(t, dir, d2)
		c, err := cacheruntime.Open(d2, opts...)
		if err != nil {
			t.Fatal(err)
		}
		sweep.Run(ctx, c, points, sweep.Quiet())
		st := c.Stats()
		if st.BadSignatures != n {
			t.Errorf("remote %q: BadSignatures = %d for %d bad entries", url, st.BadSignatures, n)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
}

// Invalidate says so when the remote cannot be asked about its signing
// record, rather than report success.
func TestInvalidateSaysWhenTheRemoteCannotBeAsked(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	c, _ := openCache(t, srv.URL, remote.Options{Timeout: 500 * time.Millisecond})
	var computed int
	cacheruntime.Do(ctx, c, simCall(0), compute(0, &computed))
	// Another process, whose first request to the remote is the
	// Invalidate, made while the server is down.
	d, _ := openCache(t, srv.URL, remote.Options{Timeout: 500 * time.Millisecond})
	srv.Stop()
	if _, err := d.Invalidate(ctx, simCall(0)); err == nil {
		t.Errorf("Invalidate reports success though the remote could not be asked")
	}
}

// A read-only tier writes nothing, records of use or signing included,
// in a store without records.
func TestReadOnlyTierWritesNoRecords(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	team, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	var computed int
	for n := range 3 {
		cacheruntime.Do(ctx, team, simCall(n), compute(n, &computed))
	}
	// Entries written before records (of use, of signing) were kept.
	rdb.Del(ctx, "cachegen:r:signing")
	for _, k := range rdb.Keys(ctx, "cachegen:u:*").Val() {
		rdb.Del(ctx, k)
	}
	ro, _ := openCache(t, srv.URL, remote.Options{ReadOnly: true}, cacheruntime.WithSigningKey(teamKey))
	cacheruntime.Do(ctx, ro, simCall(0), compute(0, &computed))
	if n := len(rdb.Keys(ctx, "cachegen:u:*").Val()); n > 0 {
		t.Errorf("a read-only tier wrote %d records of use", n)
	}
	if rdb.Exists(ctx, "cachegen:r:signing").Val() != 0 {
		t.Errorf("read-only tier wrote the signing record")
	}
}

// Credentials that may read and not write (without
// CACHEGEN_REMOTE_MODE=readonly) still read the team's entries, in a
// store the refused record leaves unclaimed.
func TestReadOnlyCredentialsStillRead(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	team, _ := openCache(t, srv.URL, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	var computed int
	cacheruntime.Do(ctx, team, simCall(0), compute(0, &computed))
	rdb.Del(ctx, "cachegen:r:signing")
	if err := rdb.Do(ctx, "ACL", "SETUSER", "reader", "on", ">readerpassword", "~*", "+@read", "+@connection", "+evalsha", "+eval").Err(); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(srv.URL, "redis://", "redis://reader:readerpassword@", 1)
	c, log := openCache(t, url, remote.Options{}, cacheruntime.WithSigningKey(teamKey))
	computed = 0
	cacheruntime.Do(ctx, c, simCall(0), compute(0, &computed))
	if computed != 0 {
		t.Errorf("a machine whose credentials can read the team's entries is served none:\n%s", log)
	}
}

// clear on a Redis without a prefix removes no key of another
// application's, even one named like the signing record.
func TestUnprefixedClearSparesOthersKeys(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rdb := srv.Client(t)
	rdb.Set(ctx, "r:signing", "another application's data", 0)
	r, err := remote.Open(ctx, srv.URL+"?prefix=", remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := maintain.Shared(r, nil).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if rdb.Exists(ctx, "r:signing").Val() == 0 {
		t.Errorf("clear of an unprefixed Redis removed another application's key \"r:signing\"")
	}
}
