package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/disk"
)

// lockKey takes the cross-process lock of key (see disk.Store.Lock), in a
// shared directory, where anyone can hold it for ever, waiting no longer
// than a remote tier waits for a lease; a call a sweep marked NoWait gets
// callctx.ErrBusy instead of waiting. waited reports whether another
// process held it (onWait is called as the wait begins); err is ctx's when
// ctx ended while waiting.
func (c *Cache) lockKey(ctx context.Context, key string, onWait func()) (unlock func(), waited bool, err error) {
	if c.mode == ModeReadOnly {
		return func() {}, false, nil
	}
	var wait time.Duration
	if !c.disk.Private() {
		wait = callctx.SharedLockWait
	}
	unlock, waited, err = c.disk.Lock(ctx, key, callctx.NoWait(ctx), wait, onWait)
	switch {
	case errors.Is(err, disk.ErrHeld):
		return unlock, true, callctx.ErrBusy // a sweep comes back to it
	case errors.Is(err, disk.ErrWaitedTooLong):
		c.log.Warn("waited for another process's lock in a shared directory: computing it here", "key", key, "dir", c.dir, "waited", wait)
		return unlock, true, nil
	}
	return unlock, waited, err
}
