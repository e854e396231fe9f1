package disk

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testenv"
)

// keyLocks are the two ways a store locks a key: a byte of its shard's
// lock file (Linux), and a lock file of its own (elsewhere).
var keyLocks = []struct {
	name string
	open func(s *Store, key string) (KeyLock, error)
}{
	{"a byte of the shard's file", (*Store).keyLock},
	{"a file of its own", (*Store).fileLock},
}

// A key's lock excludes a second holder, whether the same process opens
// it again or another store does; locks of other keys do not; releasing
// it, or closing it, lets the next one take it.
func TestKeyLockExcludesASecondHolder(t *testing.T) {
	for _, kl := range keyLocks {
		t.Run(kl.name, func(t *testing.T) {
			dir := t.TempDir()
			s := New(dir, true, nil)
			key, other := keyIn("ab", 1), keyIn("ab", 2)
			open := func(s *Store, key string) KeyLock {
				t.Helper()
				l, err := kl.open(s, key)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			try := func(l KeyLock) bool {
				t.Helper()
				ok, err := l.Try()
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			first := open(s, key)
			if !try(first) || !first.Held() {
				t.Fatal("a free lock was not taken")
			}
			second := open(New(dir, true, nil), key)
			if try(second) {
				t.Fatal("a held lock was taken a second time")
			}
			third := open(s, other)
			if !try(third) {
				t.Error("the lock of another key in the shard was held too")
			}
			third.UnlockAndClose()
			first.Release()
			if !try(second) {
				t.Fatal("a released lock could not be taken")
			}
			second.UnlockAndClose()
			// Closing a lock releases it.
			again := open(s, key)
			if !try(again) {
				t.Fatal("an unlocked lock could not be taken")
			}
			again.Close()
			last := open(s, key)
			if !try(last) {
				t.Error("a closed lock was still held")
			}
			last.Release()
		})
	}
}

// A key's own lock file is removed by its release; one that was removed
// or replaced while it was held no longer counts.
func TestFileLockHeld(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	l, err := s.fileLock(key)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Try(); !ok || !l.Held() {
		t.Fatal("not taken")
	}
	os.Remove(s.Abs(LockName(key)))
	plant(t, dir, LockName(key), nil)
	if l.Held() {
		t.Error("a lock whose file was replaced is still held")
	}
	l.Release()
	if _, err := os.Stat(s.Abs(LockName(key))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the lock file is left after its release: %v", err)
	}
}

// RemoveFreeLock removes a lock file no one holds (left by a holder that
// was killed), and never one in use.
func TestRemoveFreeLock(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	held, err := s.fileLock(key)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := held.Try(); !ok {
		t.Fatal("not taken")
	}
	if err := s.RemoveFreeLock(LockName(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Abs(LockName(key))); err != nil {
		t.Fatalf("a lock in use was removed: %v", err)
	}
	held.UnlockAndClose()
	if err := s.RemoveFreeLock(LockName(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Abs(LockName(key))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a free lock was left: %v", err)
	}
	if err := s.RemoveFreeLock(LockName(key)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing lock: %v", err)
	}
}

// Lock files are records: anything but a regular file in their place is
// refused without being opened, and a second name of a file elsewhere is
// never written through.
func TestLockFilesAreRecords(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, true, nil)
	key := keyIn("ab", 1)
	os.MkdirAll(filepath.Join(dir, "ab"), 0o700)
	if err := syscall.Mkfifo(s.Abs(LockName(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	finishes(t, "opening a FIFO as a lock", func() {
		if _, err := s.openLock(key); err == nil {
			t.Error("a FIFO was opened as a lock file")
		}
		if err := s.RemoveFreeLock(LockName(key)); err == nil {
			t.Error("a FIFO was taken for a lock file")
		}
	})
	os.Remove(s.Abs(LockName(key)))
	if err := os.Symlink(filepath.Join(t.TempDir(), "x"), s.Abs(LockName(key))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.openLock(key); err == nil {
		t.Error("a symlink was followed to a lock file")
	}
	os.Remove(s.Abs(LockName(key)))

	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("not the cache's"), 0o600)
	if err := os.Link(outside, s.Abs(LockName(key))); err != nil {
		t.Skip("no hard links:", err)
	}
	r, err := s.OpenRoot(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.openLockFile(r, LockName(key), 0); err == nil || !strings.Contains(err.Error(), "more than one name") {
		t.Errorf("a hard link opened without O_CREATE: %v, want it refused", err)
	}
	f, err := s.openLock(key)
	if err != nil {
		t.Fatalf("a hard-linked lock file: %v, want it made anew", err)
	}
	f.WriteString("the cache's")
	f.Close()
	if b, _ := os.ReadFile(outside); string(b) != "not the cache's" {
		t.Errorf("the file outside was written through its second name: %q", b)
	}
}

// Many stores on one directory (each a process, as far as its locks go)
// lock the same keys at once, each computing and storing a key's entry
// unless it finds it stored, with holds short enough that lock files
// come and go while others open them: each key is computed once, and only
// the entries remain, whichever the locks are (on Linux, fileLocks takes
// the per-key lock files of other systems).
func TestLocksComputeOnceAsFilesComeAndGo(t *testing.T) {
	for _, kl := range keyLocks {
		t.Run(kl.name, func(t *testing.T) {
			fileLocks = kl.name == "a file of its own"
			t.Cleanup(func() { fileLocks = false })
			dir := t.TempDir()
			const callers, keys = 8, 40
			var computed [keys]atomic.Int32
			data := encode(t, []byte("x"), nil)
			var wg sync.WaitGroup
			for range callers {
				s := New(dir, true, nil)
				wg.Go(func() {
					for k := range keys {
						key := keyIn(HexByte(k%4*64), k)
						unlock, _, err := s.Lock(context.Background(), key, false, 0, func() {})
						if err != nil {
							t.Error(err)
							return
						}
						if _, err := s.Stat(EntryName(key)); err != nil {
							computed[k].Add(1)
							time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
							if _, _, err := s.WriteEntry(key, WriteParts([][]byte{data})); err != nil {
								t.Error(err)
							}
						}
						unlock()
					}
				})
			}
			wg.Wait()
			for k := range keys {
				if n := computed[k].Load(); n != 1 {
					t.Errorf("key %d computed %d times, want once", k, n)
				}
			}
			files := 0
			New(dir, true, nil).Walk(context.Background(), func(name string, kind FileKind) error {
				files++
				if kind != KindEntry {
					t.Errorf("file left: %s", name)
				}
				return nil
			})
			if files != keys {
				t.Errorf("%d files for %d entries", files, keys)
			}
		})
	}
}

const lockChildVar = "CACHEGEN_DISK_LOCK_CHILD"

// A key's lock excludes another process, and the kernel releases it when
// its holder dies: a crashed process never blocks the others.
func TestKeyLockAcrossProcesses(t *testing.T) {
	if role := os.Getenv(lockChildVar); role != "" {
		lockChild(role)
		return
	}
	for _, kl := range keyLocks {
		t.Run(kl.name, func(t *testing.T) {
			dir := t.TempDir()
			key := keyIn("ab", 1)
			which := "key"
			if kl.name == "a file of its own" {
				which = "file"
			}
			cmd := testenv.Child("TestKeyLockAcrossProcesses", lockChildVar, which, dir, key)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "held\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the child said %q, %v", line, err)
			}
			l, err := kl.open(New(dir, true, nil), key)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if ok, err := l.Try(); ok || err != nil {
				t.Fatalf("a lock another process holds was taken: %v, %v", ok, err)
			}
			cmd.Process.Kill() // dies holding it
			cmd.Wait()
			if ok, err := l.Try(); !ok || err != nil {
				t.Errorf("the lock of a process that died is still held: %v, %v", ok, err)
			}
		})
	}
}

// lockChild takes the lock its role names and holds it until its input
// ends.
func lockChild(role string) {
	f := strings.Fields(role)
	s := New(f[1], true, nil)
	open := s.keyLock
	if f[0] == "file" {
		open = s.fileLock
	}
	l, err := open(f[2])
	if err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if ok, err := l.Try(); !ok || err != nil {
		os.Stdout.WriteString("not taken\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("held\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
