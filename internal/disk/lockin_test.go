//go:build unix

package disk

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// OpenLockIn opens a record one level below the store's directory, making
// the directory and the file, and refuses what a record must not be: a
// FIFO is refused without waiting on it, a symlink is not followed, and a
// second name of a file elsewhere is replaced, never written through.
func TestOpenLockInRefusesWhatIsNotARecord(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	f, err := s.OpenLockIn("ab/.usage", 0)
	if err != nil {
		t.Fatalf("a record in a missing shard: %v", err)
	}
	f.Close()
	if fi, err := os.Lstat(filepath.Join(dir, "ab", ".usage")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the record was not made: %v, %v", fi, err)
	}

	if err := syscall.Mkfifo(filepath.Join(dir, "ab", "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := s.OpenLockIn("ab/fifo", 0); err == nil {
		f.Close()
		t.Error("a FIFO was opened as a record")
	}

	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("not the cache's"), 0o600)
	if err := os.Symlink(outside, filepath.Join(dir, "ab", "link")); err != nil {
		t.Fatal(err)
	}
	if f, err := s.OpenLockIn("ab/link", 0); err == nil {
		f.Close()
		t.Error("a symlink was followed")
	}

	if err := os.Link(outside, filepath.Join(dir, "ab", "hard")); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	f, err = s.OpenLockIn("ab/hard", os.O_APPEND)
	if err != nil {
		t.Fatalf("a hard-linked record: %v, want it made anew", err)
	}
	f.WriteString("the cache's")
	f.Close()
	if b, _ := os.ReadFile(outside); string(b) != "not the cache's" {
		t.Errorf("the file outside was written through its second name: %q", b)
	}
}

// A directory removed while the store holds it open (a Clear, or a person
// with rm) is made again by the next record opened in it, not left to
// fail every later open.
func TestOpenLockInAfterTheDirectoryIsRemoved(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	for i := range 3 {
		f, err := s.OpenLockIn("recent/0123456789abcdef", os.O_APPEND)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		f.WriteString("a line\n")
		f.Close()
		if b, err := os.ReadFile(filepath.Join(dir, "recent", "0123456789abcdef")); err != nil || string(b) != "a line\n" {
			t.Fatalf("open %d wrote %q, %v", i, b, err)
		}
		if err := os.RemoveAll(filepath.Join(dir, "recent")); err != nil {
			t.Fatal(err)
		}
	}
}

// A cache directory made anew by another user, after the store first
// opened it, is refused when the store opens it again, on the path that
// opens names relative to it as on the root's.
func TestDirectoryMadeAnewByAnotherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	s := New(dir, true, nil)
	f, err := s.OpenLockIn("ab/.usage", 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.RemoveAll(dir)
	os.Mkdir(dir, 0o700)
	if err := os.Lchown(dir, 65534, 65534); err != nil {
		t.Skip(err)
	}
	s.fds.reset() // as when a shard held is found removed
	if f, err := s.OpenLockIn("ab/.usage", 0); !errors.Is(err, ErrNotPrivate) {
		if f != nil {
			f.Close()
		}
		t.Errorf("opening a record in another user's directory: %v, want it refused", err)
	}
}
