package maintain_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/maintain"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func TestPruneIsLeastRecentlyUsedFirst(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	fill(t, c, 3, 1000)
	// Stored two hours ago; a hit on entry 0 now records its use, and 1
	// and 2 stay as they were.
	for i := range 3 {
		age(t, entryPath(dir, keyOf(t, mcCall(float64(i)))), 2*time.Hour)
	}
	fill(t, c, 1, 1000)
	if c.Stats().Hits != 1 {
		t.Fatal("expected a hit")
	}
	tr := openTier(t, dir, maintain.Options{})
	removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: totalSize(t, tr) / 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %d entries, want 2", len(removed))
	}
	k0 := keyOf(t, mcCall(0))
	for _, e := range removed {
		if e.Key == k0 {
			t.Fatal("pruned the most recently used entry")
		}
	}
	if es := list(t, tr); len(es) != 1 || es[0].Key != k0 {
		t.Fatalf("left %+v, want only the recently used entry", es)
	}
}

func TestPruneByAgeAndUse(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 2, 10)
	tr := openTier(t, dir, maintain.Options{Now: at(time.Now().Add(3 * time.Hour))})
	if removed, _ := tr.Prune(ctx, maintain.PruneOptions{OlderThan: 4 * time.Hour}); len(removed) != 0 {
		t.Fatalf("pruned %d entries younger than the limit", len(removed))
	}
	if removed, _ := tr.Prune(ctx, maintain.PruneOptions{UnusedFor: 2 * time.Hour, DryRun: true}); len(removed) != 2 {
		t.Fatalf("dry run would remove %d, want 2", len(removed))
	}
	if n := len(list(t, tr)); n != 2 {
		t.Fatal("a dry run removed entries")
	}
	if removed, _ := tr.Prune(ctx, maintain.PruneOptions{OlderThan: 2 * time.Hour}); len(removed) != 2 {
		t.Fatalf("pruned %d entries older than the limit, want 2", len(removed))
	}
}

// Temporary files a killed writer left are reported by Verify and removed
// by Prune once they are old; a fresh one may be a write under way.
func TestPruneAndVerifyRemoveOldTempFiles(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 1, 10)
	key := keyOf(t, mcCall(0))
	temp := filepath.Join(dir, key[:2], disk.TempPrefix+key+"-9")
	os.WriteFile(temp, []byte("partial"), 0o600)
	now := openTier(t, dir, maintain.Options{})
	if rep, _ := now.Verify(ctx, false); len(rep.Problems) != 0 || rep.Checked != 1 {
		t.Fatalf("Verify = %+v: want the entry checked, and a fresh temp file not reported", rep)
	}
	if _, err := now.Prune(ctx, maintain.PruneOptions{}); err != nil || !exists(temp) {
		t.Fatalf("Prune (%v) removed a fresh temp file", err)
	}
	later := openTier(t, dir, maintain.Options{Now: at(time.Now().Add(time.Hour))})
	rep, err := later.Verify(ctx, false)
	problems := rep.Problems
	if err != nil || len(problems) != 1 || problems[0].Key != "" || problems[0].Path != temp {
		t.Fatalf("Verify = %+v, %v; want the old temp file", problems, err)
	}
	if !exists(temp) {
		t.Fatal("Verify without fix removed a file")
	}
	if _, err := later.Prune(ctx, maintain.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if exists(temp) {
		t.Fatal("Prune left an old temp file")
	}
}

func TestOldVersionsAreMarkedAndPruned(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	calls := []cacheruntime.Call{mcCall(1), mcCall(2)}
	for _, call := range calls {
		do(t, c, call, 1)
		call.Version = 2
		do(t, c, call, 2)
	}
	other := cacheruntime.Call{Func: "example.com/sim.Other", Version: 1, Params: map[string]any{}}
	do(t, c, other, 3)
	tr := openTier(t, dir, maintain.Options{})
	old := 0
	for _, e := range list(t, tr) {
		if e.OldVersion != (e.Func == calls[0].Func && e.Version == 1) {
			t.Errorf("%s version %d: OldVersion %v", e.Func, e.Version, e.OldVersion)
		}
		if e.OldVersion != e.Dead() {
			t.Errorf("%s version %d: OldVersion %v, Dead %v", e.Func, e.Version, e.OldVersion, e.Dead())
		}
		if e.OldVersion {
			old++
		}
	}
	if old != 2 {
		t.Fatalf("%d old versions, want 2", old)
	}
	dry, err := tr.Prune(ctx, maintain.PruneOptions{OldVersions: true, DryRun: true})
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry run: %d, %v: want the 2 old versions", len(dry), err)
	}
	if n := len(list(t, tr)); n != 5 {
		t.Fatalf("a dry run removed entries: %d left", n)
	}
	removed, err := tr.Prune(ctx, maintain.PruneOptions{OldVersions: true})
	if err != nil || len(removed) != 2 {
		t.Fatalf("pruned %d, %v: want the 2 old versions", len(removed), err)
	}
	for _, e := range removed {
		if e.Version != 1 || e.Func != calls[0].Func {
			t.Errorf("pruned %s version %d", e.Func, e.Version)
		}
	}
}

// An entry used again after a rollback to its version is not old.
func TestOldVersionUsedAgainIsNotOld(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	v1, v2 := mcCall(1), mcCall(1)
	v2.Version = 2
	do(t, c, v1, 1)
	age(t, entryPath(dir, keyOf(t, v1)), 2*time.Hour) // stored two hours ago, unused since
	do(t, c, v2, 1)
	tr := openTier(t, dir, maintain.Options{})
	old := func() bool {
		t.Helper()
		for _, e := range list(t, tr) {
			if e.Version == 1 {
				return e.OldVersion
			}
		}
		t.Fatal("no version 1 entry")
		return false
	}
	if !old() {
		t.Fatal("version 1, unused since version 2 was computed, is not old")
	}
	do(t, c, v1, 1) // rolled back: version 1 is used again, which its hit records
	if c.Stats().Hits != 1 {
		t.Fatalf("stats %+v: want version 1 served", c.Stats())
	}
	if old() {
		t.Error("version 1, used again after version 2 was computed, is marked old")
	}
	if removed, _ := tr.Prune(ctx, maintain.PruneOptions{OldVersions: true}); len(removed) != 0 {
		t.Errorf("prune -old-versions removed %d entries in use", len(removed))
	}
}

// Prune and Clear remove the per-key lock files (of systems other than
// Linux) that killed holders left, and never one a computation holds:
// the computation keeps its exclusion. (internal/disk's TestRemoveFreeLock
// checks RemoveFreeLock itself.)
func TestPruneRemovesOnlyFreeLocks(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 3, 100)
	held, free := keyOf(t, mcCall(1)), keyOf(t, mcCall(2))
	lock := func(key string) string { return filepath.Join(dir, filepath.FromSlash(disk.LockName(key))) }
	plant := func(key string) *os.File { // as a holder leaves it, alive or killed
		t.Helper()
		f, err := os.OpenFile(lock(key), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	holder := plant(held)
	defer holder.Close()
	if ok, err := disk.TryLock(holder); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	plant(free).Close()
	tr := openTier(t, dir, maintain.Options{})
	for _, clean := range []func() error{
		func() error { _, err := tr.Prune(ctx, maintain.PruneOptions{}); return err },
		func() error { return tr.Clear(ctx) },
	} {
		if err := clean(); err != nil {
			t.Fatal(err)
		}
		if !exists(lock(held)) {
			t.Fatal("the held lock was removed")
		}
		if exists(lock(free)) {
			t.Fatal("the free lock was left")
		}
		plant(free).Close()
	}
	// The holder still excludes others: its file is the one at the name,
	// which another cannot lock.
	fi, err := os.Stat(lock(held))
	hfi, _ := holder.Stat()
	if err != nil || !os.SameFile(fi, hfi) {
		t.Fatalf("the held lock's name is another file now (%v)", err)
	}
	other := plant(held)
	defer other.Close()
	if ok, err := disk.TryLock(other); ok || err != nil {
		t.Errorf("another took the held lock: %v, %v", ok, err)
	}
}

// Match limits a prune to the functions it accepts: the entries of the
// others are kept, whatever else selects them.
func TestPruneMatchKeepsOtherFunctions(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	fill(t, c, 3, 100)
	for i := range 2 {
		do(t, c, cacheruntime.Call{Func: "example.com/sim.Other", Version: 1, Params: map[string]any{"i": i}}, i)
	}
	tr := openTier(t, dir, maintain.Options{})
	removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1, Match: func(fn string) bool { return fn == "example.com/sim.Other" }})
	if err != nil || len(removed) != 2 {
		t.Fatalf("Prune(Match) removed %d entries (%v), want the other function's 2", len(removed), err)
	}
	for _, e := range removed {
		if e.Func != "example.com/sim.Other" {
			t.Errorf("Prune(Match) removed an entry of %s", e.Func)
		}
	}
	if es := list(t, tr); len(es) != 3 {
		t.Errorf("%d entries left, want the 3 of the function not matched", len(es))
	}
}

// A prune to a size removes least recently used entries until the rest
// fit, and no more; entries that fail their checks go first.
func TestPruneToASizeRemovesCorruptEntriesFirst(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 4, 100)
	for i := range 4 {
		age(t, entryPath(dir, keyOf(t, mcCall(float64(i)))), time.Duration(4-i)*time.Hour) // 0 the least recently used
	}
	bad := keyOf(t, mcCall(3)) // the most recently used
	data, _ := os.ReadFile(entryPath(dir, bad))
	data[entry.HeaderSize+1] ^= 1 // in its metadata: a listing reads it
	os.WriteFile(entryPath(dir, bad), data, 0o600)
	tr := openTier(t, dir, maintain.Options{})
	es := list(t, tr)
	if len(es) != 3 {
		t.Fatalf("List = %d entries, want the 3 good ones", len(es))
	}
	// Four entries of one size: two fit.
	removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 2 * es[0].Size})
	if err != nil || len(removed) != 2 || removed[0].Key != bad || removed[1].Key != keyOf(t, mcCall(0)) {
		t.Fatalf("Prune = %+v, %v; want the corrupt entry, then the least recently used", removed, err)
	}
	if removed[0].Func != "" || removed[0].Size == 0 {
		t.Errorf("the corrupt entry is reported as %+v: want its key and size alone", removed[0])
	}
	if n := len(list(t, tr)); n != 2 {
		t.Errorf("%d entries left, want 2", n)
	}
}

// Pruning an entry removes its pending record: nothing is left to copy to
// the shared store.
func TestPruneRemovesPendingRecords(t *testing.T) {
	dir := t.TempDir()
	do(t, openCache(t, dir, withRemoteDown()), mcCall(1), 1)
	k := keyOf(t, mcCall(1))
	pending := filepath.Join(dir, disk.PendingDir, k)
	if !exists(pending) {
		t.Fatal("no pending record of an entry the shared store lacks")
	}
	if _, err := openTier(t, dir, maintain.Options{}).Prune(ctx, maintain.PruneOptions{MaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	if exists(entryPath(dir, k)) {
		t.Fatal("entry not pruned")
	}
	if exists(pending) {
		t.Errorf("pending record of a pruned entry is left behind")
	}
}

// Prune removes memo records not written for keying.MemoMaxAge.
func TestPruneRemovesOldMemoRecords(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	old, recent := filepath.Join(t.TempDir(), "old"), filepath.Join(t.TempDir(), "recent")
	for _, p := range []string{old, recent} {
		os.WriteFile(p, []byte(p), 0o600)
		do(t, c, cacheruntime.Call{Func: "example.com/rt.Load", Version: 1, Params: map[string]any{"path": cacheruntime.File(p)}}, 1)
	}
	oldMemo, recentMemo := memoOf(t, dir, old), memoOf(t, dir, recent)
	long := time.Now().Add(-keying.MemoMaxAge - time.Hour)
	if err := os.Chtimes(oldMemo, long, long); err != nil {
		t.Fatal(err)
	}
	if _, err := openTier(t, dir, maintain.Options{}).Prune(ctx, maintain.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if exists(oldMemo) {
		t.Error("an old memo record survived Prune")
	}
	if !exists(recentMemo) {
		t.Error("a recent memo record was pruned")
	}
}

// memoOf returns the memo record, in the cache directory dir, of the file
// at path.
func memoOf(t *testing.T, dir, path string) string {
	t.Helper()
	memo := filepath.Join(dir, filepath.FromSlash(keying.MemoName(path)))
	if !exists(memo) {
		t.Fatalf("no memo record of %s", path)
	}
	return memo
}
