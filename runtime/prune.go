package runtime

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/units"
)

// shardCleanMin is the number of entries from which a shard over its
// share of the size limit is cleaned on its own; a shard with fewer (a
// cache of fewer than about 4,000 entries, or of entries large for the
// limit) has the whole cache trimmed instead, which such a cache can
// afford, least recently used first across all its entries.
var shardCleanMin int64 = 16

// trim enforces the cache's size limit after a store, or the first hit,
// in the shard of keep, whose usage is u (when counted). A shard holds
// 1/256 of the entries, keys being hashes, and is allowed 1/256 of the
// limit: a shard over its share is cleaned, least recently used first, to
// three quarters of its share, never removing keep, the entry just
// written or loaded. So no store walks more than its own shard. In a
// small cache (see shardCleanMin), the whole cache is trimmed instead
// (trimWhole).
func (c *Cache) trim(n int64, keep string, u disk.Usage, counted bool) {
	if c.maxBytes <= 0 || c.mode == ModeReadOnly || !counted {
		return
	}
	share := c.maxBytes / 256
	if u.Bytes <= share {
		return
	}
	if u.Entries < shardCleanMin {
		c.trimWhole((n+4095)&^4095, keep)
		return
	}
	removed, after, err := c.disk.CleanShard(disk.ShardOf(keep), share*3/4, keep)
	if err != nil {
		c.log.Warn("could not trim the cache to its size limit", "dir", c.dir, "limit", c.maxBytes, "err", err)
		return
	}
	var freed int64
	for _, f := range removed {
		freed += f.Disk
	}
	c.logTrim(fmt.Sprintf("[TRIM] removed %s of shard %s, the least recently used, to keep it within its share of the size limit",
		units.Count(len(removed), "entry", "entries"), disk.ShardOf(keep)),
		"removed", len(removed), "bytes", freed, "shard_after", after.Bytes, "share", share, "limit", c.maxBytes)
}

// trimOnHit checks, at a process's first hit, the shard of key: a cache
// over its limit is trimmed by processes that only hit, too.
func (c *Cache) trimOnHit(key string) {
	if c.maxBytes <= 0 || c.mode == ModeReadOnly || c.trimmed.Swap(true) {
		return
	}
	u, err := c.disk.ReadUsage(disk.ShardOf(key), true)
	c.trim(0, key, u, err == nil)
}

func (c *Cache) logTrim(msg string, args ...any) {
	level := slog.LevelDebug
	if c.verbose {
		level = slog.LevelInfo
	}
	c.log.Log(context.Background(), level, msg, args...)
}

// trimWhole enforces the size limit of a small cache, amortised. It walks
// the whole directory at a process's first store or first hit, and then
// only once the last walk's headroom (what the limit left free, at most a
// quarter of it) has been written (n is what a store just wrote; 0 for a
// hit); when the cache is over its limit, and only then, it removes the
// least recently used entries until three quarters of the limit remain,
// never the entry of keep, which was just written or loaded.
func (c *Cache) trimWhole(n int64, keep string) {
	if n > 0 && c.sinceTrim.Add(n) < c.maxBytes/4 {
		return
	}
	if !c.trimming.TryLock() {
		return // another goroutine is trimming
	}
	defer c.trimming.Unlock()
	c.sinceTrim.Store(0)
	c.trimmed.Store(true)
	target := c.maxBytes * 3 / 4
	// What killed writers left, and the memo's old records, go too: what
	// the limit does not count would otherwise grow without one.
	c.disk.PruneMemo(c.now().Add(-keying.MemoMaxAge))
	c.disk.RemoveLeftovers(context.Background(), c.now(), false)
	removed, before, err := c.disk.Trim(context.Background(), c.maxBytes, target, keep)
	if err != nil {
		c.log.Warn("could not trim the cache to its size limit", "dir", c.dir, "limit", c.maxBytes, "err", err)
	}
	var freed int64
	for _, f := range removed {
		freed += f.Disk
	}
	// Walk again once what the limit leaves free has been written, so
	// that this process never takes the cache over its limit by more than
	// one store.
	if headroom := c.maxBytes - (before - freed); err == nil && headroom < c.maxBytes/4 {
		c.sinceTrim.Add(c.maxBytes/4 - max(headroom, 0))
	}
	if len(removed) == 0 {
		return
	}
	c.logTrim(fmt.Sprintf("[TRIM] removed %s, the least recently used, to bring the cache under its size limit",
		units.Count(len(removed), "entry", "entries")),
		"removed", len(removed), "bytes", freed, "before", before, "after", before-freed, "limit", c.maxBytes, "target", target)
}
