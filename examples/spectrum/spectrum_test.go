package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cachetest"
)

// The example's claims: the table's content is the key, so a rewritten
// table is computed again, a copy elsewhere hits, and a missing table
// gives Transmittance's own error.
func TestTransmittanceIsKeyedByTheTable(t *testing.T) {
	cache := cachetest.Use(t)
	orig, err := os.ReadFile("lines.par")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	table := filepath.Join(dir, "lines.par")
	if err := os.WriteFile(table, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	call := func(path string) (float64, cacheruntime.Stats) {
		t.Helper()
		before := cache.Stats()
		tr, err := TransmittanceCached(path, 2340, 2350, 50)
		if err != nil {
			t.Fatal(err)
		}
		after := cache.Stats()
		return tr, cacheruntime.Stats{Hits: after.Hits - before.Hits, Computations: after.Computations - before.Computations}
	}
	first, s := call(table)
	if s.Computations != 1 {
		t.Fatalf("first call: %+v", s)
	}
	if again, s := call(table); s.Hits != 1 || again != first {
		t.Fatalf("second call: %v, %+v: want a hit", again, s)
	}

	// A line's strength doubled in place: computed again, with the new table.
	edited := strings.Replace(string(orig), "0.020000", "0.040000", 1)
	if edited == string(orig) {
		t.Fatal("the table has no line of strength 0.020000 to edit")
	}
	os.WriteFile(table, []byte(edited), 0o644)
	changed, s := call(table)
	if s.Computations != 1 || changed >= first {
		t.Fatalf("after the table changed: %v (was %v), %+v: want a new, lower transmittance", changed, first, s)
	}

	// The original content at another path: the first entry.
	copied := filepath.Join(t.TempDir(), "elsewhere.par")
	os.WriteFile(copied, orig, 0o644)
	if tr, s := call(copied); s.Hits != 1 || tr != first {
		t.Fatalf("a copy of the original table: %v, %+v: want a hit with %v", tr, s, first)
	}

	// A missing table: Transmittance's own error, computed without the
	// cache.
	before := cache.Stats()
	if _, err := TransmittanceCached(filepath.Join(dir, "missing.par"), 2340, 2350, 50); !os.IsNotExist(err) {
		t.Fatalf("a missing table: %v, want the function's not-exist error", err)
	}
	if s := cache.Stats(); s.KeyErrors != before.KeyErrors+1 || s.Computations != before.Computations+1 {
		t.Fatalf("a missing table: stats %+v, want one call computed without the cache", s)
	}
}
