package runtime

import (
	"context"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/remote"
)

var _ callctx.Hoster = (*Cache)(nil)

// SweepHost returns what runtime/sweep needs of c beyond the API above:
// it is for the sweep alone, and its type is internal. A nil c is the
// cache ctx carries, else the default cache.
func (c *Cache) SweepHost(ctx context.Context) callctx.Host {
	if c == nil {
		c = cacheOf(ctx)
	}
	var wait time.Duration
	if !c.disk.Private() {
		wait = callctx.SharedLockWait
	}
	if c.remote != nil {
		wait = max(wait, c.remote.Options().MaxWait)
	}
	h := callctx.Host{
		Off:        c.mode == ModeOff,
		Verbose:    c.verbose,
		HolderWait: wait,
		ReadOnly:   c.mode == ModeReadOnly,
	}
	if c.mode != ModeOff && c.disk.Private() {
		h.Records = c.disk
	}
	if c.remote != nil && c.mode != ModeOff && c.mode != ModeRefresh && c.mode != ModeVerify {
		h.FetchRemote, h.BatchSize = c.fetchRemote, remote.BatchSize
	}
	return h
}
