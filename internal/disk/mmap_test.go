//go:build linux

package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachegen/cachegen/internal/entry"
)

// A process maps at most its budget of entries; past it, an entry is
// read, whole and checked as any other, and unmapping gives the budget
// back.
func TestMappingsAreBudgeted(t *testing.T) {
	dir := t.TempDir()
	if !Local(dir) {
		t.Skip("the test directory is on no local file system: nothing is mapped there")
	}
	defer func(n int) { maxMappings = n }(maxMappings)
	mappedSoFar.Lock()
	maxMappings = mappedSoFar.n + 2
	mappedSoFar.Unlock()
	s := New(dir, true, nil)
	payload := bytes.Repeat([]byte{7}, 2<<20)
	parts, err := entry.Encode(entry.Header{}, entry.Meta{}, [][]byte{payload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "ab"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, "ab", "e"), bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	var maps [][]byte
	for i := range 3 {
		data, _, _, mapped, err := s.ReadOrMapEntry("ab/e", 1<<20)
		if err != nil || !bytes.Contains(data, payload[:4096]) {
			t.Fatalf("read %d: %v", i, err)
		}
		if want := i < 2; mapped != want {
			t.Fatalf("read %d mapped=%v, want %v: the budget is two", i, mapped, want)
		}
		if mapped {
			maps = append(maps, data)
		}
	}
	Unmap(maps[0])
	if _, _, _, mapped, _ := s.ReadOrMapEntry("ab/e", 1<<20); !mapped {
		t.Error("an entry was read after a mapping was removed: want the budget given back")
	}
}
