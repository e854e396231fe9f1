package disk

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Walk names every entry, temporary and lock file, and whatever is named
// like one (or like a shard) but is not a regular file (or a directory),
// and leaves everything else alone.
func TestWalkKinds(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	put(t, s, key, encode(t, []byte("x"), nil))
	plant(t, dir, "ab/"+TempPrefix+key+"-XYZ", nil)
	plant(t, dir, LockName(keyIn("ab", 2)), nil)
	plant(t, dir, LeaseName(keyIn("ab", 3)), nil)
	for _, name := range []string{"ab/notes.txt", "ab/" + locksName, "ab/0123.entry", "ab/ABCDEF0123456789.entry", "zz/" + keyIn("zz", 0) + EntrySuffix,
		"AB/" + keyIn("AB", 0) + EntrySuffix, "abc/" + keyIn("ab", 0) + EntrySuffix, "memo/x.memo", "README", PendingName(key)} {
		plant(t, dir, name, nil)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "ab", keyIn("ab", 4)+EntrySuffix), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "ab", keyIn("ab", 5)+EntrySuffix), 0o700)
	os.Symlink(filepath.Join(t.TempDir()), filepath.Join(dir, "ab", keyIn("ab", 6)+LockSuffix))
	plant(t, dir, "cd", []byte("a file where a shard goes"))
	os.Symlink(t.TempDir(), filepath.Join(dir, "ef"))

	got := map[string]FileKind{}
	err := s.Walk(context.Background(), func(name string, kind FileKind) error {
		if _, dup := got[name]; dup {
			t.Errorf("%s walked twice", name)
		}
		got[name] = kind
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FileKind{
		EntryName(key):                       KindEntry,
		"ab/" + TempPrefix + key + "-XYZ":    KindTemp,
		LockName(keyIn("ab", 2)):             KindLock,
		LeaseName(keyIn("ab", 3)):            KindLock,
		"ab/" + keyIn("ab", 4) + EntrySuffix: KindOdd,
		"ab/" + keyIn("ab", 5) + EntrySuffix: KindOdd,
		"ab/" + keyIn("ab", 6) + LockSuffix:  KindOdd,
		"cd":                                 KindOdd,
		"ef":                                 KindOdd,
	}
	if !maps.Equal(got, want) {
		t.Errorf("walked %v\nwant %v", got, want)
	}

	// An error from fn stops the walk; so does a cancelled context.
	stop := errors.New("stop")
	n := 0
	if err := s.Walk(context.Background(), func(string, FileKind) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Walk = %v after %d calls, want fn's error after one", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Walk(ctx, func(string, FileKind) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a cancelled context: %v", err)
	}
	// A store whose directory is missing holds nothing.
	if err := New(filepath.Join(dir, "none"), true, nil).Walk(context.Background(), func(string, FileKind) error {
		t.Error("walked a missing store")
		return nil
	}); err != nil {
		t.Errorf("Walk of a missing store: %v", err)
	}
}

// A shard swapped for a symlink to a directory outside the store after
// Walk listed it, and before it visits its files: what a walker does with
// the names it is given (Clear's and Prune's reads, touches, removals,
// removals of free locks) reaches nothing outside.
func TestWalkNeverResolvesThroughASwappedShard(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	data := encode(t, []byte("x"), nil)
	put(t, s, key, data)
	names := []string{EntryName(key), LockName(key), LeaseName(key), "ab/" + TempPrefix + key + "-XYZ"}
	for _, name := range names[1:] {
		plant(t, dir, name, nil)
	}
	// The same files outside, two days old.
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	outside := map[string][]byte{}
	for _, name := range names {
		var b []byte
		if name == EntryName(key) {
			b = data
		}
		p := plant(t, out, name, b)
		os.Chtimes(p, old, old)
		outside[p] = b
	}
	swapped := false
	walkHook = func(shard string) {
		os.RemoveAll(filepath.Join(dir, shard))
		if err := os.Symlink(filepath.Join(out, shard), filepath.Join(dir, shard)); err != nil {
			t.Fatal(err)
		}
		swapped = true
	}
	t.Cleanup(func() { walkHook = nil })
	var walked []string
	err := s.Walk(context.Background(), func(name string, kind FileKind) error {
		walked = append(walked, name)
		s.ReadEntry(name)
		s.ReadMeta(name)
		s.Touch(name, time.Now())
		switch kind {
		case KindEntry:
			s.RemoveEntry(name)
		case KindLock:
			s.RemoveFreeLock(name)
		}
		s.Remove(name)
		return nil
	})
	if err != nil || !swapped || len(walked) != len(names) {
		t.Fatalf("the walk visited %v (%v, swapped %v); want the %d files the shard held", walked, err, swapped, len(names))
	}
	for p, b := range outside {
		got, err := os.ReadFile(p)
		fi, serr := os.Stat(p)
		if err != nil || serr != nil || !bytes.Equal(got, b) || !fi.ModTime().Equal(old) {
			t.Errorf("%s outside the store was changed or removed (%v)", p, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(out, "ab")); len(ents) != len(names) {
		t.Errorf("files were added outside the store: %v", ents)
	}
}

func TestKindOf(t *testing.T) {
	key := "0123456789abcdef"
	for name, want := range map[string]FileKind{
		key + EntrySuffix:           KindEntry,
		key + LockSuffix:            KindLock,
		key + LeaseSuffix:           KindLock,
		TempPrefix + "anything":     KindTemp,
		"0123.entry":                -1,
		"0123456789ABCDEF.entry":    -1,
		key:                         -1,
		UsageName:                   -1,
		key + EntrySuffix + ".bak":  -1,
		"x" + key[1:] + LeaseSuffix: -1,
	} {
		if got := KindOf(name); got != want {
			t.Errorf("KindOf(%s) = %d, want %d", name, got, want)
		}
	}
}

// The memo of file digests is cleared whole, and pruned of records not
// written since a cutoff; temporary files there go too.
func TestMemoClearAndPrune(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	if err := s.ClearMemo(); err != nil {
		t.Errorf("ClearMemo of a missing store: %v", err)
	}
	long := time.Now().Add(-48 * time.Hour)
	for _, name := range []string{"old.memo", "new.memo", TempPrefix + "old", "other"} {
		p := plant(t, dir, MemoDir+"/"+name, nil)
		if name != "new.memo" {
			os.Chtimes(p, long, long)
		}
	}
	s.PruneMemo(time.Now().Add(-24 * time.Hour))
	ents, _ := os.ReadDir(filepath.Join(dir, MemoDir))
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if len(left) != 2 || left[0] != "new.memo" || left[1] != "other" {
		t.Errorf("after PruneMemo: %v, want new.memo and other", left)
	}
	if err := s.ClearMemo(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, MemoDir)); len(ents) != 1 || ents[0].Name() != "other" {
		t.Errorf("after ClearMemo: %v, want what is not the memo's left", ents)
	}
	os.Remove(filepath.Join(dir, MemoDir, "other"))
	plant(t, dir, MemoDir+"/x.memo", nil)
	if err := s.ClearMemo(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, MemoDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an emptied memo directory is left: %v", err)
	}
	if err := s.ClearMemo(); err != nil {
		t.Errorf("ClearMemo without a memo: %v", err)
	}
}
