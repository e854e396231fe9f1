package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// fileLocks makes keyLock take the per-key lock files of other systems on
// Linux too, for this package's tests of them.
var fileLocks = false

// A KeyLock is the cross-process lock of one key, open but not yet taken.
type KeyLock interface {
	Try() (bool, error) // takes it without waiting, reporting whether it did
	Held() bool         // whether the lock taken still counts
	Release()           // removes what the lock alone needed, unlocks and closes
	UnlockAndClose()    // unlocks and closes, leaving the files
	Close()             // closes a lock not taken
}

// fileLock is the flock of a key's own lock file, xx/KEY.lock.
type fileLock struct {
	s   *Store
	key string
	f   *os.File
}

func (s *Store) fileLock(key string) (KeyLock, error) {
	f, err := s.openLock(key)
	if err != nil {
		return nil, err
	}
	return fileLock{s, key, f}, nil
}

func (l fileLock) Try() (bool, error) { return TryLock(l.f) }
func (l fileLock) Held() bool         { return l.s.names(LockName(l.key), l.f) }
func (l fileLock) Close()             { l.f.Close() }
func (l fileLock) UnlockAndClose()    { unlockFile(l.f); l.f.Close() }
func (l fileLock) Release() {
	l.s.Remove(LockName(l.key))
	l.UnlockAndClose()
}

// RemoveFreeLock removes the lock file name, left by a holder that was
// killed, if no process holds it: it takes the lock first, as a call
// about to compute does, so that it never removes a lock in use.
func (s *Store) RemoveFreeLock(name string) error {
	f, err := s.openExisting(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if ok, err := TryLock(f); !ok || err != nil {
		return err
	}
	defer unlockFile(f)
	if !s.names(name, f) {
		return nil
	}
	return s.Remove(name)
}

// names reports whether name is, in the store, the file f has open.
func (s *Store) names(name string, f *os.File) bool {
	fi, err := s.Stat(name)
	if err != nil {
		return false
	}
	ffi, err := f.Stat()
	return err == nil && os.SameFile(fi, ffi)
}

// openLock opens key's lock file, making it if missing; anything other
// than a regular file in its place is refused, not opened.
func (s *Store) openLock(key string) (*os.File, error) {
	r, err := s.OpenRoot(true)
	if err != nil {
		return nil, err
	}
	if err := s.fs.MkdirAll(r, ShardOf(key)); err != nil {
		return nil, err
	}
	return s.openLockFile(r, LockName(key), os.O_CREATE)
}

// openExisting opens the lock file name, which must exist.
func (s *Store) openExisting(name string) (*os.File, error) {
	r, err := s.OpenRoot(false)
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
func (s *Store) openLockFile(r *os.Root, name string, flag int) (*os.File, error) {
	if fi, err := r.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, errNotRegular(name, fi.Mode())
	}
	f, err := r.OpenFile(name, flag|os.O_RDWR|syscall.O_NONBLOCK, FilePerm)
	if err != nil {
		return nil, err
	}
	linked, err := s.checkRecord(f, name)
	switch {
	case err != nil:
		return nil, err
	case linked && (flag&os.O_CREATE == 0 || flag&os.O_EXCL != 0):
		return nil, errLinked(name)
	case linked:
		if err := s.fs.Remove(r, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return s.openLockFile(r, name, flag|os.O_EXCL)
	}
	return f, nil
}

// checkRecord checks f, the record name just opened: a regular file of
// the store's owner, else it is closed and refused. linked reports that
// the file has another name too; f is then closed, for the caller to
// refuse the name, or to remove it and make the file anew.
func (s *Store) checkRecord(f *os.File, name string) (linked bool, err error) {
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular(name, os.ModeIrregular)
	}
	if err == nil {
		err = s.checkOwn(name, fi)
	}
	if err == nil {
		linked = links(fi) > 1
	}
	if err != nil || linked {
		f.Close()
	}
	return linked, err
}

// errLinked refuses a file that has another name.
func errLinked(name string) error {
	return fmt.Errorf("%s has more than one name (a hard link): refusing to write through it", name)
}

// lockPoll is how often a caller waiting for another process's lock
// tries again.
const lockPoll = 5 * time.Millisecond

// ErrHeld is returned by Lock, without waiting, when another holds the lock.
var ErrHeld = errors.New("another process holds the lock")

// ErrWaitedTooLong is returned by Lock when another held the lock longer
// than it was to wait.
var ErrWaitedTooLong = errors.New("another process held the lock too long")

// Lock takes the cross-process lock of key, which the kernel releases
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
// When another holds the lock, Lock returns ErrHeld at once with noWait;
// else it calls onWait and waits, until ctx ends (its error) or, when
// wait is positive, for at most wait (ErrWaitedTooLong). waited reports
// whether another held it. A lock that cannot be taken (a read-only
// directory, something other than a regular file in its place) is
// skipped, as if taken: the worst outcome is computing twice. unlock is
// never nil.
func (s *Store) Lock(ctx context.Context, key string, noWait bool, wait time.Duration, onWait func()) (unlock func(), waited bool, err error) {
	noop := func() {}
	var giveUp <-chan time.Time
	if wait > 0 {
		giveUp = time.After(wait)
	}
	for {
		l, err := s.keyLock(key)
		if err != nil {
			return noop, waited, nil
		}
		ok, err := l.Try()
		if err != nil {
			l.Close()
			return noop, waited, nil
		}
		if !ok {
			if noWait {
				l.Close()
				return noop, true, ErrHeld
			}
			if !waited {
				onWait()
			}
			waited = true
			if ok, err = waitLock(ctx, l, giveUp); !ok {
				l.Close()
				return noop, true, err
			}
		}
		if l.Held() {
			return l.Release, waited, nil
		}
		// The holder removed the file as it finished: lock the name's file.
		l.UnlockAndClose()
	}
}

// waitLock waits until l is taken (true), ctx ends (false and its error)
// or giveUp fires (false, ErrWaitedTooLong); false and no error when l
// cannot be taken at all.
func waitLock(ctx context.Context, l KeyLock, giveUp <-chan time.Time) (bool, error) {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-giveUp:
			return false, ErrWaitedTooLong
		case <-t.C:
		}
		if ok, err := l.Try(); ok || err != nil {
			return ok, nil // an error: skip the lock, as Lock does
		}
	}
}
