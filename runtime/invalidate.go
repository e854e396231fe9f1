package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
)

// touchInterval is how stale an entry's modification time may get before
// a hit refreshes it; it bounds the precision of least-recently-used order.
const touchInterval = time.Hour

// Invalidate removes the entry of call, reporting whether there was one.
func (c *Cache) Invalidate(ctx context.Context, call Call) (bool, error) {
	id, err := call.identity(c.files)
	if err != nil {
		return false, err
	}
	return c.Remove(ctx, id.key)
}

// Remove removes the entry of key (see Call.Key, and the generated
// XxxCacheKey), from the remote tier too unless it is read-only or its
// entries are signed with a key this cache does not hold (see
// WithSigningKey), reporting whether there was one. Package maintain
// removes entries as a person managing a cache does.
func (c *Cache) Remove(ctx context.Context, key string) (bool, error) {
	if !entry.ValidKey(key) {
		return false, fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	if err := c.writable(); err != nil {
		return false, err
	}
	err := c.disk.RemoveEntry(disk.EntryName(key))
	found := err == nil
	c.dropPending(key)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if r := c.remote; r != nil && !r.Options().ReadOnly {
		ctx, cancel := context.WithTimeout(ctx, r.Options().Timeout)
		defer cancel()
		_, write, rerr := c.remoteUse(ctx)
		if write && rerr == nil && c.signKey == nil {
			write, rerr = c.remote.MayReplace(ctx, key)
		}
		if rerr != nil || !write {
			return found, errors.Join(err, rerr)
		}
		rerr = r.Store().Delete(ctx, key)
		found = found || rerr == nil
		if errors.Is(rerr, fs.ErrNotExist) {
			rerr = nil
		}
		err = errors.Join(err, rerr)
	}
	return found, err
}

func (c *Cache) writable() error {
	switch c.mode {
	case ModeReadOnly:
		return ErrReadOnly
	case ModeOff:
		return errors.New("cache is off: nothing to remove")
	}
	return nil
}
