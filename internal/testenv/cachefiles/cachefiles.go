// Package cachefiles plants what an attacker would leave in a cache
// directory, and measures what its entries occupy, for the tests of what
// reads one.
package cachefiles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
)

// PlantSparse makes path a sparse file of size bytes starting with head,
// or skips t where the filesystem cannot hold one.
func PlantSparse(t testing.TB, path string, head []byte, size int64) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Skipf("this filesystem cannot hold a sparse file of %d bytes: %v", size, err)
	}
}

// Outside makes a directory beside the cache holding a valid entry for
// key, laid out as a cache's, with its lock and lease files, all two days
// old, and returns it with a function that fails the test if anything in
// it changed.
func Outside(t testing.TB, key string, entry []byte) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, key[:2]), 0o700)
	files := map[string][]byte{
		filepath.Join(dir, key[:2], key+disk.EntrySuffix): entry,
		filepath.Join(dir, key[:2], key+disk.LockSuffix):  nil,
		filepath.Join(dir, key[:2], key+disk.LeaseSuffix): []byte("x 1"),
		filepath.Join(dir, key+disk.EntrySuffix):          entry,
	}
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for p, b := range files {
		os.WriteFile(p, b, 0o600)
		os.Chtimes(p, old, old)
	}
	return dir, func() {
		t.Helper()
		for p, b := range files {
			got, err := os.ReadFile(p)
			fi, serr := os.Stat(p)
			if err != nil || serr != nil || !bytes.Equal(got, b) || !fi.ModTime().Equal(old) {
				t.Errorf("%s outside the cache was changed or removed (%v)", p, err)
			}
		}
		if entries, _ := os.ReadDir(filepath.Join(dir, key[:2])); len(entries) != 3 {
			t.Errorf("files were added outside the cache: %v", entries)
		}
	}
}

// MetaBomb returns the key and bytes of an entry whose metadata lists two
// million inputs: 12 MiB that, decoded without limits, would take
// hundreds of MiB.
func MetaBomb(t testing.TB) (string, []byte) {
	t.Helper()
	sum := [32]byte{0xab, 1, 2, 3}
	h := entry.Header{ComputedAt: time.Now().UnixNano(), Sum: sum}
	payload, err := entry.EncodeResult(1)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := entry.Encode(h, entry.Meta{Func: "example.com/sim.F", Inputs: make([]entry.Input, 2<<20)}, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sum[:8]), bytes.Join(parts, nil)
}

// Occupied counts the entry files under dir and what they occupy, with
// the system's own figure for each: st_blocks of 512 bytes.
func Occupied(t testing.TB, dir string) (bytes, entries int64) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, disk.EntrySuffix) {
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			bytes += st.Blocks * 512
			entries++
		}
		return nil
	})
	return bytes, entries
}
