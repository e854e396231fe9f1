package maintain_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/maintain"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func TestVerifyReportsAndFixesBadEntries(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 3, 10)
	k0, k1, k2 := keyOf(t, mcCall(0)), keyOf(t, mcCall(1)), keyOf(t, mcCall(2))
	data, _ := os.ReadFile(entryPath(dir, k0))
	data[len(data)-12] ^= 1
	os.WriteFile(entryPath(dir, k0), data, 0o600)
	moved, _ := os.ReadFile(entryPath(dir, k2))
	os.WriteFile(entryPath(dir, k1), moved, 0o600)
	tr := openTier(t, dir, maintain.Options{})
	rep, err := tr.Verify(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	problems := rep.Problems
	if rep.Checked != 3 {
		t.Errorf("checked %d entries, want 3", rep.Checked)
	}
	bad := map[string]bool{}
	for _, p := range problems {
		bad[p.Key] = errors.Is(p.Err, entry.ErrCorrupt) && p.Path == entryPath(dir, p.Key)
	}
	if len(problems) != 2 || !bad[k0] || !bad[k1] {
		t.Fatalf("problems %+v, want the flipped entry %s and the moved entry %s", problems, k0, k1)
	}
	if es := list(t, tr); len(es) != 1 || es[0].Key != k2 {
		t.Fatalf("after -fix: %+v, want only the good entry", es)
	}
}

// Verify with a signing key reports the entries it does not verify.
func TestVerifyChecksTheSigningKey(t *testing.T) {
	dir := t.TempDir()
	key := []byte("a signing key of enough bytes")
	do(t, openCache(t, dir), mcCall(1), 1)                                   // unsigned
	do(t, openCache(t, dir, cacheruntime.WithSigningKey(key)), mcCall(2), 2) // signed
	rep, err := openTier(t, dir, maintain.Options{SigningKey: key}).Verify(ctx, false)
	if err != nil || rep.Checked != 2 || len(rep.Problems) != 1 || rep.Problems[0].Key != keyOf(t, mcCall(1)) || !errors.Is(rep.Problems[0].Err, entry.ErrBadSignature) {
		t.Errorf("Verify with the key = %+v, %v; want the unsigned entry reported", rep, err)
	}
	if rep, err := openTier(t, dir, maintain.Options{}).Verify(ctx, false); err != nil || rep.Checked != 2 || len(rep.Problems) != 0 {
		t.Errorf("Verify without a key = %+v, %v; want both entries good", rep, err)
	}
}

// Usage is read from the records the shards keep, without listing a
// shard, and counts what the disk holds: allocated blocks, not lengths,
// as List's sizes do.
func TestUsageReadsTheRecordsAlone(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	fill(t, c, 30, 100)
	for i := range 5 { // entries of more than a block
		do(t, c, cacheruntime.Call{Func: "example.com/sim.Big", Version: 1, Params: map[string]any{"i": i}}, make([]byte, 5000))
	}
	tr := openTier(t, dir, maintain.Options{})
	want := actual(t, dir)
	// An entry no record counts, as a writer killed before its record's
	// update leaves one, beside one that counts: a listing of its shard
	// would count it.
	key := keyOf(t, mcCall(0))
	data, _ := os.ReadFile(entryPath(dir, key))
	unrecorded := key[:2] + "0bad0bad0bad0b"
	if err := os.WriteFile(entryPath(dir, unrecorded), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := tr.Usage(); got != want || want.Entries != 35 || err != nil {
		t.Errorf("Usage() = %+v, %v; want what the records hold, %+v (35 entries), read from them alone", got, err, want)
	}
	for _, e := range list(t, tr) {
		if fi, _ := os.Stat(entryPath(dir, e.Key)); e.Size < fi.Size() || e.Size%512 != 0 {
			t.Fatalf("entry %s: Size %d for a file of %d bytes; want its allocated blocks", e.Key, e.Size, fi.Size())
		}
	}
}

// A writer killed between storing an entry and recording it leaves the
// figure short, as does an update lost; a recount repairs it.
func TestRecountRepairsTheRecords(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 40, 100)
	d := disk.New(dir, true, nil)
	// Entries stored as a killed writer leaves them: unrecorded.
	data, _ := os.ReadFile(entryPath(dir, keyOf(t, mcCall(0))))
	for i, planted := 100, 0; planted < 10; i++ {
		key := keyOf(t, mcCall(float64(i)))
		if !exists(d.Abs(disk.UsagePath(disk.ShardOf(key)))) {
			continue // a shard without a record counts itself when read
		}
		planted++
		if err := d.Replace(disk.EntryName(key), key, data); err != nil {
			t.Fatal(err)
		}
	}
	tr := openTier(t, dir, maintain.Options{})
	want := actual(t, dir)
	if got, _ := tr.Usage(); got == want || got.Entries != 40 {
		t.Fatalf("Usage() = %+v before the repair; want 40 recorded entries", got)
	}
	for i := range 256 {
		// Lose an update in every shard.
		u, _ := d.ReadUsage(disk.HexByte(i), false)
		d.SetUsage(disk.HexByte(i), disk.Usage{Bytes: u.Bytes - 4096, Entries: u.Entries - 1}, time.Now())
	}
	if got, err := tr.Recount(ctx); err != nil || got != want {
		t.Fatalf("Recount = %+v, %v; the disk holds %+v", got, err, want)
	}
	if got, _ := tr.Usage(); got != want {
		t.Errorf("after Recount: Usage() = %+v, the disk holds %+v", got, want)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tr.Recount(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Recount with its context done: %v", err)
	}
}

// A Prune keeps in the records what other processes store while it runs,
// and a Tier opened read-only writes no record.
func TestPruneKeepsConcurrentStoresInTheRecord(t *testing.T) {
	dir := t.TempDir()
	c, other := openCache(t, dir), openCache(t, dir)
	fill(t, c, 50, 100)
	tr := openTier(t, dir, maintain.Options{})
	// Prune asks Current about the entries its walk listed before it
	// removes any: another process stores ten entries then.
	stored := false
	current := func(string) (maintain.CurrentCode, bool) {
		if !stored {
			stored = true
			fill(t, other, 60, 100) // ten new entries, stored mid-prune
		}
		return maintain.CurrentCode{}, false
	}
	removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 40 * 4096, Current: current})
	if err != nil || !stored || len(removed) == 0 {
		t.Fatalf("Prune removed %d entries (%v), stores made during it: %v; want both", len(removed), err, stored)
	}
	if got, err := tr.Usage(); err != nil || got != actual(t, dir) || got.Entries != 60-int64(len(removed)) {
		t.Errorf("after a Prune with stores during it, which removed %d entries: Usage() = %+v, %v, the disk holds %+v", len(removed), got, err, actual(t, dir))
	}

	ro := t.TempDir()
	fill(t, openCache(t, ro), 5, 100)
	for i := range 256 {
		os.Remove(disk.New(ro, true, nil).Abs(disk.UsagePath(disk.HexByte(i))))
	}
	if u, err := openTier(t, ro, maintain.Options{ReadOnly: true}).Usage(); err != nil || u.Entries != 5 {
		t.Errorf("read-only Usage() = %+v, %v; want the 5 entries counted", u, err)
	}
	for i := range 256 {
		if exists(disk.New(ro, true, nil).Abs(disk.UsagePath(disk.HexByte(i)))) {
			t.Fatalf("a read-only Tier wrote the record of shard %s", disk.HexByte(i))
		}
	}
}
