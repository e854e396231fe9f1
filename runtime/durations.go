package runtime

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/remote"
)

// The compute times of a function's points, kept between sweeps for their
// estimates: the last maxDurations of them, one decimal count of
// nanoseconds a line, in dir/sweeps/<16 hex digits of the SHA-256 of the
// function's name and version>. A record that does not parse is ignored.
const maxDurations = 64

func durationsName(call Call) string {
	sum := sha256.Sum256([]byte(call.Func + "\x00" + strconv.Itoa(call.Version)))
	return path.Join("sweeps", hex.EncodeToString(sum[:8]))
}

// loadDurations returns the compute times recorded for call's function.
func (c *Cache) loadDurations(call Call) []time.Duration {
	if c.mode == ModeOff || !c.disk.Private() {
		return nil
	}
	r, err := c.disk.OpenRoot(false)
	if err != nil {
		return nil
	}
	f, err := c.disk.OpenLockFile(r, durationsName(call), 0) // a regular file of ours, opened non-blocking
	if err != nil {
		return nil
	}
	defer f.Close()
	var ds []time.Duration
	sc := bufio.NewScanner(io.LimitReader(f, 32*maxDurations))
	for sc.Scan() && len(ds) < maxDurations {
		n, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		ds = append(ds, time.Duration(n))
	}
	return ds
}

// recordDurations adds measured compute times to call's function's record.
func (c *Cache) recordDurations(call Call, measured []time.Duration) {
	if c.mode == ModeOff || c.mode == ModeReadOnly || !c.disk.Private() {
		return
	}
	ds := append(c.loadDurations(call), measured...)
	ds = ds[max(0, len(ds)-maxDurations):]
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(strconv.FormatInt(int64(d), 10))
		b.WriteByte('\n')
	}
	name := durationsName(call)
	c.disk.Replace(name, path.Base(name), []byte(b.String()))
}

// A sweep learns what it needs of its cache through callctx.HostOf.
func init() {
	callctx.SetClock = func(cache any, now func() time.Time) { cache.(*Cache).now = now }
	callctx.HostOf = func(ctx context.Context, cache any) callctx.Host {
		c, _ := cache.(*Cache)
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
			Durations: func(fn string, version int) []time.Duration {
				return c.loadDurations(Call{Func: fn, Version: version})
			},
			Record: func(fn string, version int, measured []time.Duration) {
				c.recordDurations(Call{Func: fn, Version: version}, measured)
			},
		}
		if c.remote != nil && c.mode != ModeOff && c.mode != ModeRefresh && c.mode != ModeVerify {
			h.FetchRemote, h.BatchSize = c.fetchRemote, remote.BatchSize
		}
		return h
	}
}
