package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
)

// lockPoll is how often a caller waiting for another process's lock
// tries again.
const lockPoll = 5 * time.Millisecond

// lockKey takes the cross-process lock of key, which the kernel releases
// when its holder dies, so a crashed process never blocks the others. On
// Linux it is a lock on one byte of the shard's lock file xx/.locks,
// chosen by the key (an open-file-description lock, so goroutines of one
// process exclude each other as processes do), and a miss creates no
// file. Elsewhere it is a flock of the key's own lock file xx/KEY.lock,
// which the holder removes before it unlocks, so that a finished
// computation leaves only its entry; mutual exclusion holds because such
// a lock counts only while the name still names the file locked: a
// process that gets the lock of a file its holder removed meanwhile lets
// it go and locks the file now at the name.
//
// waited reports whether another process held the lock (onWait is called
// as the wait begins); err is ctx's when ctx ended while waiting. A lock
// that cannot be taken (a read-only directory, something other than a
// regular file in its place) is skipped: the worst outcome is computing
// twice.
func (c *Cache) lockKey(ctx context.Context, key string, onWait func()) (unlock func(), waited bool, err error) {
	noop := func() {}
	if c.mode == ModeReadOnly {
		return noop, false, nil
	}
	// In a shared directory, anyone can hold the lock for ever: wait no
	// longer than a remote tier waits for a lease.
	var giveUp <-chan time.Time
	if !c.disk.private {
		giveUp = time.After(callctx.SharedLockWait)
	}
	for {
		l, err := c.disk.keyLock(key)
		if err != nil {
			return noop, waited, nil
		}
		ok, err := l.try()
		if err != nil {
			l.close()
			return noop, waited, nil
		}
		if !ok {
			if callctx.NoWait(ctx) {
				l.close()
				return noop, true, callctx.ErrBusy // a sweep comes back to it
			}
			if !waited {
				onWait()
			}
			waited = true
			if ok, err = c.waitLock(ctx, l, giveUp); !ok {
				l.close()
				if err != nil {
					return noop, true, err
				}
				c.log.Warn("waited for another process's lock in a shared directory: computing it here", "key", key, "dir", c.dir, "waited", callctx.SharedLockWait)
				return noop, true, nil
			}
		}
		if l.held() {
			return l.release, waited, nil
		}
		// The holder removed the file as it finished: lock the name's file.
		l.unlockAndClose()
	}
}

// fileLocks makes keyLock take the per-key lock files of other systems on
// Linux too, for their tests.
var fileLocks = false

// A keyLock is the cross-process lock of one key, open but not yet taken.
type keyLock interface {
	try() (bool, error) // takes it without waiting, reporting whether it did
	held() bool         // whether the lock taken still counts
	release()           // removes what the lock alone needed, unlocks and closes
	unlockAndClose()    // unlocks and closes, leaving the files
	close()             // closes a lock not taken
}

// fileLock is the flock of a key's own lock file, xx/KEY.lock.
type fileLock struct {
	s   *diskStore
	key string
	f   *os.File
}

func (s *diskStore) fileLock(key string) (keyLock, error) {
	f, err := s.openLock(key)
	if err != nil {
		return nil, err
	}
	return fileLock{s, key, f}, nil
}

func (l fileLock) try() (bool, error) { return tryLock(l.f) }
func (l fileLock) held() bool         { return l.s.names(lockName(l.key), l.f) }
func (l fileLock) close()             { l.f.Close() }
func (l fileLock) unlockAndClose()    { unlockFile(l.f); l.f.Close() }
func (l fileLock) release() {
	l.s.remove(lockName(l.key))
	l.unlockAndClose()
}

// waitLock waits until l is taken (true), ctx ends (false and its error)
// or giveUp fires (false, nil).
func (c *Cache) waitLock(ctx context.Context, l keyLock, giveUp <-chan time.Time) (bool, error) {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-giveUp:
			return false, nil
		case <-t.C:
		}
		if ok, err := l.try(); ok || err != nil {
			return ok, nil // an error: skip the lock, as lockKey does
		}
	}
}

// removeFreeLock removes the lock file name, left by a holder that was
// killed, if no process holds it: it takes the lock first, as lockKey
// does, so that it never removes a lock in use.
func (s *diskStore) removeFreeLock(name string) error {
	f, err := s.openExisting(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if ok, err := tryLock(f); !ok || err != nil {
		return err
	}
	defer unlockFile(f)
	if !s.names(name, f) {
		return nil
	}
	return s.remove(name)
}

// names reports whether name is, in the store, the file f has open.
func (s *diskStore) names(name string, f *os.File) bool {
	fi, err := s.stat(name)
	if err != nil {
		return false
	}
	ffi, err := f.Stat()
	return err == nil && os.SameFile(fi, ffi)
}

// openLock opens key's lock file, making it if missing; anything other
// than a regular file in its place is refused, not opened.
func (s *diskStore) openLock(key string) (*os.File, error) {
	r, err := s.openRoot(true)
	if err != nil {
		return nil, err
	}
	if err := s.fs.MkdirAll(r, shard(key)); err != nil {
		return nil, err
	}
	return s.openLockFile(r, lockName(key), os.O_CREATE)
}

// openExisting opens the lock file name, which must exist.
func (s *diskStore) openExisting(name string) (*os.File, error) {
	r, err := s.openRoot(false)
	if err != nil {
		return nil, err
	}
	return s.openLockFile(r, name, 0)
}

// openLockFile opens name for reading and writing, with flag; anything
// other than a regular file of the store's owner is refused, not opened.
// So is a file with another name too (a hard link to a file elsewhere,
// which writing in place would change there); when flag creates the file,
// such a name is removed (the other name is left as it was) and the file
// made anew.
func (s *diskStore) openLockFile(r *os.Root, name string, flag int) (*os.File, error) {
	if fi, err := r.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, errNotRegular(name, fi.Mode())
	}
	f, err := r.OpenFile(name, flag|os.O_RDWR|syscall.O_NONBLOCK, filePerm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular(name, os.ModeIrregular)
	}
	if err == nil {
		err = s.checkOwn(name, fi)
	}
	if err == nil && links(fi) > 1 {
		f.Close()
		if flag&os.O_CREATE == 0 {
			return nil, errLinked(name)
		}
		if err := s.fs.Remove(r, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return s.openLockFile(r, name, flag|os.O_EXCL)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// errLinked refuses a file that has another name.
func errLinked(name string) error {
	return fmt.Errorf("%s has more than one name (a hard link): refusing to write through it", name)
}
