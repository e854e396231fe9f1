package maintain_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// Open refuses what is no cache directory of one's own, and a directory
// others can write to unless it is meant to be shared.
func TestOpenRefusesWhatIsNoPrivateDirectory(t *testing.T) {
	if _, err := maintain.Open("", maintain.Options{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Open of an empty path: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := maintain.Open(file, maintain.Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open of a regular file: %v", err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := maintain.Open(dir, maintain.Options{}); !errors.Is(err, disk.ErrNotPrivate) || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("Open of a 0777 directory: %v, want it refused", err)
	}
	if _, err := maintain.Open(dir, maintain.Options{ReadOnly: true}); !errors.Is(err, disk.ErrNotPrivate) {
		t.Errorf("Open read-only of a 0777 directory: %v, want it refused", err)
	}
	if _, err := maintain.Open(dir, maintain.Options{Shared: true}); err != nil {
		t.Errorf("Open of a 0777 directory meant to be shared: %v", err)
	}
}

// A directory that does not exist holds no entries, and managing it does
// not make it.
func TestMissingDirectoryHoldsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	tr := openTier(t, dir, maintain.Options{})
	if tr.String() != dir || !tr.IsDir() {
		t.Errorf("the tier of %s says it is %q, a directory %v", dir, tr.String(), tr.IsDir())
	}
	if es, err := tr.List(ctx); err != nil || len(es) != 0 {
		t.Errorf("List = %v, %v", es, err)
	}
	if removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1}); err != nil || len(removed) != 0 {
		t.Errorf("Prune = %v, %v", removed, err)
	}
	if rep, err := tr.Verify(ctx, true); err != nil || rep.Checked != 0 || len(rep.Problems) != 0 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
	if ok, err := tr.Remove(ctx, keyOf(t, mcCall(1))); ok || err != nil {
		t.Errorf("Remove = %v, %v", ok, err)
	}
	if u, err := tr.Usage(); err != nil || u != (maintain.Usage{}) {
		t.Errorf("Usage = %+v, %v", u, err)
	}
	if u, err := tr.Recount(ctx); err != nil || u != (maintain.Usage{}) {
		t.Errorf("Recount = %+v, %v", u, err)
	}
	if err := tr.Clear(ctx); err != nil {
		t.Errorf("Clear: %v", err)
	}
	if exists(dir) {
		t.Error("managing a missing directory made it")
	}
}

// Remove removes one entry, and its record of being pending, and reports
// whether there was one; a malformed key is refused.
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir, withRemoteDown())
	do(t, c, mcCall(1), 1)
	do(t, c, mcCall(2), 2)
	k1 := keyOf(t, mcCall(1))
	pending := filepath.Join(dir, disk.PendingDir, k1)
	if !exists(pending) {
		t.Fatal("no pending record of an entry the shared store lacks")
	}
	tr := openTier(t, dir, maintain.Options{})
	if ok, err := tr.Remove(ctx, k1); !ok || err != nil {
		t.Fatalf("Remove = %v, %v; want the entry removed", ok, err)
	}
	if exists(entryPath(dir, k1)) || exists(pending) {
		t.Error("Remove left the entry, or its pending record")
	}
	if ok, err := tr.Remove(ctx, k1); ok || err != nil {
		t.Errorf("Remove of a removed entry = %v, %v; want false", ok, err)
	}
	if es := list(t, tr); len(es) != 1 || es[0].Key != keyOf(t, mcCall(2)) {
		t.Errorf("Remove took other entries: %+v left", es)
	}
	for _, k := range []string{"", "../../etc/passwd", "C66F1DE772E87E1F", "c66f1de772e87e1", "c66f1de772e87e1f0", strings.Repeat("a", 100_000)} {
		if _, err := tr.Remove(ctx, k); !errors.Is(err, maintain.ErrBadKey) || len(err.Error()) > 200 {
			t.Errorf("Remove(%.20q) = %.200v, want a short ErrBadKey", k, err)
		}
	}
}

// A Tier opened read-only reads, and refuses every change.
func TestReadOnlyRefusesChanges(t *testing.T) {
	dir := t.TempDir()
	fill(t, openCache(t, dir), 2, 10)
	key := keyOf(t, mcCall(0))
	data, _ := os.ReadFile(entryPath(dir, key))
	data[len(data)-12] ^= 1 // for Verify to fix
	os.WriteFile(entryPath(dir, key), data, 0o600)
	tr := openTier(t, dir, maintain.Options{ReadOnly: true, Now: at(time.Now().Add(time.Hour))})
	for what, err := range map[string]error{
		"Remove":     func() error { _, err := tr.Remove(ctx, key); return err }(),
		"Clear":      tr.Clear(ctx),
		"Prune":      func() error { _, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1}); return err }(),
		"Verify fix": func() error { _, err := tr.Verify(ctx, true); return err }(),
		"Recount":    func() error { _, err := tr.Recount(ctx); return err }(),
	} {
		if !errors.Is(err, maintain.ErrReadOnly) {
			t.Errorf("%s on a read-only tier: %v, want ErrReadOnly", what, err)
		}
	}
	if n := len(actualFiles(t, dir)); n != 2 {
		t.Errorf("%d entry files left, want both", n)
	}
	if removed, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1, DryRun: true}); err != nil || len(removed) != 2 {
		t.Errorf("Prune's dry run on a read-only tier = %d, %v; want both named", len(removed), err)
	}
	if rep, err := tr.Verify(ctx, false); err != nil || len(rep.Problems) != 1 {
		t.Errorf("Verify on a read-only tier = %+v, %v; want the corrupt entry reported", rep, err)
	}
	if u, err := tr.Usage(); err != nil || u.Entries != 2 {
		t.Errorf("Usage on a read-only tier = %+v, %v", u, err)
	}
}

// actualFiles lists the entry files of the cache directory dir.
func actualFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "??", "*"+disk.EntrySuffix))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestClearRemovesEntriesAndLeavesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	for i := range 5 {
		do(t, c, mcCall(float64(i)), i)
	}
	key := keyOf(t, mcCall(0))
	temp := filepath.Join(dir, key[:2], disk.TempPrefix+key+"-123")
	mine := filepath.Join(dir, key[:2], "notes.txt")
	os.WriteFile(temp, []byte("partial"), 0o600)
	os.WriteFile(mine, []byte("mine"), 0o600)
	tr := openTier(t, dir, maintain.Options{})
	if err := tr.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if es := list(t, tr); len(es) != 0 {
		t.Errorf("%d entries after Clear", len(es))
	}
	if exists(temp) {
		t.Error("Clear left a temporary file")
	}
	if !exists(mine) {
		t.Error("Clear removed a file that is not an entry")
	}
}

// Clear removes what a directory keeps of its entries: the records of
// usage, of recent entries (which explain misses, with their code's
// parts), of entries to copy to the shared store, and the memo of file
// digests. What it does not know, it leaves; and it leaves the shared
// store alone.
func TestClearRemovesTheDirectorysRecords(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(t.TempDir(), "input")
	os.WriteFile(input, []byte("data"), 0o600)
	do(t, openCache(t, dir, withRemoteDown()), cacheruntime.Call{Func: "example.com/sim.Load", Version: 1, Code: codeA, Parts: partsA, Params: map[string]any{"in": cacheruntime.File(input)}}, 1)
	storeDir, r := sharedStore(t, remote.Options{})
	do(t, openCache(t, dir, cacheruntime.WithRemote(r)), mcCall(1), 1)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("mine"), 0o600)
	records := []string{
		filepath.Join(dir, disk.PendingDir),
		filepath.Join(dir, filepath.FromSlash(explain.RecentName("example.com/sim.Load"))),
		filepath.Join(dir, filepath.FromSlash(explain.PartsName("example.com/sim.Load", codeA))),
		filepath.Join(dir, disk.MemoDir),
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "??", disk.UsageName))
	if len(shards) == 0 {
		t.Fatal("no usage records")
	}
	for _, p := range append(records, shards...) {
		if !exists(p) {
			t.Fatalf("the cache keeps no %s", p)
		}
	}
	if err := openTier(t, dir, maintain.Options{}).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(append(records, shards...), filepath.Join(dir, explain.RecentDir)) {
		if exists(p) {
			t.Errorf("Clear left %s", p)
		}
	}
	if !exists(notes) || !exists(filepath.Join(dir, cachedir.ReadmeName)) {
		t.Error("Clear removed files it does not know")
	}
	if keys := storeKeys(t, r); len(keys) != 1 || !exists(filepath.Join(storeDir, filepath.FromSlash(disk.EntryName(keyOf(t, mcCall(1)))))) {
		t.Errorf("Clear of a directory changed its shared store: %v", keys)
	}
}

// What only a directory keeps, a shared store has not: asked of one, it is
// an error that says so.
func TestSharedStoreHasNoDirectoryRecords(t *testing.T) {
	_, r := sharedStore(t, remote.Options{})
	tr := maintain.Shared(r, nil)
	if tr.IsDir() || tr.String() != r.String() {
		t.Errorf("the tier of %s says it is %q, a directory %v", r, tr.String(), tr.IsDir())
	}
	for what, err := range map[string]error{
		"Verify":  func() error { _, err := tr.Verify(ctx, false); return err }(),
		"Usage":   func() error { _, err := tr.Usage(); return err }(),
		"Recount": func() error { _, err := tr.Recount(ctx); return err }(),
		"Why":     func() error { _, err := tr.Why(ctx, keyOf(t, mcCall(1))); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "needs a cache directory") {
			t.Errorf("%s of a shared store: %v, want it said to need a cache directory", what, err)
		}
	}
}

// In a directory of one's own, a shard others can write to holds what
// anyone could have planted: the tier of a private directory reads
// nothing in it, and that of a shared one reads it.
func TestPrivateTierReadsNothingOthersCouldPlant(t *testing.T) {
	dir := t.TempDir()
	do(t, openCache(t, dir), mcCall(1), 1)
	key := keyOf(t, mcCall(1))
	if err := os.Chmod(filepath.Join(dir, key[:2]), 0o777); err != nil {
		t.Fatal(err)
	}
	private := openTier(t, dir, maintain.Options{})
	if _, err := private.Describe(ctx, key); !errors.Is(err, disk.ErrNotPrivate) {
		t.Errorf("Describe of an entry in a shard others can write: %v, want it refused", err)
	}
	if es := list(t, private); len(es) != 0 {
		t.Errorf("List = %+v: want the entry others could have planted left out", es)
	}
	shared := openTier(t, dir, maintain.Options{Shared: true})
	if _, err := shared.Describe(ctx, key); err != nil {
		t.Errorf("Describe in a shared directory: %v", err)
	}
	if es := list(t, shared); len(es) != 1 {
		t.Errorf("List in a shared directory = %+v, want the entry", es)
	}
}
