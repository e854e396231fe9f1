package runtime

import (
	"context"
	"log/slog"
)

// firstTime returns slog.LevelWarn the first time it is asked about what,
// and slog.LevelDebug after: for problems said loudly once per cache.
func (c *Cache) firstTime(what string) slog.Level {
	if _, told := c.warnedKey.LoadOrStore(what, true); told {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// remoteUse says whether the cache may serve entries of its remote tier,
// and write entries and leases there (see remote.Tier.Use).
func (c *Cache) remoteUse(ctx context.Context) (read, write bool, err error) {
	if c.remote == nil {
		return false, false, nil
	}
	return c.remote.Use(ctx, c.signKey)
}

// fetchRemote reads the remote tier's entries of keys at once, for a
// sweep's lookups (callctx.Host.FetchRemote); nil when the cache may not
// read the remote.
func (c *Cache) fetchRemote(ctx context.Context, keys []string) func(string) ([]byte, bool) {
	if read, _, _ := c.remoteUse(ctx); !read {
		return nil
	}
	f, _ := c.remote.GetMany(ctx, keys) // what it found, even of a request that failed
	return func(key string) ([]byte, bool) {
		if data, ok := f.Entries[key]; ok {
			return data, true
		}
		return nil, f.Absent[key]
	}
}
