package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// onDisk counts what the store's entry files in shard occupy, by the
// system's own figure: st_blocks of 512 bytes.
func onDisk(t *testing.T, dir, shard string) Usage {
	t.Helper()
	var u Usage
	ents, _ := os.ReadDir(filepath.Join(dir, shard))
	for _, e := range ents {
		if KindOf(e.Name()) != KindEntry || !e.Type().IsRegular() {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dir, shard, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		u.Bytes += st.Blocks * 512
		u.Entries++
	}
	return u
}

// recorded reads shard's usage record as it is, without a recount.
func recorded(t *testing.T, dir, shard string) (Usage, time.Time, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, shard, UsageName))
	if err != nil {
		return Usage{}, time.Time{}, false
	}
	return parseUsage(b)
}

// Every store and removal adds to its shard's record, which then holds
// what the disk does, in allocated blocks, without a recount.
func TestUsageIsKeptInStepWithWritesAndRemovals(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	for i := range 5 {
		put(t, s, keyIn("ab", i), encode(t, make([]byte, 100*i), nil))
	}
	put(t, s, keyIn("cd", 0), encode(t, make([]byte, 10), nil))
	put(t, s, keyIn("ab", 1), encode(t, make([]byte, 20000), nil)) // replaced by a larger one
	if err := s.RemoveEntry(EntryName(keyIn("ab", 3))); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveEntry(EntryName(keyIn("ab", 3))); err == nil {
		t.Error("removing a removed entry succeeded")
	}
	for _, shard := range []string{"ab", "cd"} {
		want := onDisk(t, dir, shard)
		if got, _, ok := recorded(t, dir, shard); !ok || got != want {
			t.Errorf("shard %s: record %+v (%v), the disk holds %+v", shard, got, ok, want)
		}
		if got, err := s.ReadUsage(shard, false); err != nil || got != want {
			t.Errorf("shard %s: ReadUsage = %+v, %v; the disk holds %+v", shard, got, err, want)
		}
		if got, err := s.CountShard(shard); err != nil || got != want {
			t.Errorf("shard %s: CountShard = %+v, %v; the disk holds %+v", shard, got, err, want)
		}
	}
	if u := onDisk(t, dir, "ab"); u.Entries != 4 || u.Bytes < 20000 || u.Bytes%512 != 0 {
		t.Errorf("the disk holds %+v, want 4 entries in whole blocks", u)
	}
	total, err := s.TotalUsage(false)
	if ab, cd := onDisk(t, dir, "ab"), onDisk(t, dir, "cd"); err != nil || total != (Usage{ab.Bytes + cd.Bytes, ab.Entries + cd.Entries}) {
		t.Errorf("TotalUsage = %+v, %v", total, err)
	}
	// A removal of what is not a regular file counts nothing.
	os.Mkdir(filepath.Join(dir, "ab", keyIn("ab", 7)+EntrySuffix), 0o700)
	if err := s.RemoveEntry(EntryName(keyIn("ab", 7))); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := recorded(t, dir, "ab"); got != onDisk(t, dir, "ab") {
		t.Errorf("a directory's removal was counted: %+v", got)
	}
}

// Stores into one shard from many goroutines are each counted once.
func TestUsageUnderConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	data := encode(t, make([]byte, 3000), nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			other := New(dir, true, nil) // another process, as far as the files go
			for i := range 4 {
				st := s
				if i%2 == 1 {
					st = other
				}
				if _, counted, err := st.WriteEntry(keyIn("ab", g*10+i), WriteParts([][]byte{data})); err != nil || !counted {
					t.Errorf("WriteEntry: %v, %v", counted, err)
				}
			}
		})
	}
	wg.Wait()
	if got, want := func() Usage { u, _, _ := recorded(t, dir, "ab"); return u }(), onDisk(t, dir, "ab"); got != want || want.Entries != 32 {
		t.Errorf("record %+v, the disk holds %+v (want 32 entries)", got, want)
	}
}

// A store or a removal reads and updates its own shard's usage record
// alone: with the record in place it lists no shard and walks nothing,
// and a shard without one is listed once, to count it, and no other
// shard is. Reading the store's usage lists no shard that has a record.
func TestWritesListNoOtherShard(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	var listed, walked []string
	shardHook = func(shard string) { listed = append(listed, shard) }
	walkHook = func(shard string) { walked = append(walked, shard) }
	t.Cleanup(func() { shardHook, walkHook = nil, nil })
	shards := []string{"00", "ab", "ff"}
	for _, shard := range shards {
		for i := range 3 {
			put(t, s, keyIn(shard, i), encode(t, make([]byte, 100), nil))
		}
	}
	if !slices.Equal(listed, shards) || len(walked) != 0 {
		t.Errorf("the stores listed %v and walked %v; want each shard listed once, for its missing record", listed, walked)
	}
	listed = nil
	put(t, s, keyIn("ab", 0), encode(t, make([]byte, 20000), nil)) // replaced by a larger one
	if ok, err := s.CreateEntry(keyIn("ab", 5), WriteParts([][]byte{encode(t, nil, nil)})); !ok || err != nil {
		t.Fatalf("CreateEntry = %v, %v", ok, err)
	}
	if err := s.RemoveEntry(EntryName(keyIn("ff", 1))); err != nil {
		t.Fatal(err)
	}
	total, err := s.TotalUsage(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 || len(walked) != 0 {
		t.Errorf("stores, a removal and reading the usage listed %v and walked %v; want the records read alone", listed, walked)
	}
	var want Usage
	for _, shard := range shards {
		u := onDisk(t, dir, shard)
		want.Bytes += u.Bytes
		want.Entries += u.Entries
	}
	if total != want || want.Entries != 9 {
		t.Errorf("TotalUsage = %+v, the disk holds %+v (want 9 entries)", total, want)
	}
}

// A record missing, malformed, implausible or a day old is recounted,
// never trusted; one that lost an update is repaired by a recount.
func TestUsageRecordsAreRepaired(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	for i := range 3 {
		put(t, s, keyIn("ab", i), encode(t, make([]byte, 5000), nil))
	}
	truth := onDisk(t, dir, "ab")
	path := filepath.Join(dir, "ab", UsageName)
	write := func(u Usage, at time.Time) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		WriteUsage(f, u, at)
		f.Close()
	}
	now := time.Now()
	bad := map[string]func(){
		"missing":               func() { os.Remove(path) },
		"junk":                  func() { os.WriteFile(path, []byte("junk"), 0o600) },
		"negative":              func() { write(Usage{-1, 1}, now) },
		"bytes without entries": func() { write(Usage{4096, 0}, now) },
		"too many entries":      func() { write(Usage{1 << 40, 1<<32 + 1}, now) },
		"too many bytes":        func() { write(Usage{1<<50 + 1, 5}, now) },
		"counted in the future": func() { write(Usage{1, 1}, now.Add(2*time.Hour)) },
	}
	for name, damage := range bad {
		damage()
		if got, err := s.ReadUsage("ab", false); err != nil || got != truth {
			t.Errorf("%s: ReadUsage = %+v, %v; want the count %+v", name, got, err, truth)
		}
		if _, _, ok := recorded(t, dir, "ab"); ok {
			t.Errorf("%s: ReadUsage without record wrote the record", name)
		}
		if got, err := s.ReadUsage("ab", true); err != nil || got != truth {
			t.Errorf("%s: ReadUsage(record) = %+v, %v", name, got, err)
		}
		if got, _, ok := recorded(t, dir, "ab"); !ok || got != truth {
			t.Errorf("%s: the recount was not recorded: %+v, %v", name, got, ok)
		}
		// An update to a damaged record recounts instead of adding.
		damage()
		put(t, s, keyIn("ab", 9), encode(t, make([]byte, 5000), nil))
		if got, _, ok := recorded(t, dir, "ab"); !ok || got != onDisk(t, dir, "ab") {
			t.Errorf("%s: a store into a damaged record left %+v, the disk holds %+v", name, got, onDisk(t, dir, "ab"))
		}
		s.RemoveEntry(EntryName(keyIn("ab", 9)))
	}

	// A record a day old is recounted by the next update, not added to.
	write(Usage{1 << 30, 1000}, now.Add(-25*time.Hour))
	u, counted, err := s.withUsage("ab", func() (Usage, error) { return Usage{}, nil })
	if err != nil || !counted || u != truth {
		t.Errorf("a day-old record: withUsage = %+v, %v, %v; want the count %+v", u, counted, err, truth)
	}
	if _, at, _ := recorded(t, dir, "ab"); time.Since(at) > time.Hour {
		t.Errorf("the recount is dated %v", at)
	}
	// A lost update stays until a recount: SetUsage records one.
	s.withUsage("ab", func() (Usage, error) { return Usage{-4096, -1}, nil })
	if got, _ := s.ReadUsage("ab", false); got == truth {
		t.Fatal("the lost update was not recorded")
	}
	c, err := s.CountShard("ab")
	if err != nil || c != truth {
		t.Fatalf("CountShard = %+v, %v; want %+v", c, err, truth)
	}
	s.SetUsage("ab", c, time.Now())
	if got, _ := s.ReadUsage("ab", false); got != truth {
		t.Errorf("after SetUsage: %+v, want %+v", got, truth)
	}
	// fn's error is returned, and nothing added.
	oops := errors.New("oops")
	if _, _, err := s.withUsage("ab", func() (Usage, error) { return Usage{1 << 20, 1}, oops }); !errors.Is(err, oops) {
		t.Errorf("WithUsage = %v, want fn's error", err)
	}
	if got, _ := s.ReadUsage("ab", false); got != truth {
		t.Errorf("a failed change was counted: %+v", got)
	}
	// A shard that does not exist holds nothing.
	if got, err := s.ReadUsage("ef", false); err != nil || got != (Usage{}) {
		t.Errorf("an empty shard: %+v, %v", got, err)
	}
}

// While another holds a shard's record, an update waits a moment and is
// then skipped, the change made all the same and reported uncounted; a
// clean of the shard is refused.
func TestUsageRecordHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	put(t, s, keyIn("ab", 0), encode(t, nil, nil))
	f, err := New(dir, true, nil).OpenLockIn(UsagePath("ab"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := TryLock(f); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	ran := false
	u, counted, err := s.withUsage("ab", func() (Usage, error) { ran = true; return Usage{1, 1}, nil })
	if err != nil || counted || !ran || u != (Usage{}) {
		t.Errorf("WithUsage under another's lock = %+v, %v, %v (ran %v); want fn run and nothing counted", u, counted, err, ran)
	}
	if _, _, err := s.CleanShard("ab", 0, ""); err == nil {
		t.Error("CleanShard ran without the record's lock")
	}
	if _, err := os.Stat(s.Path(keyIn("ab", 0))); err != nil {
		t.Errorf("the entry is gone: %v", err)
	}
}

// usedAt stores an entry of size bytes of payload in key, last used at.
func usedAt(t *testing.T, s *Store, key string, size int, at time.Time) ShardFile {
	t.Helper()
	put(t, s, key, encode(t, make([]byte, size), nil))
	if err := os.Chtimes(s.Path(key), at, at); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Lstat(s.Path(key))
	return ShardFile{EntryName(key), key, Allocated(fi), at}
}

// CleanShard removes a shard's least recently used entries, never keep's,
// until it holds at most the target, and records what is left.
func TestCleanShardRemovesLeastRecentlyUsedFirst(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var files []ShardFile
	for i := range 5 {
		files = append(files, usedAt(t, s, keyIn("ab", i), 8000, base.Add(time.Duration(i)*time.Minute)))
	}
	per := files[0].Disk
	// Keep the oldest; the target leaves room for three.
	removed, u, err := s.CleanShard("ab", 3*per, files[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range removed {
		keys = append(keys, r.Key)
	}
	if want := []string{files[1].Key, files[2].Key}; !slices.Equal(keys, want) {
		t.Errorf("removed %v, want the two least recently used but the kept one, %v", keys, want)
	}
	if !slices.Equal(removed, files[1:3]) {
		t.Errorf("removed %+v, want %+v", removed, files[1:3])
	}
	if want := onDisk(t, dir, "ab"); u != want || want.Entries != 3 {
		t.Errorf("CleanShard reports %+v, the disk holds %+v", u, want)
	}
	if got, _, _ := recorded(t, dir, "ab"); got != u {
		t.Errorf("record %+v, want %+v", got, u)
	}
	if _, err := os.Stat(s.Path(files[0].Key)); err != nil {
		t.Errorf("the kept entry was removed: %v", err)
	}
	// Under its target, a shard is left alone.
	if removed, _, err := s.CleanShard("ab", 1<<30, ""); err != nil || len(removed) != 0 {
		t.Errorf("a shard under its target: removed %v, %v", removed, err)
	}
	// To nothing: all but keep.
	if removed, u, _ := s.CleanShard("ab", 0, files[4].Key); len(removed) != 2 || u.Entries != 1 {
		t.Errorf("to nothing: removed %d, left %+v; want all but the kept one", len(removed), u)
	}
}

// Trim, once the store holds more than its trigger, removes the least
// recently used entries across shards, never keep's, until it holds at
// most its target, keeping every shard's record in step.
func TestTrim(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	shards := []string{"00", "7f", "ab", "ff"}
	var files []ShardFile // in order of last use
	for i := range 8 {
		files = append(files, usedAt(t, s, keyIn(shards[i%4], i), 8000, base.Add(time.Duration(i)*time.Minute)))
	}
	plant(t, dir, PendingName(files[1].Key), nil)
	plant(t, dir, PendingName(files[7].Key), nil)
	per := files[0].Disk
	total := 8 * per

	if removed, before, err := s.Trim(context.Background(), total, 0, ""); err != nil || len(removed) != 0 || before != total {
		t.Errorf("at its trigger: removed %v, before %d, %v; want nothing removed of %d", removed, before, err, total)
	}
	removed, before, err := s.Trim(context.Background(), total-1, 5*per, files[0].Key)
	if err != nil || before != total {
		t.Fatalf("Trim: before %d, %v", before, err)
	}
	if want := files[1:4]; !slices.Equal(removed, want) {
		t.Errorf("removed %+v\nwant %+v", removed, want)
	}
	for i, f := range files {
		_, err := os.Stat(s.Path(f.Key))
		if gone := err != nil; gone != (i >= 1 && i <= 3) {
			t.Errorf("entry %d (used %v): gone = %v", i, f.LastUsed, gone)
		}
	}
	if _, err := os.Stat(s.Abs(PendingName(files[1].Key))); err == nil {
		t.Error("the pending record of a removed entry is left")
	}
	if _, err := os.Stat(s.Abs(PendingName(files[7].Key))); err != nil {
		t.Error("the pending record of a kept entry was removed")
	}
	for _, shard := range shards {
		if got, _, _ := recorded(t, dir, shard); got != onDisk(t, dir, shard) {
			t.Errorf("shard %s: record %+v, the disk holds %+v", shard, got, onDisk(t, dir, shard))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Trim(ctx, 0, 0, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Trim with a cancelled context: %v", err)
	}
	if u, _ := s.TotalUsage(false); u.Entries != 5 {
		t.Errorf("a cancelled Trim removed entries: %+v", u)
	}
}
