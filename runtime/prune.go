package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/units"
)

// tempMaxAge is how old a temporary file must be before trimming or Verify
// removes it: a writer still working on it is long done by then.
const tempMaxAge = 10 * time.Minute

// PruneOptions says which entries Prune removes. Entries go least recently
// used first.
type PruneOptions struct {
	MaxBytes  int64         // when positive, remove entries until the total is at most this
	OlderThan time.Duration // when positive, remove entries computed longer ago than this
	UnusedFor time.Duration // when positive, remove entries not used for this long
	// OldVersions removes the entries of old versions: those of a function
	// that has entries of a higher version (see Entry.OldVersion).
	OldVersions bool
	// Dead removes the entries no call of the current code can be served:
	// those of old versions, and, of the functions whose code Current
	// knows, those of other code (see Entry.Dead).
	Dead bool
	// Current returns the code a function runs now, by qualified name
	// (see MarkOtherCode); it is asked as the entries are walked, once for
	// each function.
	Current func(fn string) (CurrentCode, bool)
	// Match, when not nil, limits the prune to the entries of the
	// functions it accepts, by qualified name: the others are kept.
	Match  func(fn string) bool
	DryRun bool // report what would be removed, and remove nothing

	keep    string // a key never removed: the entry a trim was started for
	trigger int64  // when positive, MaxBytes applies only to a total over it
}

// Prune removes the entries that o selects, temporary files that killed
// writers left, and lock files that no computation holds, and returns the
// entries removed (or, with DryRun, that would be), least recently used
// first. Entries that fail their
// checks count as least recently used of all. A reader loading an entry
// that Prune removes gets either the whole entry or a clean miss.
func (c *Cache) Prune(ctx context.Context, o PruneOptions) ([]Entry, error) {
	removed, _, err := c.prune(ctx, o)
	return removed, err
}

// prune is Prune, also returning the bytes of entries there were.
func (c *Cache) prune(ctx context.Context, o PruneOptions) ([]Entry, int64, error) {
	if err := c.writable(); err != nil && !o.DryRun {
		return nil, 0, err
	}
	now := c.now()
	var all []Entry
	names := map[string]string{}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind == disk.KindOdd {
			return nil
		}
		if kind != disk.KindEntry {
			// Lock files that killed holders left, and temporary files
			// and leases of killed writers.
			switch {
			case o.DryRun:
			case strings.HasSuffix(name, disk.LockSuffix):
				c.disk.RemoveFreeLock(name)
			default:
				if fi, err := c.disk.Stat(name); err == nil && now.Sub(fi.ModTime()) > tempMaxAge {
					c.disk.Remove(name)
				}
			}
			return nil
		}
		h, m, fi, err := c.disk.ReadMeta(name)
		var e Entry
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil && fi != nil:
			e = Entry{Key: strings.TrimSuffix(path.Base(name), disk.EntrySuffix), Size: disk.Allocated(fi)} // corrupt: LastUsed zero, first to go
		case err != nil:
			return nil
		default:
			e = entryFromFile(h, m, fi, now)
		}
		names[e.Key] = name
		all = append(all, e)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if o.DryRun {
		return pruneEntries(all, o, now, func(string) error { return nil })
	}
	c.disk.PruneMemo(now.Add(-keying.MemoMaxAge))
	// Each removal is taken from its shard's usage record, under its lock,
	// so that stores made meanwhile by other processes are kept in it.
	return pruneEntries(all, o, now, func(key string) error {
		err := c.disk.RemoveEntry(names[key])
		if err == nil {
			c.disk.Remove(path.Join(pendingDir, key)) // nothing left to copy to a remote
		}
		return err
	})
}

// pruneEntries removes, with remove, the entries of all that o selects,
// least recently used first, and returns those it removed: not those that
// another process removed first.
func pruneEntries(all []Entry, o PruneOptions, now time.Time, remove func(key string) error) ([]Entry, int64, error) {
	var before int64
	for _, e := range all {
		before += e.Size
	}
	markOldVersions(all)
	MarkOtherCode(all, o.Current)
	slices.SortStableFunc(all, func(a, b Entry) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), a.ComputedAt.Compare(b.ComputedAt), strings.Compare(a.Key, b.Key))
	})
	total := before
	if o.trigger > 0 && before <= o.trigger {
		o.MaxBytes = 0 // under the limit: nothing to trim
	}
	var removed []Entry
	for _, e := range all {
		drop := o.MaxBytes > 0 && total > o.MaxBytes ||
			o.OlderThan > 0 && now.Sub(e.ComputedAt) > o.OlderThan ||
			o.UnusedFor > 0 && now.Sub(e.LastUsed) > o.UnusedFor ||
			o.OldVersions && e.OldVersion ||
			o.Dead && e.Dead()
		if !drop || e.Key == o.keep || o.Match != nil && !o.Match(e.Func) {
			continue
		}
		total -= e.Size
		if !o.DryRun {
			if err := remove(e.Key); errors.Is(err, fs.ErrNotExist) {
				continue // gone already: not this prune's doing
			} else if err != nil {
				return removed, before, err
			}
		}
		removed = append(removed, e)
	}
	return removed, before, nil
}

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
	removed, before, err := c.prune(context.Background(), PruneOptions{MaxBytes: target, trigger: c.maxBytes, keep: keep})
	if err != nil {
		c.log.Warn("could not trim the cache to its size limit", "dir", c.dir, "limit", c.maxBytes, "err", err)
	}
	var freed int64
	for _, e := range removed {
		freed += e.Size
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
