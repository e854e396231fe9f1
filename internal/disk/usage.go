package disk

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Each shard keeps its Usage, the disk bytes and the number of its
// entries, in xx/.usage: a 32-byte record, "cgusage1", then the bytes,
// the count and when the shard was last recounted (Unix seconds), little
// endian. Every store and removal adds to it, under a flock of the file
// held for a few microseconds, so the cache's size is known without a
// walk. A writer killed between its rename and its update leaves the
// figure short by one entry: the record is approximate, and a recount
// (of a shard with a missing, malformed or day-old record, or of every
// shard by Recount) makes it exact again, so an error never grows for
// more than a day.
const (
	UsageName    = ".usage"
	UsageMagic   = "cgusage1"
	usageSize    = 32
	recountAfter = 24 * time.Hour
	// usageWait bounds the wait for the record's lock (held by a
	// recount, or by anyone, in a shared directory): the update is
	// skipped after it, leaving the figure approximate.
	usageWait = 200 * time.Millisecond
)

// Usage is what entries occupy on disk (Bytes, allocated blocks) and how
// many there are.
type Usage struct {
	Bytes, Entries int64
}

func UsagePath(shard string) string { return path.Join(shard, UsageName) }

// withUsage runs fn, which changes the entries of shard, under the lock of
// the shard's usage record, and adds the change fn returns to the record.
// A record that is missing, malformed or older than recountAfter is
// recounted instead, after fn. If the record cannot be locked, fn runs
// all the same, and counted is false.
func (s *Store) withUsage(shard string, fn func() (Usage, error)) (u Usage, counted bool, err error) {
	f, unlock, lerr := s.lockUsage(shard)
	if lerr != nil {
		_, err = fn()
		return Usage{}, false, err
	}
	defer f.Close()
	defer unlock()
	d, err := fn()
	if err != nil {
		return Usage{}, false, err
	}
	now := time.Now()
	var rec [usageSize]byte
	n, _ := f.ReadAt(rec[:], 0)
	u, at, valid := parseUsage(rec[:n])
	if !valid || now.Sub(at) > recountAfter || at.Sub(now) > time.Hour {
		var cerr error
		if u, cerr = s.CountShard(shard); cerr != nil {
			return Usage{}, false, nil
		}
		at = now
	} else {
		u = Usage{max(u.Bytes+d.Bytes, 0), max(u.Entries+d.Entries, 0)}
	}
	return u, WriteUsage(f, u, at) == nil, nil
}

// SetUsage records u, just counted, as shard's usage.
func (s *Store) SetUsage(shard string, u Usage, now time.Time) {
	f, unlock, err := s.lockUsage(shard)
	if err != nil {
		return
	}
	defer f.Close()
	defer unlock()
	WriteUsage(f, u, now)
}

// ReadUsage returns shard's recorded usage, recounting a shard whose
// record is missing or malformed, and recording the count if record.
func (s *Store) ReadUsage(shard string, record bool) (Usage, error) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return Usage{}, err
	}
	if f, err := s.openLockFile(r, UsagePath(shard), 0); err == nil {
		var rec [usageSize]byte
		n, _ := f.ReadAt(rec[:], 0)
		f.Close()
		if u, _, ok := parseUsage(rec[:n]); ok {
			return u, nil
		}
	}
	if u, err := s.CountShard(shard); err == nil {
		if record {
			s.SetUsage(shard, u, time.Now())
		}
		return u, nil
	} else if errors.Is(err, fs.ErrNotExist) {
		return Usage{}, nil
	} else {
		return Usage{}, err
	}
}

// TotalUsage sums the usage of every shard: a read of 256 small files,
// not a walk.
func (s *Store) TotalUsage(record bool) (Usage, error) {
	var t Usage
	for i := range 256 {
		u, err := s.ReadUsage(HexByte(i), record)
		if err != nil {
			return t, err
		}
		t.Bytes += u.Bytes
		t.Entries += u.Entries
	}
	return t, nil
}

func HexByte(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>4], digits[i&15]})
}

// lockUsage opens shard's usage record, making it if missing, and locks
// it, waiting at most usageWait.
func (s *Store) lockUsage(shard string) (*os.File, func(), error) {
	f, err := s.OpenLockIn(UsagePath(shard), 0)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(usageWait)
	for {
		ok, err := TryLock(f)
		if ok {
			return f, func() { unlockFile(f) }, nil
		}
		if err != nil || time.Now().After(deadline) {
			f.Close()
			return nil, nil, errors.Join(err, errors.New("usage record busy"))
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Bounds of a believable usage record: a shard of more entries, or more
// bytes, or one recounted in the future, is a planted or damaged record,
// and is recounted.
const (
	maxShardEntries = 1 << 32
	maxShardBytes   = 1 << 50
)

func parseUsage(rec []byte) (Usage, time.Time, bool) {
	if len(rec) != usageSize || string(rec[:8]) != UsageMagic {
		return Usage{}, time.Time{}, false
	}
	le := binary.LittleEndian
	u := Usage{int64(le.Uint64(rec[8:])), int64(le.Uint64(rec[16:]))}
	at := int64(le.Uint64(rec[24:]))
	if u.Bytes < 0 || u.Entries < 0 || at < 0 || u.Bytes > maxShardBytes || u.Entries > maxShardEntries ||
		u.Entries == 0 && u.Bytes != 0 || at > time.Now().Add(time.Hour).Unix() {
		return Usage{}, time.Time{}, false
	}
	return u, time.Unix(at, 0), true
}

func WriteUsage(f *os.File, u Usage, at time.Time) error {
	rec := make([]byte, 0, usageSize)
	rec = append(rec, UsageMagic...)
	le := binary.LittleEndian
	rec = le.AppendUint64(rec, uint64(u.Bytes))
	rec = le.AppendUint64(rec, uint64(u.Entries))
	rec = le.AppendUint64(rec, uint64(at.Unix()))
	_, err := f.WriteAt(rec, 0)
	return err
}

// ShardFile is an entry of a shard, as a shard walk sees it.
type ShardFile struct {
	Name     string
	Key      string
	Disk     int64 // bytes on disk
	LastUsed time.Time
}

// shardHook, when set by a test, runs as a shard is listed.
var shardHook func(shard string)

// shardEntries lists the entries of shard, by lstat alone.
func (s *Store) shardEntries(shard string) ([]ShardFile, error) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return nil, err
	}
	files, err := readDir(r, shard)
	if err != nil {
		return nil, err
	}
	if shardHook != nil {
		shardHook(shard)
	}
	var out []ShardFile
	for _, f := range files {
		if KindOf(f.Name()) != KindEntry || !f.Type().IsRegular() {
			continue
		}
		fi, err := f.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue // removed meanwhile
		}
		out = append(out, ShardFile{path.Join(shard, f.Name()), strings.TrimSuffix(f.Name(), EntrySuffix), Allocated(fi), fi.ModTime()})
	}
	return out, nil
}

// CountShard counts the entries of shard as they are now.
func (s *Store) CountShard(shard string) (Usage, error) {
	files, err := s.shardEntries(shard)
	var u Usage
	for _, f := range files {
		u.Bytes += f.Disk
		u.Entries++
	}
	return u, err
}

// CleanShard removes the least recently used entries of shard, never
// keep's, until it holds at most target bytes, records its usage, and
// returns what it removed. It holds the shard's usage record for the
// while, so that entries stored meanwhile are counted once.
func (s *Store) CleanShard(shard string, target int64, keep string) (removed []ShardFile, u Usage, err error) {
	f, unlock, err := s.lockUsage(shard)
	if err != nil {
		return nil, Usage{}, err
	}
	defer f.Close()
	defer unlock()
	files, err := s.shardEntries(shard)
	if err != nil {
		return nil, Usage{}, err
	}
	slices.SortFunc(files, func(a, b ShardFile) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), strings.Compare(a.Key, b.Key))
	})
	for _, e := range files {
		u.Bytes += e.Disk
		u.Entries++
	}
	for _, e := range files {
		if u.Bytes <= target {
			break
		}
		if e.Key == keep {
			continue
		}
		if err := s.Remove(e.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		u.Bytes -= e.Disk
		u.Entries--
		removed = append(removed, e)
	}
	WriteUsage(f, u, time.Now())
	return removed, u, nil
}

// Trim, when the entries of the whole store hold more than trigger bytes,
// removes the least recently used of them, never keep's, until they hold
// at most target bytes; it returns what it
// removed and the bytes its entries held before. It reads only the
// shards' listings, not the entries; each removal is taken from its
// shard's usage record, under its lock, so that stores made meanwhile by
// other processes are kept in it.
func (s *Store) Trim(ctx context.Context, trigger, target int64, keep string) (removed []ShardFile, before int64, err error) {
	var all []ShardFile
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		files, err := s.shardEntries(HexByte(i))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, err
		}
		all = append(all, files...)
	}
	slices.SortFunc(all, func(a, b ShardFile) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), strings.Compare(a.Key, b.Key))
	})
	for _, f := range all {
		before += f.Disk
	}
	total := before
	if before <= trigger {
		return nil, before, nil
	}
	for _, f := range all {
		if total <= target {
			break
		}
		if f.Key == keep {
			continue
		}
		if err := s.RemoveEntry(f.Name); err != nil {
			continue // gone already, or not ours to remove
		}
		s.Remove(PendingName(f.Key)) // nothing left to copy to a remote
		total -= f.Disk
		removed = append(removed, f)
	}
	return removed, before, nil
}
