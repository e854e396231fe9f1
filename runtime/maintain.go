package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/explain"
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

// Remove removes the entry of key, from the remote tier too unless it is
// read-only or its entries are signed with a key this cache does not
// hold (see WithSigningKey), reporting whether there was one.
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
			write, rerr = c.mayReplace(ctx, key)
		}
		if rerr != nil || !write {
			return found, errors.Join(err, rerr)
		}
		ok, rerr := SharedEntries(r, c.signKey).Remove(ctx, key)
		found = found || ok
		err = errors.Join(err, rerr)
	}
	return found, err
}

// Clear removes every entry, every lock file no computation holds, any
// temporary file a killed writer left, and anything named like one of
// them that is not a regular file. Other files in the directory are left alone, and nothing outside
// it is touched.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.writable(); err != nil {
		return err
	}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		remove := c.disk.Remove
		if kind == disk.KindLock && strings.HasSuffix(name, disk.LockSuffix) {
			remove = c.disk.RemoveFreeLock // a computation's: it removes it
		}
		if err := remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range 256 {
		c.disk.Remove(disk.UsagePath(disk.HexByte(i))) // an empty shard counts itself
	}
	if r, err := c.disk.OpenRoot(false); err == nil {
		r.RemoveAll("recent")   // the records of the entries removed, which explain misses
		r.RemoveAll(pendingDir) // and of those the remote tier lacks
		c.loadPending()
		c.catch.mu.Lock()
		clear(c.catch.keys)
		c.catch.mu.Unlock()
	}
	return c.disk.ClearMemo()
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

// List returns the metadata of every valid entry, newest first. Entries
// that fail their checks are left out. With a signing key, each entry is
// read whole, and one that the key does not verify is marked
// BadSignature.
func (c *Cache) List(ctx context.Context) ([]Entry, error) {
	if c.mode == ModeOff {
		return nil, nil
	}
	var out []Entry
	now := c.now()
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			return nil
		}
		h, m, fi, err := c.disk.ReadMeta(name)
		if err != nil {
			return nil // removed meanwhile, or corrupt: not an entry
		}
		e := entryFromFile(h, m, fi, now)
		if c.signKey != nil {
			data, _, _, err := c.disk.ReadEntry(name)
			e.BadSignature = errors.Is(err, entry.ErrBadSignature) || err == nil && entry.CheckMAC(c.signKey, h.Sum, h, data) != nil
		}
		out = append(out, e)
		return nil
	})
	markOldVersions(out)
	slices.SortStableFunc(out, func(a, b Entry) int { return b.ComputedAt.Compare(a.ComputedAt) })
	return out, err
}

// Why explains why the entry of key was computed: what kept each entry of
// its function computed before it, that the cache holds or its record of
// the function's latest entries remembers, from serving its call (see the
// reasons of Do's verbose misses). It walks the cache: it is for people who
// ask, never for loads.
func (c *Cache) Why(ctx context.Context, key string) (string, error) {
	if !entry.ValidKey(key) {
		return "", fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	es, err := c.List(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(es, func(e Entry) bool { return e.Key == key })
	if i < 0 {
		return "", fmt.Errorf("no entry of key %s in %s: %w", key, c.dir, fs.ErrNotExist)
	}
	target := es[i]
	var held []explain.Call
	present := map[string]bool{}
	for _, e := range es {
		if e.Func == target.Func && e.Key != key && e.ComputedAt.Before(target.ComputedAt) {
			held = append(held, explainedEntry(e))
			present[e.Key] = true
		}
	}
	// The function's record remembers entries since replaced or removed:
	// the earlier entry of this very key among them.
	for _, e := range c.readRecent(target.Func, true) {
		if !present[e.Key] && e.At.Before(target.ComputedAt) {
			held = append(held, e)
		}
	}
	c.withParts(target.Func, held)
	return explain.Why(explainedEntry(target), held).String(), nil
}

// explainedEntry returns an entry as explanations compare it.
func explainedEntry(e Entry) explain.Call {
	args, _ := explain.ArgsOf(e.Args)
	return explain.Call{Key: e.Key, Version: e.Version, Code: e.Code, Accepted: e.accepted, Parts: e.parts, Args: args, At: e.ComputedAt}
}
