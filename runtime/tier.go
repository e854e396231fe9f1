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
// and write entries and leases there, as the tier's entries are signed
// (see remote.Tier.Signing): a cache whose key cannot check them (another
// key, or none, where the team signs) does neither, and keeps its results
// in its local tier, so that the team's entries survive it; it says why
// once. A tier that cannot be asked is not used for this call, and its
// error is returned.
func (c *Cache) remoteUse(ctx context.Context) (read, write bool, err error) {
	if c.remote == nil {
		return false, false, nil
	}
	s, err := c.remote.Signing(ctx, c.signKey)
	if err != nil {
		return false, false, err
	}
	if msg := s.Refusal(c.signKey); msg != "" {
		c.log.Log(ctx, c.firstTime("signing"), msg, "remote", c.remote.String())
		return false, false, nil
	}
	return true, !c.remote.Options().ReadOnly, nil
}

// mayReplace reports whether a cache without a signing key may replace
// or remove the remote entry of key: not when it is signed (the team
// signs, in a store without a signing record), which it then notes, and
// says once.
func (c *Cache) mayReplace(ctx context.Context, key string) (bool, error) {
	signed, err := c.remote.SignedEntry(ctx, key)
	if err != nil {
		return false, err
	}
	if signed {
		c.remote.NoteSigned()
		c.remoteUse(ctx) // says so
	}
	return !signed, nil
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
