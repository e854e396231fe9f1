package runtime

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
)

// Usage is what entries occupy on disk (Bytes, allocated blocks) and how
// many there are.
type Usage struct {
	Bytes, Entries int64
}

// Usage returns what the cache's entries occupy on disk, and how many
// there are, from the records its shards keep: a read of 256 small
// files, not a walk. The figures are exact but for updates that writers
// killed between storing an entry and recording it lost since each
// shard's last recount (at most a day ago; see Recount).
func (c *Cache) Usage() (Usage, error) {
	if c.mode == ModeOff {
		return Usage{}, nil
	}
	u, err := c.disk.TotalUsage(c.mode != ModeReadOnly)
	return Usage(u), err
}

// Recount counts the entries of every shard again, records them, and
// returns the total: a walk of the cache, repairing its records.
func (c *Cache) Recount(ctx context.Context) (Usage, error) {
	if err := c.writable(); err != nil {
		return Usage{}, err
	}
	var t Usage
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		u, err := c.disk.CountShard(disk.HexByte(i))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return t, err
		}
		c.disk.SetUsage(disk.HexByte(i), u, time.Now())
		t.Bytes += u.Bytes
		t.Entries += u.Entries
	}
	return t, nil
}
