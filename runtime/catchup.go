package runtime

import (
	"context"
	"errors"
	"sync"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
)

// Catching up with the remote tier. A result stored while the remote
// could not take it (down, its breaker open, no time left) is kept in the
// local tier and named by an empty file pending/KEY. The next local hit of
// that entry, in any process, copies it to the remote in the background,
// unless the remote holds an entry of the key by then: it never replaces
// one (remote.Tier.Create). cachectl push (maintain.Tier.Push) copies
// every entry the remote lacks.
// Only a private directory keeps pending records: in one others can
// write to, a record could make it copy an entry planted there.

// catchup is a cache's pending entries, as it knows them.
type catchup struct {
	load    sync.Once
	mu      sync.Mutex
	keys    map[string]bool // pending: those recorded when the cache first looked, and noted since
	queue   []string        // hit, to copy
	copying bool            // a goroutine copies the queue
}

// usesPending reports whether c keeps pending records.
func (c *Cache) usesPending() bool {
	return c.remote != nil && !c.remote.Options().ReadOnly && c.disk.Private() && c.mode != ModeOff && c.mode != ModeReadOnly
}

// notePending records that the entry of key, stored locally, is not in
// the remote tier.
func (c *Cache) notePending(key string) {
	if !c.usesPending() {
		return
	}
	c.loadPending()
	if c.disk.Replace(disk.PendingName(key), key) == nil {
		c.catch.mu.Lock()
		c.catch.keys[key] = true
		c.catch.mu.Unlock()
	}
}

// loadPending reads the pending records once.
func (c *Cache) loadPending() {
	c.catch.load.Do(func() {
		c.catch.keys = map[string]bool{}
		for _, k := range c.disk.PendingKeys() {
			c.catch.keys[k] = true
		}
	})
}

// dropPending forgets the pending record of key, whose entry is removed.
func (c *Cache) dropPending(key string) {
	if c.remote == nil {
		return
	}
	c.loadPending()
	c.catch.mu.Lock()
	delete(c.catch.keys, key)
	c.catch.mu.Unlock()
	c.disk.Remove(disk.PendingName(key))
}

// catchUp copies the entry of key, just hit locally, to the remote tier
// in the background, if it is pending.
func (c *Cache) catchUp(key string) {
	if !c.usesPending() {
		return
	}
	c.loadPending()
	c.catch.mu.Lock()
	defer c.catch.mu.Unlock()
	if !c.catch.keys[key] {
		return
	}
	delete(c.catch.keys, key) // queued: a failure puts it back
	c.catch.queue = append(c.catch.queue, key)
	if !c.catch.copying {
		c.catch.copying = true
		go c.copyPending()
	}
}

// copyPending copies the queued entries until none is left.
func (c *Cache) copyPending() {
	for {
		c.catch.mu.Lock()
		if len(c.catch.queue) == 0 {
			c.catch.copying = false
			c.catch.mu.Unlock()
			return
		}
		key := c.catch.queue[0]
		c.catch.queue = c.catch.queue[1:]
		c.catch.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.remote.Options().Timeout)
		_, err := c.push(ctx, key)
		cancel()
		switch {
		case err == nil || errors.Is(err, errNotToPush):
			c.disk.Remove(disk.PendingName(key))
		default: // the remote failed: the next hit tries again
			c.catch.mu.Lock()
			c.catch.keys[key] = true
			c.catch.mu.Unlock()
		}
	}
}

// errNotToPush is wrapped by push's errors about the local entry: it is
// gone, fails its checks, or the remote is not the cache's to write to.
var errNotToPush = errors.New("not copied to the remote")

// push copies the local entry of key to the remote tier unless the remote
// holds one of the key, and reports whether it did. The entry is checked
// as a load checks it first.
func (c *Cache) push(ctx context.Context, key string) (bool, error) {
	data, _, payCRC, err := c.disk.ReadEntry(disk.EntryName(key))
	if err == nil {
		err = entry.Check(key, data, payCRC, c.signKey)
	}
	if err != nil {
		return false, errors.Join(errNotToPush, err)
	}
	_, write, err := c.remoteUse(ctx)
	if err != nil {
		return false, err
	}
	if !write {
		return false, errNotToPush
	}
	return c.remote.Create(ctx, key, data)
}
