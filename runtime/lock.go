package runtime

import (
	"context"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/disk"
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
	if !c.disk.Private() {
		giveUp = time.After(callctx.SharedLockWait)
	}
	for {
		l, err := c.disk.KeyLock(key)
		if err != nil {
			return noop, waited, nil
		}
		ok, err := l.Try()
		if err != nil {
			l.Close()
			return noop, waited, nil
		}
		if !ok {
			if callctx.NoWait(ctx) {
				l.Close()
				return noop, true, callctx.ErrBusy // a sweep comes back to it
			}
			if !waited {
				onWait()
			}
			waited = true
			if ok, err = c.waitLock(ctx, l, giveUp); !ok {
				l.Close()
				if err != nil {
					return noop, true, err
				}
				c.log.Warn("waited for another process's lock in a shared directory: computing it here", "key", key, "dir", c.dir, "waited", callctx.SharedLockWait)
				return noop, true, nil
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
// or giveUp fires (false, nil).
func (c *Cache) waitLock(ctx context.Context, l disk.KeyLock, giveUp <-chan time.Time) (bool, error) {
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
		if ok, err := l.Try(); ok || err != nil {
			return ok, nil // an error: skip the lock, as lockKey does
		}
	}
}
