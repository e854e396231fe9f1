package maintain_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/maintain"
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/file"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// A shared store is listed, pruned, and cleared of its entries as a
// directory is; a value that is no entry is left out of its listing, and
// pruned first.
func TestSharedListPruneRemoveClear(t *testing.T) {
	storeDir, r := sharedStore(t, remote.Options{})
	c := openCache(t, t.TempDir(), cacheruntime.WithRemote(r))
	for i := range 3 {
		do(t, c, mcCall(float64(20+i)), mcResult{Precision: 0.5})
	}
	junk := entryPath(storeDir, "00000000000000aa")
	os.MkdirAll(filepath.Dir(junk), 0o700)
	os.WriteFile(junk, []byte("not an entry"), 0o600)
	tr := maintain.Shared(r, nil)
	es, err := tr.List(ctx)
	if err != nil || len(es) != 3 {
		t.Fatalf("List = %d entries, %v; want 3 (the corrupt one left out)", len(es), err)
	}
	for _, e := range es {
		if e.Func != mcCall(0).Func || e.Version != 1 || !strings.Contains(string(e.Params), `"snr": 2`) || e.Size == 0 || e.LastUsed.IsZero() {
			t.Errorf("entry %+v lacks its metadata", e)
		}
	}
	gone, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: es[0].Size*2 + 1, DryRun: true})
	if err != nil || len(gone) != 2 || gone[0].Key != "00000000000000aa" {
		t.Fatalf("Prune dry run = %+v, %v; want the corrupt entry and one more", gone, err)
	}
	if len(storeKeys(t, r)) != 4 {
		t.Fatal("a dry run removed entries")
	}
	if _, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: es[0].Size*2 + 1}); err != nil || len(storeKeys(t, r)) != 2 {
		t.Fatalf("Prune left %d entries, %v; want 2", len(storeKeys(t, r)), err)
	}
	left := storeKeys(t, r)[0]
	if ok, err := tr.Remove(ctx, left); !ok || err != nil || exists(entryPath(storeDir, left)) {
		t.Errorf("Remove of an entry = %v, %v; want it removed", ok, err)
	}
	if ok, err := tr.Remove(ctx, left); ok || err != nil {
		t.Errorf("Remove of a removed entry = %v, %v; want false", ok, err)
	}
	if err := tr.Clear(ctx); err != nil || len(storeKeys(t, r)) != 0 {
		t.Errorf("Clear left %d entries, %v", len(storeKeys(t, r)), err)
	}
}

// A read-only store refuses every change.
func TestSharedReadOnlyRefusesChanges(t *testing.T) {
	storeDir, w := sharedStore(t, remote.Options{})
	do(t, openCache(t, t.TempDir(), cacheruntime.WithRemote(w)), mcCall(6), 6)
	s, err := file.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	tr := maintain.Shared(remote.New(s, "file://"+storeDir, remote.Options{ReadOnly: true}), nil)
	key := keyOf(t, mcCall(6))
	if _, err := tr.Remove(ctx, key); !errors.Is(err, maintain.ErrReadOnly) {
		t.Errorf("Remove on a read-only remote: %v, want ErrReadOnly", err)
	}
	if err := tr.Clear(ctx); !errors.Is(err, maintain.ErrReadOnly) {
		t.Errorf("Clear on a read-only remote: %v, want ErrReadOnly", err)
	}
	if _, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1}); !errors.Is(err, maintain.ErrReadOnly) {
		t.Errorf("Prune on a read-only remote: %v, want ErrReadOnly", err)
	}
	if !exists(entryPath(storeDir, key)) {
		t.Error("the read-only tier's store changed")
	}
	if gone, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1, DryRun: true}); err != nil || len(gone) != 1 {
		t.Errorf("Prune's dry run on a read-only remote = %+v, %v; want the entry named", gone, err)
	}
}

func TestSharedListMarksOldVersions(t *testing.T) {
	storeDir, r := sharedStore(t, remote.Options{})
	c := openCache(t, t.TempDir(), cacheruntime.WithRemote(r))
	v1, v2 := mcCall(1), mcCall(1)
	v2.Version = 2
	do(t, c, v1, 1)
	age(t, entryPath(storeDir, keyOf(t, v1)), 2*time.Hour) // stored two hours ago, unused since
	do(t, c, v2, 2)
	es, err := maintain.Shared(r, nil).List(ctx)
	if err != nil || len(es) != 2 {
		t.Fatalf("List: %v, %v", es, err)
	}
	for _, e := range es {
		if e.OldVersion != (e.Version == 1) {
			t.Errorf("version %d: OldVersion %v", e.Version, e.OldVersion)
		}
	}
}

// A Tier of a shared store checks what it describes and lists against
// the signing key it is given: an entry signed with another key is
// refused, and marked.
func TestSharedEntriesCheckTheSigningKey(t *testing.T) {
	_, r := sharedStore(t, remote.Options{})
	signKey := []byte("a signing key of enough bytes")
	otherKey := []byte("another key of enough bytes!")
	do(t, openCache(t, t.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithSigningKey(signKey)), mcCall(7), mcResult{Precision: 0.25})
	k := keyOf(t, mcCall(7))
	if got, err := maintain.Shared(r, signKey).Describe(ctx, k); err != nil || !strings.Contains(got, "0.25") {
		t.Errorf("describing an entry signed with the key given: %q, %v", got, err)
	}
	if _, err := maintain.Shared(r, otherKey).Describe(ctx, k); !errors.Is(err, entry.ErrBadSignature) {
		t.Errorf("describing an entry signed with another key: %v, want a bad signature", err)
	}
	if _, err := maintain.Shared(r, signKey).Describe(ctx, keyOf(t, mcCall(8))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("describing a missing entry: %v, want fs.ErrNotExist", err)
	}
	for _, c := range []struct {
		key []byte
		bad bool
	}{{signKey, false}, {otherKey, true}, {nil, false}} {
		es, err := maintain.Shared(r, c.key).List(ctx)
		if err != nil || len(es) != 1 || es[0].BadSignature != c.bad {
			t.Errorf("List with key %q = %+v, %v; want BadSignature %v", c.key, es, err, c.bad)
		}
	}
}

// cleaningStore is a file store that keeps data beside its entries, which
// Clean removes.
type cleaningStore struct {
	*file.Store
	cleaned bool
}

func (s *cleaningStore) Clean(context.Context) error {
	s.cleaned = true
	return nil
}

// Clear of a shared store removes its signing record, so that the next
// machine with a key claims it, and what the store keeps beside its
// entries; other files are left.
func TestSharedClearRemovesTheSigningRecord(t *testing.T) {
	storeDir, r := sharedStore(t, remote.Options{})
	signKey := []byte("a signing key of enough bytes")
	do(t, openCache(t, t.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithSigningKey(signKey)), mcCall(1), 1)
	record := filepath.Join(storeDir, "record.signing")
	if !exists(record) {
		t.Fatal("a signed cache claimed no signing record")
	}
	store, err := file.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	s := &cleaningStore{Store: store}
	if err := maintain.Shared(remote.New(s, "file://"+storeDir, remote.Options{}), signKey).Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(record) || len(storeKeys(t, r)) != 0 || !s.cleaned {
		t.Errorf("after Clear: signing record left %v, %d entries left, store cleaned %v", exists(record), len(storeKeys(t, r)), s.cleaned)
	}
	if !exists(filepath.Join(storeDir, cachedir.ReadmeName)) {
		t.Error("Clear removed the store's README")
	}
}

// A store that cannot be reached is an error, not an empty store.
func TestSharedStoreDownIsAnError(t *testing.T) {
	tr := maintain.Shared(remote.New(downStore{}, "mem://down", remote.Options{}), nil)
	if _, err := tr.List(ctx); !errors.Is(err, errDown) || !strings.Contains(err.Error(), "mem://down") {
		t.Errorf("List: %v, want the store's error, naming it", err)
	}
	if _, err := tr.Prune(ctx, maintain.PruneOptions{MaxBytes: 1}); !errors.Is(err, errDown) {
		t.Errorf("Prune: %v, want the store's error", err)
	}
	if err := tr.Clear(ctx); !errors.Is(err, errDown) {
		t.Errorf("Clear: %v, want the store's error", err)
	}
	if _, err := tr.Remove(ctx, keyOf(t, mcCall(1))); !errors.Is(err, errDown) {
		t.Errorf("Remove: %v, want the store's error", err)
	}
}
