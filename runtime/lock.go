package runtime

import (
	"context"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often a caller waiting for another process's lock
// tries again.
const lockPoll = 5 * time.Millisecond

// sharedLockWait bounds a wait for a lock in a shared directory: four
// lease times, as a remote tier's MaxWait. In a private directory the lock
// is the user's own, and a caller waits as long as its context allows.
var sharedLockWait = 2 * time.Minute

// lockKey takes the cross-process lock of key: the lock file xx/KEY.lock,
// locked with flock, which the kernel releases when its holder dies, so a
// crashed process never blocks the others. waited reports whether another
// process held it (onWait is called as the wait begins); err is ctx's
// when ctx ended while waiting. A lock that
// cannot be taken (a read-only directory, something other than a regular
// file in its place) is skipped: the worst outcome is computing twice.
func (c *Cache) lockKey(ctx context.Context, key string, onWait func()) (unlock func(), waited bool, err error) {
	noop := func() {}
	if c.mode == ModeReadOnly {
		return noop, false, nil
	}
	f, err := c.disk.openLock(key)
	if err != nil {
		return noop, false, nil
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return noop, false, nil
	}
	if !ok {
		waited = true
		onWait()
		t := time.NewTicker(lockPoll)
		defer t.Stop()
		// In a shared directory, anyone can hold the lock for ever: wait
		// no longer than a remote tier waits for a lease.
		var giveUp <-chan time.Time
		if !c.disk.private {
			giveUp = time.After(sharedLockWait)
		}
		for !ok {
			select {
			case <-ctx.Done():
				f.Close()
				return noop, true, ctx.Err()
			case <-giveUp:
				f.Close()
				c.log.Warn("waited for another process's lock in a shared directory: computing it here", "key", key, "dir", c.dir, "waited", sharedLockWait)
				return noop, true, nil
			case <-t.C:
			}
			if ok, err = tryLock(f); err != nil {
				f.Close()
				return noop, true, nil
			}
		}
	}
	return func() { unlockFile(f); f.Close() }, waited, nil
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
	name := lockName(key)
	if fi, err := r.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, errNotRegular(name, fi.Mode())
	}
	f, err := r.OpenFile(name, os.O_CREATE|os.O_RDWR|syscall.O_NONBLOCK, filePerm)
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
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
