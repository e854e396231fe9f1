package maintain_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/maintain"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

const (
	codeA = "aaaaaaaaaaaaaaaa"
	codeB = "bbbbbbbbbbbbbbbb"
	codeC = "cccccccccccccccc"

	partsA = "Retrieve:11111111,forward:22222222,go.mod:33333333"
	partsB = "Retrieve:11111111,forward:44444444,go.mod:33333333"
)

// whyCall is a call of one function with code code, version v and
// arguments y and z.
func whyCall(v int, code, parts string, y, z int) cacheruntime.Call {
	return cacheruntime.Call{Func: "example.com/sim.Retrieve", Version: v, Code: code, Parts: parts,
		Params: map[string]any{"y": y, "z": z, "grid": []float64{1, 2, 3}}}
}

// Why explains an entry from the cache itself, as cachectl why does.
func TestWhyWalksTheCache(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	for _, call := range []cacheruntime.Call{whyCall(1, codeA, partsA, 222, 1), whyCall(1, codeA, partsA, 333, 1)} {
		do(t, c, call, mcResult{})
	}
	key := keyOf(t, whyCall(1, codeA, partsA, 333, 1))
	os.RemoveAll(filepath.Join(dir, explain.RecentDir)) // not from the record
	tr := openTier(t, dir, maintain.Options{})
	got, err := tr.Why(ctx, key)
	first := keyOf(t, whyCall(1, codeA, partsA, 222, 1))
	if err != nil || !strings.Contains(got, "differs in y: 222 -> 333") {
		t.Errorf("Why = %q, %v; want y: 222 -> 333", got, err)
	}
	if got, _ := tr.Why(ctx, first); got != "the cache records no entry of this function" {
		t.Errorf("Why of the first entry = %q", got)
	}
	if _, err := tr.Why(ctx, "0123456789abcdef"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Why of a key not cached: %v, want fs.ErrNotExist", err)
	}
	if _, err := tr.Why(ctx, "../../etc/passwd"); !errors.Is(err, maintain.ErrBadKey) {
		t.Errorf("Why of a bad key: %v, want ErrBadKey", err)
	}

	// Other code computed the same call since: its entry replaced the
	// first code's, which the record remembers, with its parts.
	do(t, c, whyCall(1, codeB, partsB, 333, 1), mcResult{})
	got, err = tr.Why(ctx, key)
	if err != nil || !strings.Contains(got, "computed by other code (aaaaaaaaaaaaaaaa), which this code does not accept; changed since: forward") {
		t.Errorf("Why of an entry that replaced other code's = %q, %v", got, err)
	}
}

// Why remembers, from the record of the function's latest entries, an
// entry removed from the directory since.
func TestWhyRemembersRemovedEntries(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	for _, call := range []cacheruntime.Call{whyCall(1, codeA, partsA, 222, 1), whyCall(1, codeA, partsA, 333, 1)} {
		do(t, c, call, mcResult{})
	}
	tr := openTier(t, dir, maintain.Options{})
	if ok, err := tr.Remove(ctx, keyOf(t, whyCall(1, codeA, partsA, 222, 1))); !ok || err != nil {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	got, err := tr.Why(ctx, keyOf(t, whyCall(1, codeA, partsA, 333, 1)))
	if err != nil || !strings.Contains(got, "differs in y: 222 -> 333") {
		t.Errorf("Why = %q, %v; want the removed entry of y=222 remembered", got, err)
	}
}
